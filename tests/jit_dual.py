"""An ``Interpreter`` stand-in that runs every program on the interpreter *and* the JIT.

Swapped into the interpreter's own test modules (``test_jit_semantics``), so
every interpreter test also checks that the JIT agrees on everything
observable: load-time errors, r0, all registers, the instruction count, the
error (type and message) and the final bytes of every region.  It returns
the interpreter's outcome, so the original assertions still hold.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import PyBpfError
from pybpf.interp import Interpreter
from pybpf.isa import Program
from pybpf.jit import JitProgram
from pybpf.runtime import Memory

__all__ = ["DualEngine", "compare_runs"]


def _outcome(fn: Any) -> tuple[Any, BaseException | None]:
    try:
        return fn(), None
    except PyBpfError as exc:
        return None, exc


def _same_error(a: BaseException | None, b: BaseException | None, what: str) -> None:
    assert (type(a), str(a)) == (type(b), str(b)), f"{what}: interp {a!r} / jit {b!r}"
    if a is not None:
        assert getattr(a, "pc", None) == getattr(b, "pc", None), what


def compare_runs(interp: Interpreter, jit: JitProgram, memory: Memory, *, stepper: bool = False,
                 **kw: Any) -> Any:
    """Run both on ``memory`` (the JIT on a restored copy of the contents); assert they agree.

    ``stepper``: the reference is the interpreter's per-instruction stepper (its
    ``trace=True`` path) rather than its generated code.
    """
    regions = memory.regions
    before = [bytes(r.buffer) for r in regions]
    res_i, err_i = _outcome(lambda: interp.run(memory, trace=stepper, **kw))
    after_i = [bytes(r.buffer) for r in regions]
    names_i = [r.name for r in memory.regions]
    for r, data in zip(regions, before, strict=True):
        r.buffer[:] = data
    res_j, err_j = _outcome(lambda: jit.run(memory, **kw))
    after_j = [bytes(r.buffer) for r in regions]
    _same_error(err_i, err_j, "run")
    if res_i is not None:
        got, want = (res_j.r0, res_j.regs, res_j.insns), (res_i.r0, res_i.regs, res_i.insns)
        listing = "\n".join(f"{pc}: {insn}" for pc, insn in interp.program.items())
        assert got == want, f"jit {got} / interp {want}\n{listing}"
    assert after_j == after_i, "memory differs"
    assert [r.name for r in memory.regions] == names_i
    for r, data in zip(regions, after_i, strict=True):
        r.buffer[:] = data
    if err_i is not None:
        raise err_i
    return res_i


class DualEngine:
    """``Interpreter(program, ...)`` whose runs are checked against ``JitProgram``."""

    def __init__(self, program: Program, **kw: Any) -> None:
        interp, err_i = _outcome(lambda: Interpreter(program, **kw))
        jit, err_j = _outcome(lambda: JitProgram(program, **kw))
        _same_error(err_i, err_j, "load")
        if err_i is not None:
            raise err_i
        self._interp: Interpreter = interp
        self._jit: JitProgram = jit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._interp, name)

    def run(self, memory: Memory, *, trace: bool = False, **kw: Any) -> Any:
        if trace:  # the JIT has no trace mode; traced runs are the stepper's business
            return self._interp.run(memory, trace=True, **kw)
        return compare_runs(self._interp, self._jit, memory, **kw)
