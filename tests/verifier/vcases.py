"""Verifier cases as data: the parser of ``tests/verifier/data/*.txt``.

One file holds many cases::

    == name of the case
    type: sched_cls                      # program type (kernel name, lower case)
    maps: 1=hash:8:8:16 2=array:4:8:1    # fd=type:key_size:value_size:max_entries[:name]
    mode: unprivileged strict            # optional: --unprivileged / --strict-alignment
    expect: reject                       # accept | reject
    error: R2 !read_ok                   # first error line (reject only)
    kernel: xfail why pybpf disagrees    # optional: agree (default) | xfail <reason> | skip <reason>
    log: 0: (bf) r0 = r2                 # optional, repeatable: a line of pybpf's level-2 log
    -- asm
    r0 = r2
    exit

Programs are kernel/llvm syntax assembly (:func:`pybpf.asm.assemble`);
``r1 = map[fd:N]`` refers to map ``N`` of the ``maps`` line.  Disagreements
with the running kernel are recorded in the data (``kernel: xfail``), never
silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pybpf.maps.spec import MapSpec, MapType

DATA = Path(__file__).parent / "data"


@dataclass
class Case:
    name: str
    file: str
    prog_type: str = "socket_filter"
    maps: dict[int, MapSpec] = field(default_factory=dict)
    unprivileged: bool = False
    strict: bool = False
    expect: str = "accept"
    error: str | None = None
    kernel: str = "agree"
    kernel_reason: str = ""
    log: list[str] = field(default_factory=list)
    asm: str = ""

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"


def _maps(text: str) -> dict[int, MapSpec]:
    out: dict[int, MapSpec] = {}
    for item in text.split():
        fd, spec = item.split("=", 1)
        parts = spec.split(":")
        name = parts[4] if len(parts) > 4 else ""
        out[int(fd)] = MapSpec(name=name, type=MapType[parts[0].upper()], key_size=int(parts[1]),
                               value_size=int(parts[2]), max_entries=int(parts[3]))
    return out


def parse(text: str, file: str = "") -> list[Case]:
    cases: list[Case] = []
    cur: Case | None = None
    in_asm = False
    for raw in text.splitlines():
        if raw.startswith("== "):
            cur = Case(raw[3:].strip(), file)
            cases.append(cur)
            in_asm = False
            continue
        if cur is None:
            continue
        if raw.strip() == "-- asm":
            in_asm = True
            continue
        if in_asm:
            cur.asm += raw + "\n"
            continue
        if not raw.strip() or raw.startswith("#"):
            continue
        key, _, value = raw.partition(":")
        value = value.strip()
        if key == "type":
            cur.prog_type = value
        elif key == "maps":
            cur.maps = _maps(value)
        elif key == "mode":
            cur.unprivileged = "unprivileged" in value.split()
            cur.strict = "strict" in value.split()
        elif key == "expect":
            cur.expect = value
        elif key == "error":
            cur.error = value
        elif key == "kernel":
            word, _, reason = value.partition(" ")
            cur.kernel, cur.kernel_reason = word, reason
        elif key == "log":
            cur.log.append(value)
        else:
            raise ValueError(f"{file}: unknown key {key!r} in case {cur.name!r}")
    return cases


def load_all() -> list[Case]:
    out: list[Case] = []
    for path in sorted(DATA.glob("*.txt")):
        out += parse(path.read_text(), path.name)
    return out
