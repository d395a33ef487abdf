"""A bpf_conformance plugin backed by pybpf's interpreter.

The protocol (section 4 of ``shared/conformance/README.md``)::

    pybpf-conformance-plugin [MEM] [OPT ...] [--elf]

* MEM (optional, only if it does not start with ``--``): the input memory as
  hex bytes separated by whitespace (``"ff  ff  "``);
* the program arrives on stdin as hex text (or as ``--program HEX``); with
  ``--elf`` the hex is an ELF object whose ``.text`` holds the program;
* on success r0 is printed in hex plus a newline, exit status 0;
* on any failure one line goes to stderr and the exit status is 1.

r1 = a private writable copy of MEM, r2 = its length (both 0 without MEM),
and the uBPF test helpers 0-5 are available, as in uBPF's plugin.  Other
options (``--interpret``, ``--jit`` ...) are accepted and ignored, except
``--budget N`` (instruction budget; the runner has no timeout, so there is
always one).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .errors import PyBpfError
from .interp import Interpreter
from .isa import Program, decode
from .runtime.memory import Memory
from .runtime.ubpf_helpers import ubpf_test_helpers

__all__ = ["main", "run_plugin"]

DEFAULT_BUDGET = 10_000_000


class _Usage(Exception):
    pass


def _hex_bytes(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        raise _Usage(f"{what} is not hex bytes separated by whitespace") from None


def _program_from_elf(data: bytes) -> Program:
    import io

    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        section = elf.get_section_by_name(".text")
        if section is None:
            raise _Usage("ELF object has no .text section")
        code = section.data()
        byteorder = "little" if elf.little_endian else "big"
    except ELFError as exc:
        raise _Usage(f"invalid ELF object: {exc}") from None
    return decode(code, byteorder=byteorder)


def run_plugin(argv: Sequence[str], stdin_text: str | None) -> int:
    """Run one test; returns r0.  Raises PyBpfError or _Usage on failure."""
    args = list(argv)
    mem: bytes | None = None
    if args and not args[0].startswith("--"):
        mem = _hex_bytes(args.pop(0), "MEM")
    program_hex: str | None = None
    elf = False
    budget = DEFAULT_BUDGET
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--program":
            if i + 1 >= len(args):
                raise _Usage("--program needs a hex argument")
            program_hex = args[i + 1]
            i += 1
        elif arg == "--budget":
            try:
                budget = int(args[i + 1])
            except (IndexError, ValueError):
                raise _Usage("--budget needs an integer") from None
            i += 1
        elif arg == "--elf":
            elf = True
        # anything else (--interpret, --jit, empty words) is ignored
        i += 1
    if program_hex is None:
        program_hex = stdin_text if stdin_text is not None else ""
    code = _hex_bytes(program_hex, "the program")
    if not code:
        raise _Usage("no program given")
    program = _program_from_elf(code) if elf else decode(code)
    interp = Interpreter(program, helpers=ubpf_test_helpers(), budget=budget)
    memory = Memory()
    r1 = r2 = 0
    if mem:
        region = memory.add("mem", bytearray(mem))
        r1, r2 = region.base, len(mem)
    return interp.run(memory, r1=r1, r2=r2).r0


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    needs_stdin = "--program" not in args
    try:
        stdin_text = sys.stdin.read() if needs_stdin else None
        r0 = run_plugin(args, stdin_text)
    except (PyBpfError, _Usage) as exc:
        _fail(str(exc))
        return 1
    except Exception as exc:  # a plugin must answer with one line, never a traceback
        _fail(f"internal error: {type(exc).__name__}: {exc}")
        return 1
    sys.stdout.write(f"{r0:x}\n")
    sys.stdout.flush()
    return 0


def _fail(message: str) -> None:
    # One line: the runner compares only up to the first \r, and two lines never match.
    line = " ".join(message.split())
    sys.stderr.write(f"pybpf: {line}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
