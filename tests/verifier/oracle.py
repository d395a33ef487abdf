"""The running kernel as the verifier's oracle: load a case, return verdict, first error line and log.

Maps named in a case are created for real (``BPF_MAP_CREATE``) and the
program's ``map[fd:N]`` references rewritten to their fds; every fd is closed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pybpf import kernel
from pybpf.errors import KernelError
from pybpf.isa import Program
from pybpf.kernel import BpfMap
from pybpf.maps.spec import MapSpec
from pybpf.platform import LINUX

_INSN_LINE = re.compile(r"^\d+: (\(|R|frame|safe|$)")
_NOISE = ("processed ", "func#", "Live regs", " ", "mark_precise", "(0) frame", "caller:", "callee:",
          "returning from callee", "to caller at", "cur state:", "old state:")


@dataclass(frozen=True)
class KernelVerdict:
    accepted: bool
    error: str | None
    log: str


def first_error(log: str) -> str:
    """The first line after the last instruction/state line: the kernel's verdict."""
    lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith(_NOISE)]
    last = -1
    for i, ln in enumerate(lines):
        if _INSN_LINE.match(ln) or ln.startswith("from "):
            last = i
    line = lines[last + 1] if last + 1 < len(lines) else (lines[-1] if lines else "")
    # Some messages have no newline, so the statistics run into them.
    if "processed " in line and not line.startswith("processed "):
        return line.split("processed ", 1)[0]
    return line


class _Map(BpfMap):
    """A real map for ``spec`` (``fd`` is the kernel's); close it, or use it as a context manager."""

    def __init__(self, spec: MapSpec) -> None:
        super().__init__(map_type=int(spec.type), key_size=spec.key_size, value_size=spec.value_size,
                         max_entries=spec.max_entries, flags=spec.flags, name=spec.name)


def load(program: Program, prog_type: str, maps: Mapping[int, MapSpec], *, strict: bool = False,
         log_level: int = 1) -> KernelVerdict:
    created: dict[int, _Map] = {}
    try:
        for fd, spec in maps.items():
            created[fd] = _Map(spec)
        insns = []
        for insn in program:
            key = insn.imm & 0xFFFF_FFFF
            if insn.is_ld_imm64 and insn.src in (1, 2) and key in created:
                insn = insn.replace(imm=(insn.imm & ~0xFFFF_FFFF) | created[key].fd)
            insns.append(insn)
        ptype = int(LINUX.prog_type(prog_type).type)
        try:
            prog = kernel.load_program(Program(insns), ptype, log_level=log_level,
                                       prog_flags=1 if strict else 0)
        except KernelError as exc:
            return KernelVerdict(False, first_error(exc.log), exc.log)
        prog.close()
        return KernelVerdict(True, None, prog.log)
    finally:
        for m in created.values():
            m.close()

