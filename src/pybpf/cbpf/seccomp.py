"""seccomp filters: the ``seccomp_data`` context, return actions, evaluation.

A seccomp filter is classic BPF run over ``struct seccomp_data``::

    struct seccomp_data {            offset
        int   nr;                    0
        __u32 arch;                  4   AUDIT_ARCH_*
        __u64 instruction_pointer;   8
        __u64 args[6];               16, 24, ... 56
    };                               64 bytes, host order

It may only read aligned 32-bit words of it (:func:`~pybpf.cbpf.checker.check_seccomp`);
its 32-bit result is an action in the high 16 bits and data in the low 16
(the errno of ERRNO, the value of TRACE, the si_errno of TRAP).

>>> from pybpf.cbpf.formats import parse_asm
>>> f = SeccompFilter(parse_asm("ld [0]\\njeq #39, ok, deny\\nok: ret #0x7fff0000\\ndeny: ret #0x50001"))
>>> f.evaluate(SeccompData.for_syscall("getpid", "x86_64")).describe()
'ALLOW'
>>> f.evaluate(SeccompData.for_syscall("read", "x86_64")).describe()
'ERRNO(1)'
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import PyBpfError
from .checker import check_seccomp
from .interp import run_filter
from .model import SockFilter
from .syscalls import SYSCALLS

__all__ = ["AUDIT_ARCH", "Action", "SeccompData", "SeccompFilter", "SeccompResult", "SeccompError",
           "SECCOMP_RET_ACTION_FULL", "SECCOMP_RET_DATA", "syscall_number", "syscall_name"]

# include/uapi/linux/audit.h: EM_* | __AUDIT_ARCH_64BIT (0x80000000) | __AUDIT_ARCH_LE (0x40000000)
AUDIT_ARCH: dict[str, int] = {
    "x86_64": 0xC000003E, "i386": 0x40000003, "aarch64": 0xC00000B7, "arm": 0x40000028,
    "riscv64": 0xC00000F3, "ppc64le": 0xC0000015, "s390x": 0x80000016, "mips64": 0x80000008,
    "loongarch64": 0xC0000102,
}
SECCOMP_RET_ACTION_FULL = 0xFFFF_0000
SECCOMP_RET_DATA = 0x0000_FFFF


class SeccompError(PyBpfError, ValueError):
    """A bad seccomp request: unknown architecture or syscall, bad argument."""


class Action(IntEnum):
    """``SECCOMP_RET_*`` (include/uapi/linux/seccomp.h), most to least restrictive."""

    KILL_PROCESS = 0x8000_0000
    KILL_THREAD = 0x0000_0000
    TRAP = 0x0003_0000
    ERRNO = 0x0005_0000
    USER_NOTIF = 0x7FC0_0000
    TRACE = 0x7FF0_0000
    LOG = 0x7FFC_0000
    ALLOW = 0x7FFF_0000


def syscall_number(name: str, arch: str = "x86_64") -> int:
    table = SYSCALLS.get(arch)
    if table is None:
        raise SeccompError(f"no syscall table for {arch!r} (have: {', '.join(SYSCALLS)})")
    if name.isdigit():
        return int(name)
    if name not in table:
        raise SeccompError(f"unknown {arch} syscall {name!r}")
    return table[name]


def syscall_name(nr: int, arch: str = "x86_64") -> str | None:
    for name, value in SYSCALLS.get(arch, {}).items():
        if value == nr:
            return name
    return None


@dataclass(frozen=True)
class SeccompData:
    """One system call as a filter sees it."""

    nr: int
    arch: int = AUDIT_ARCH["x86_64"]
    instruction_pointer: int = 0
    args: tuple[int, ...] = field(default=(0, 0, 0, 0, 0, 0))

    def __post_init__(self) -> None:
        if len(self.args) > 6:
            raise SeccompError(f"a syscall has at most 6 arguments, not {len(self.args)}")
        object.__setattr__(self, "args", tuple(a & 0xFFFF_FFFF_FFFF_FFFF for a in self.args)
                           + (0,) * (6 - len(self.args)))

    @classmethod
    def for_syscall(cls, name: str, arch: str = "x86_64", args: Sequence[int] = (),
                    instruction_pointer: int = 0) -> SeccompData:
        if arch not in AUDIT_ARCH:
            raise SeccompError(f"unknown architecture {arch!r} (known: {', '.join(AUDIT_ARCH)})")
        return cls(syscall_number(name, arch), AUDIT_ARCH[arch], instruction_pointer, tuple(args))

    def pack(self) -> bytes:
        """The 64 bytes in host (little-endian) order."""
        return struct.pack("<iIQ6Q", _s32(self.nr), self.arch & 0xFFFF_FFFF,
                           self.instruction_pointer & 0xFFFF_FFFF_FFFF_FFFF, *self.args)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


@dataclass(frozen=True)
class SeccompResult:
    """A filter's verdict: the raw 32-bit value, its action and data."""

    value: int

    @property
    def action(self) -> Action:
        """The action as the kernel reads it (``seccomp_run_filters``/``__seccomp_filter``).

        An unknown action value is treated as KILL_PROCESS, as the kernel does.
        """
        full = self.value & SECCOMP_RET_ACTION_FULL
        if full == Action.KILL_PROCESS:
            return Action.KILL_PROCESS
        try:
            return Action(full)
        except ValueError:
            return Action.KILL_PROCESS

    @property
    def data(self) -> int:
        return self.value & SECCOMP_RET_DATA

    def describe(self) -> str:
        act = self.action
        if act in (Action.ERRNO, Action.TRACE, Action.TRAP):
            return f"{act.name}({self.data})"
        return act.name


class SeccompFilter:
    """A checked seccomp program, ready to evaluate system calls."""

    def __init__(self, prog: Sequence[SockFilter]) -> None:
        self.source = list(prog)
        self.program = check_seccomp(prog)  # raises FilterError with the pc

    def evaluate(self, data: SeccompData) -> SeccompResult:
        return SeccompResult(run_filter(self.program, data.pack()))


def evaluate_stack(filters: Sequence[SeccompFilter], data: SeccompData) -> SeccompResult:
    """Several attached filters: the most restrictive action wins (lowest signed action).

    For equal actions the first filter's (the most recently attached) data wins, as
    ``seccomp_run_filters`` keeps the first value with the lowest action.
    """
    if not filters:
        return SeccompResult(Action.ALLOW)
    best: SeccompResult | None = None
    for f in filters:
        got = f.evaluate(data)
        rank = _s32(got.value & SECCOMP_RET_ACTION_FULL)
        if best is None or rank < _s32(best.value & SECCOMP_RET_ACTION_FULL):
            best = got
    assert best is not None
    return best
