"""The reference interpreter: exact Linux semantics, compiled to Python for speed.

>>> from pybpf.isa import Insn
>>> from pybpf.runtime.memory import Memory
>>> prog = Program([Insn(0xB7, dst=0, imm=42), Insn(0x95)])
>>> Interpreter(prog).run(Memory()).r0
42
"""

from __future__ import annotations

import struct

from ..errors import BudgetExceededError, VmError
from ..isa import Program
from ..runtime.helpers import HelperRegistry
from ..runtime.loader import MAX_SLOTS, Loaded, Resolver, load
from ..runtime.memory import MASK64, Memory
from .compiler import SubprogFn, compile_program
from .result import ExecResult, TraceStep
from .state import RunState, Stop
from .stepper import step_run

__all__ = ["COMPILE_LIMIT", "MAX_CALL_DEPTH", "ExecResult", "Interpreter", "TraceStep"]

MAX_CALL_DEPTH = 8  # kernel MAX_CALL_FRAMES
# CPython's compile() grows faster than linearly with the size of the generated
# source (about 4 s for 40k instructions with 10k blocks); beyond this many
# instructions the one-time compile costs more than it can save, so such
# programs run on the stepper (same semantics, ~1 us per instruction).
COMPILE_LIMIT = 20_000


class Interpreter:
    """A loaded program, ready to run many times.

    Loading ("load time") rejects what cannot run, with a PyBpfError naming
    the pc: malformed instructions, unknown helper ids
    (:class:`~pybpf.errors.UnknownHelperError`), a subprogram not ending in
    exit/ja, jumps leaving their subprogram, ``ja -1``, programs over 1,000,000
    slots, kfunc calls and map/BTF pseudo loads.

    Runtime conventions (the verifier forbids depending on them):

    * after ``call`` (helper or bpf-to-bpf) r1-r5 keep the caller's values;
    * ``callx`` (0x8d) calls the *helper* whose id is in dst, as uBPF does
      (that is what bpf_conformance's ``callx.data`` expects);
    * LD_ABS/LD_IND read big-endian from the ``packet`` given to :meth:`run`;
      out of bounds (or no packet) ends the run with r0 = 0, as in the kernel;
    * a helper registered with ``unwind=True`` that returns 0 ends the run with r0 = 0.
    """

    def __init__(self, program: Program, *, helpers: HelperRegistry | None = None,
                 budget: int = 1_000_000, max_call_depth: int = MAX_CALL_DEPTH,
                 max_insns: int = MAX_SLOTS, resolver: Resolver | None = None) -> None:
        self.program = program
        self.budget = budget
        self.max_call_depth = max_call_depth
        self._loaded: Loaded = load(program, helpers if helpers is not None else HelperRegistry(),
                                    max_slots=max_insns, resolver=resolver)
        self._fns: list[SubprogFn] | None = None
        if len(program) <= COMPILE_LIMIT:
            try:
                self._fns = compile_program(self._loaded, self._budget_slow)
            except (RecursionError, MemoryError, SyntaxError):  # pragma: no cover - CPython limits
                self._fns = None  # run everything on the stepper instead

    @property
    def compiled(self) -> bool:
        """Whether runs use generated code (False: the per-instruction stepper)."""
        return self._fns is not None

    @property
    def loaded(self) -> Loaded:
        return self._loaded

    def run(self, memory: Memory, *, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0,
            trace: bool = False, budget: int | None = None, packet: bytes | None = None) -> ExecResult:
        """Run from the first instruction; r1-r5 as given, r10 = top of a fresh 512-byte stack.

        Raises MemoryAccessError, HelperError, CallDepthError or
        BudgetExceededError (all VmError) when the run fails; the stack frames
        and the packet region are unmapped afterwards either way.
        """
        limit = self.budget if budget is None else budget
        state = RunState(memory, self.program, self._loaded.helpers, limit, self.max_call_depth)
        state.invoke = lambda pc, args: self._invoke(state, pc, args)
        try:
            if packet is not None:
                state.packet = memory.add("packet", bytearray(packet), kind="packet", writable=False)
            r10 = state.push_frame(0)
            args = (0, r1 & MASK64, r2 & MASK64, r3 & MASK64, r4 & MASK64, r5 & MASK64, 0, 0, 0, 0, r10)
            steps: list[TraceStep] | None = [] if trace else None
            try:
                if trace or self._fns is None:
                    regs, count = step_run(state, self._loaded, list(args), 0, limit, steps)
                    final = tuple(regs)
                else:
                    out = self._fns[0](*args, 0, state)
                    final, count = out[:11], out[11]
            except Stop as stop:
                final, count = stop.regs, stop.insns
            except (struct.error, IndexError, TypeError) as exc:
                # Only reachable if a helper resized or replaced a region's buffer mid-run;
                # never let it surface as a raw traceback.
                raise VmError(f"internal error while running: {type(exc).__name__}: {exc}") from exc
            return ExecResult(final[0], final, count, tuple(steps) if steps is not None else None)
        finally:
            state.release()

    def _invoke(self, state: RunState, pc: int, args: tuple[int, ...]) -> int:
        """Call the subprogram starting at ``pc`` with r1-r5 = ``args``; returns its r0.

        The entry point for helpers that call back into the program (bpf_loop,
        for_each_map_elem ...): the callback gets a fresh stack frame, as a
        bpf-to-bpf call would, and its own instruction budget.
        """
        sp = next((s for s in self._loaded.subprogs if s.start == pc), None)
        if sp is None:
            raise VmError(f"callback target {pc} is not the start of a subprogram", pc=state.ctx.pc)
        regs = [0, *(a & MASK64 for a in args[:5]), *([0] * (5 - len(args[:5]))), 0, 0, 0, 0, 0]
        regs[10] = state.push_frame(state.ctx.pc)
        depth = len(state.frames)
        try:
            if self._fns is None:
                out, _ = step_run(state, self._loaded, regs, pc, state.budget)
                return out[0]
            return self._fns[sp.index](*regs, 0, state)[0]
        finally:
            while len(state.frames) >= depth:  # the callback's frame (and any a fault left)
                state.pop_frame()

    def _budget_slow(self, state: RunState, pc: int, done: int, frame: dict[str, int]) -> None:
        """The compiled code found the budget runs out inside the segment at ``pc``.

        Replay the segment one instruction at a time with what is left of the
        budget: an earlier fault still wins, and the budget error names the
        exact instruction.  Never returns normally.
        """
        regs = [frame[f"r{i}"] for i in range(11)]  # the generated function's locals
        try:
            step_run(state, self._loaded, regs, pc, state.budget - done)
        except Stop as stop:  # the run ended inside the replay (LD_ABS out of bounds, unwind)
            raise Stop(stop.regs, stop.insns + done) from None
        raise BudgetExceededError(  # pragma: no cover - a segment never ends inside its budget
            f"instruction budget of {state.budget} exhausted", pc=pc)
