"""What a run returns (shared by every engine: the interpreter and the JIT)."""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Insn

__all__ = ["ExecResult", "TraceStep"]


@dataclass(frozen=True)
class TraceStep:
    """One executed instruction.

    ``changes`` lists what the instruction changed: registers by name
    (``("r0", 5)``) and stored memory as ``("mem[0x...]/N", value)`` for an
    N-byte store.  A bpf-to-bpf call records the callee's new ``r10``; an
    exit from a callee records the caller's restored registers.
    """

    pc: int
    insn: Insn
    changes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ExecResult:
    """The outcome of a run that reached its final ``exit``.

    ``regs`` are r0-r10 at that exit; ``insns`` counts executed instructions
    (LD_IMM64 counts 1); ``trace`` is set only for ``trace=True`` runs.
    """

    r0: int
    regs: tuple[int, ...]
    insns: int
    trace: tuple[TraceStep, ...] | None = None
