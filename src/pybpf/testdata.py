"""The ``.data`` test-file format of bpf_conformance and uBPF.

One parser reads a file the way uBPF's harness does (exact section names,
``-- asm @ FILE`` references, hexdump ``mem``, ``error pattern``, ``no jit``,
``pyelf``, ``reload``/``unload``) and *also* records what the
bpf_conformance runner would make of it (``shared/conformance/README.md``
sections 2 and 6), so one :class:`DataFile` serves both harnesses:

* :attr:`DataFile.runner_skip` is None when the bpf_conformance runner would
  run the file, else its reason, worded like the runner (``"Unknown
  directive: -- no jit"``, ``"No result or error"``, ``"Test file has no BPF
  instructions"``).  CPU-version and group filtering is left to the caller.
* :attr:`DataFile.kind` says what a uBPF-style harness does with it:
  ``"run"``, ``"asm-roundtrip"`` (asm + raw, no result), ``"pyelf"``,
  ``"reload"``/``"unload"``, or ``"none"``.

>>> df = parse_data("-- asm\\nmov %r0, 1 # one\\nexit\\n-- result\\n0x1\\n")
>>> df.asm, df.result, df.runner_skip, df.kind
('mov %r0, 1\\nexit', 1, None, 'run')
>>> parse_data("-- asm\\nexit\\n-- no jit\\nwhy\\n-- result\\n0").runner_skip
'Unknown directive: -- no jit'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PyBpfError

__all__ = ["RUNNER_SECTIONS", "DataFile", "DataFileError", "parse_data", "parse_data_file"]

# The runner's header classification: substring tests in this order (README 2.1).
RUNNER_SECTIONS: tuple[tuple[str, str], ...] = (
    ("asm", "asm"), ("result", "result"), ("mem", "mem"), ("raw", "raw"),
    ("no register offset", "no register offset"), (" c", "c"), ("error", "error"),
)

_KNOWN = {"asm", "raw", "mem", "result", "error", "error pattern", "no jit", "no register offset",
          "reload", "unload", "pyelf", "description", "c"}


class DataFileError(PyBpfError, ValueError):
    """A malformed ``.data`` file (bad number, bad hex byte, missing ``@`` file)."""


@dataclass(frozen=True)
class DataFile:
    """One parsed ``.data`` file.  Absent sections are None.

    ``asm`` is the program text with comments and blank lines removed (the
    contents of the ``@`` file when the section refers to one and it was
    found); ``raw`` the instruction slots as 64-bit integers; ``mem`` the input
    buffer.  ``sections`` lists the section names in file order, ``unknown``
    those neither harness knows.
    """

    path: Path | None
    asm: str | None = None
    asm_file: str | None = None
    raw: tuple[int, ...] | None = None
    mem: bytes | None = None
    mem_file: str | None = None
    result: int | None = None
    error: str | None = None
    error_is_pattern: bool = False
    no_jit: str | None = None
    no_register_offset: bool = False
    reload: bool = False
    unload: bool = False
    pyelf: str | None = None
    description: str | None = None
    c_source: str | None = None
    sections: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    runner_skip: str | None = None
    runner_asm: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "<data>"

    @property
    def has_program(self) -> bool:
        return bool(self.raw) or bool(self.asm)

    @property
    def kind(self) -> str:
        """What a uBPF-style harness does with the file (see module doc)."""
        if self.pyelf is not None:
            return "pyelf"
        if self.reload:
            return "reload"
        if self.unload:
            return "unload"
        if self.asm and self.raw and self.result is None and self.error is None:
            return "asm-roundtrip"
        if self.has_program and (self.result is not None or self.error is not None):
            return "run"
        return "none"

    def raw_bytes(self) -> bytes:
        """The ``raw`` slots as little-endian bytes (empty when there is no raw)."""
        return b"".join((v & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little") for v in self.raw or ())


def _strip(line: str) -> str:
    line = line.rstrip("\n").rstrip("\r")
    i = line.find("#")
    return line[:i] if i >= 0 else line


def _runner_section(line: str) -> str | None:
    for needle, name in RUNNER_SECTIONS:
        if needle in line:
            return name
    return None


def _parse_int(text: str, where: str) -> int:
    t = text.strip()
    try:
        return int(t, 0)
    except ValueError:
        try:
            return int(t, 16) if "0x" in t.lower() else int(t, 10)
        except ValueError:
            raise DataFileError(f"{where}: invalid number {t!r}") from None


def _parse_mem(lines: list[str], where: str) -> bytes:
    out = bytearray()
    for line in lines:
        if ":" in line:  # hexdump offsets ("0x0010:") as uBPF allows
            line = line[line.rindex(":") + 1 :]
        for tok in line.split():
            if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", tok):
                raise DataFileError(f"{where}: invalid hex byte {tok!r}")
            out += bytes.fromhex(tok)
    return bytes(out)


def parse_data(text: str, *, path: Path | str | None = None, resolve_files: bool = True) -> DataFile:
    """Parse the text of a ``.data`` file (``path`` locates ``@ FILE`` references)."""
    p = Path(path) if path is not None else None
    sections: list[str] = []
    unknown: list[str] = []
    body: dict[str, list[str]] = {}
    refs: dict[str, str] = {}
    current: str | None = None
    runner_skip: str | None = None
    runner_current: str | None = None
    runner_asm: list[str] = []
    for raw_line in text.splitlines():
        line = _strip(raw_line)
        # bpf_conformance runner view: any line containing "--" is a header
        if "--" in line:
            rs = _runner_section(line)
            if rs is None and runner_skip is None:
                runner_skip = f"Unknown directive: {line.strip()}"
            runner_current = rs
        elif runner_current == "asm" and line.strip():
            runner_asm.append(line.strip())
        # uBPF view: a header starts with "--" and names its section exactly
        if line.startswith("--"):
            header = line[2:].strip()
            name, _, ref = header.partition("@")
            name = name.strip()
            sections.append(name)
            if name not in _KNOWN:
                unknown.append(name)
            if ref.strip():
                refs[name] = ref.strip()
            current = name
            body.setdefault(name, [])
            continue
        if current is not None and line.strip():
            body[current].append(line.strip())

    where = str(p) if p else "<data>"

    def read_ref(name: str) -> list[str] | None:
        ref = refs.get(name)
        if ref is None or not resolve_files:
            return None
        target = (p.parent if p else Path(".")) / ref
        if not target.is_file():
            raise DataFileError(f"{where}: -- {name} @ {ref}: file not found")
        return [s.strip() for s in (_strip(x) for x in target.read_text().splitlines()) if s.strip()]

    asm_lines = read_ref("asm") if "asm" in refs else body.get("asm")
    mem_lines = read_ref("mem") if "mem" in refs else body.get("mem")
    raw: tuple[int, ...] | None = None
    if "raw" in body:
        raw = tuple(_parse_int(tok, f"{where}: raw") for line in body["raw"] for tok in line.split())
    result = None
    if body.get("result"):
        result = _parse_int(body["result"][-1], f"{where}: result") & 0xFFFF_FFFF_FFFF_FFFF
    error_key = "error pattern" if "error pattern" in body else "error" if "error" in body else None
    error = body[error_key][-1] if error_key and body[error_key] else ("" if error_key else None)

    if runner_skip is None:
        if result is None and error is None:
            runner_skip = "No result or error"
        elif not runner_asm and not raw:
            runner_skip = "Test file has no BPF instructions"

    return DataFile(
        path=p,
        asm="\n".join(asm_lines) if asm_lines is not None else None,
        asm_file=refs.get("asm"),
        raw=raw,
        mem=_parse_mem(mem_lines, f"{where}: mem") if mem_lines is not None else None,
        mem_file=refs.get("mem"),
        result=result,
        error=error,
        error_is_pattern=error_key == "error pattern",
        no_jit="\n".join(body["no jit"]) if "no jit" in body else None,
        no_register_offset="no register offset" in body,
        reload="reload" in body,
        unload="unload" in body,
        pyelf="\n".join(body["pyelf"]) if "pyelf" in body else None,
        description="\n".join(body["description"]) if "description" in body else None,
        c_source="\n".join(body["c"]) if "c" in body else None,
        sections=tuple(sections),
        unknown=tuple(unknown),
        runner_skip=runner_skip,
        runner_asm="\n".join(runner_asm),
    )


def parse_data_file(path: Path | str, *, resolve_files: bool = True) -> DataFile:
    """Read and parse one ``.data`` file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise DataFileError(f"{p}: {e.strerror}") from None
    return parse_data(text, path=p, resolve_files=resolve_files)
