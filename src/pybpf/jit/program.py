"""Running compiled programs: :class:`JitProgram`, the interpreter's ``run`` contract on native code.

Per run, the Python side maps what the interpreter maps (the packet, then the
512-byte stack frame of the entry function), exports every region's
``bytearray`` to native code as a sorted region table (``from_buffer`` also
pins the buffers: they cannot be resized or freed while native code may
write to them), and reserves the addresses of the deeper frames exactly where
the interpreter's first-fit placement would put them.  Native code switches a
frame on and off as calls push and pop it; the Python :class:`Memory` is
brought in line (live frames mapped, dead ones unmapped) whenever Python code
looks at it: in a helper call, at a fault, and at the end.

Failures come back as a status code in the run context, and this module
raises the interpreter's own errors from it: a fault is re-checked with
:meth:`Memory.check` (so the message is the same, byte for byte), the budget
error names the exact instruction, a helper's exception is the one
:func:`~pybpf.runtime.helpers.call_helper` raised.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import BudgetExceededError, CallDepthError, HelperError, PyBpfError, UnknownHelperError, VmError
from ..isa import OPCODES, Form, Insn, Program
from ..runtime.helpers import Helper, HelperContext, HelperRegistry, call_helper
from ..runtime.loader import MAX_SLOTS, Resolver, load
from ..runtime.memory import MASK64, Memory, Region
from ..runtime.result import ExecResult
from .abi import CTX_WORDS, E_BASE, E_DELTA, E_LEN, E_WRITABLE, ENTRY_WORDS, STACK_SIZE, Ctx, Status
from .engine import CompiledProgram, compile_prefix, compile_program

__all__ = ["MAX_CALL_DEPTH", "JitProgram"]

MAX_CALL_DEPTH = 8  # kernel MAX_CALL_FRAMES, as the interpreter
HELPER_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, *([ctypes.c_uint64] * 7))

_ZERO_FRAME = bytes(STACK_SIZE)
_RUNS: dict[int, _Run] = {}  # ctx address -> its run, for the helper trampoline
_RUNS_LOCK = threading.Lock()


def insn_text(insn: Insn) -> str:
    """The instruction as assembly for error messages (repr if the disassembler fails)."""
    try:
        return str(insn)
    except Exception:  # the disassembler lives in another layer; never let it hide the real error
        return repr(insn)


@dataclass
class _Export:
    view: Any  # the ctypes array over the bytearray (pins it)
    host: int


class _Run:
    """One run's state: the memory, frames, region table, context and helper context."""

    def __init__(self, jp: JitProgram, memory: Memory, budget: int) -> None:
        self.jp = jp
        self.mem = memory
        self.budget = budget
        self.ctx = (ctypes.c_uint64 * CTX_WORDS)()
        self.exports: dict[int, _Export] = {}
        self.frames: list[Region] = []  # every reserved frame; [0] is always mapped
        self.mapped = 1  # frames[0:mapped] are in memory
        self.packet: Region | None = None
        self.tables: list[Any] = []  # every table made this run (native code may hold an old one)
        self.snapshot: tuple[Region, ...] = ()
        self.error: BaseException | None = None
        self._hctx: HelperContext | None = None
        self.owns_cache = False  # this run uses the program's remembered frames

    # -- setup --------------------------------------------------------------------------
    def setup(self, packet: bytes | None) -> None:
        mem = self.mem
        if packet is not None:
            self.packet = mem.add("packet", bytearray(packet), kind="packet", writable=False)
        depth = self.jp.max_call_depth
        self.frames = self.reserve_frames(max(depth, 1))
        self.build_table()
        ctx = self.ctx
        ctx[Ctx.BUDGET] = self.budget
        ctx[Ctx.MAX_DEPTH] = depth
        ctx[Ctx.HELPER] = self.jp._helper_addr
        if self.packet is not None:
            ctx[Ctx.PACKET] = self.export(self.packet.buffer)
            ctx[Ctx.PACKET_LEN] = len(self.packet.buffer)

    def reserve_frames(self, count: int) -> list[Region]:
        """Frame 0 mapped, the deeper frames' regions reserved (unmapped) where pushes will put them.

        Reserving maps every frame where first-fit would put it, then unmaps
        all but the entry's (pushes and pops are last-in first-out, so the
        addresses match).  That costs a dozen table edits, so the deeper
        frames are remembered for the next run on the same memory layout;
        their buffers are zeroed when pushed, as fresh frames are.
        """
        mem = self.mem
        jp = self.jp
        layout = tuple((r.base, len(r.buffer)) for r in mem.regions)
        cached = jp._frames if not jp._frames_busy else None
        if cached is not None and cached[0] == layout and len(cached[1]) == count:
            frame0 = mem.add("stack", cached[1][0].buffer, kind="stack")
            if frame0.base == cached[1][0].base:
                frame0.buffer[:] = _ZERO_FRAME
                jp._frames_busy = True
                self.owns_cache = True
                self.exports.update(jp._frame_exports)  # frame buffers are ours: pinned for good
                return [frame0, *cached[1][1:]]
            mem.remove(frame0)
        frames = [mem.add(f"stack{k}" if k else "stack", bytearray(STACK_SIZE), kind="stack")
                  for k in range(count)]
        for region in reversed(frames[1:]):
            mem.remove(region)
        if not jp._frames_busy:
            jp._frames = (layout, tuple(frames))
            jp._frames_busy = True
            self.owns_cache = True
            jp._frame_exports = {id(f.buffer): _Export(*self._pin(f.buffer)) for f in frames}
            self.exports.update(jp._frame_exports)
        return frames

    @staticmethod
    def _pin(buffer: bytearray) -> tuple[Any, int]:
        view = (ctypes.c_char * len(buffer)).from_buffer(buffer)
        return view, ctypes.addressof(view)

    def export(self, buffer: bytearray) -> int:
        key = id(buffer)
        got = self.exports.get(key)
        if got is None:
            if len(buffer) == 0:
                got = _Export(buffer, 0)
            else:
                view = (ctypes.c_char * len(buffer)).from_buffer(buffer)
                got = _Export(view, ctypes.addressof(view))
            self.exports[key] = got
        return got.host

    def build_table(self) -> None:
        """Export the memory's regions plus the reserved frames that are not mapped (inactive)."""
        mapped = {id(r) for r in self.frames[: self.mapped]}
        rows: list[tuple[int, int, int, int, int]] = []  # base, len, host, writable, frame index
        frame_of = {id(r): k for k, r in enumerate(self.frames)}
        for region in self.mem.regions:
            rows.append((region.base, len(region.buffer), self.export(region.buffer), int(region.writable),
                         frame_of.get(id(region), -1)))
        for k, region in enumerate(self.frames):
            if id(region) not in mapped:
                rows.append((region.base, 0, self.export(region.buffer), 1, k))
        rows.sort()
        table = (ctypes.c_int64 * (ENTRY_WORDS * max(len(rows), 1)))()
        frames = (ctypes.c_int64 * len(self.frames))()
        base_addr = ctypes.addressof(table)
        for i, (base, length, host, writable, frame) in enumerate(rows):
            row = ENTRY_WORDS * i
            table[row + E_BASE] = base
            table[row + E_LEN] = length
            table[row + E_DELTA] = (host - base) if host else 0
            table[row + E_WRITABLE] = writable
            if frame >= 0:
                frames[frame] = base_addr + 8 * row
        self.tables.append((table, frames))
        self.ctx[Ctx.TABLE] = base_addr
        self.ctx[Ctx.NTABLE] = len(rows)
        self.ctx[Ctx.FRAMES] = ctypes.addressof(frames)
        self.snapshot = self.mem.regions

    # -- keeping Memory in line with native frames ------------------------------------------
    def sync_frames(self, depth: int) -> None:
        """Map frames 1..depth and unmap deeper ones, as the interpreter's memory would be."""
        mem = self.mem
        while self.mapped > depth + 1:
            self.mapped -= 1
            mem.remove(self.frames[self.mapped])
        while self.mapped < depth + 1 and self.mapped < len(self.frames):
            k = self.mapped
            old = self.frames[k]
            region = mem.add(old.name, old.buffer, kind="stack")
            if region.base != old.base:  # only if a helper re-arranged memory mid-run
                mem.remove(region)
                raise VmError(f"JIT: stack frame {k} cannot be mapped at {old.base:#x} "
                              "(memory was re-arranged during the run)")
            self.frames[k] = region
            self.mapped += 1

    def release(self) -> None:
        """Unmap the frames and the packet (end of the run, also on error); unpin buffers."""
        while self.mapped > 0:
            self.mapped -= 1
            with contextlib.suppress(ValueError):  # a helper may have removed it already
                self.mem.remove(self.frames[self.mapped])
        if self.packet is not None:
            with contextlib.suppress(ValueError):
                self.mem.remove(self.packet)
            self.packet = None
        self.exports.clear()
        self.tables.clear()
        if self.owns_cache:
            self.jp._frames_busy = False
            self.owns_cache = False

    # -- trusted mode: host <-> program addresses -----------------------------------------
    def to_host(self, value: int) -> int:
        """A program address as the host address trusted code uses (other values unchanged).

        One past the end counts (r10 is the top of its frame).
        """
        regions = (*self.mem.regions, *self.frames[self.mapped:])
        for strict in (True, False):
            for region in regions:
                n = len(region.buffer)
                if n and (region.base <= value < region.base + n if strict else value == region.base + n):
                    return (value - region.base + self.export(region.buffer)) & MASK64
        return value

    def to_program(self, value: int) -> int:
        """The inverse of :meth:`to_host`."""
        regions = (*self.mem.regions, *self.frames[self.mapped:])
        for strict in (True, False):
            for region in regions:
                n = len(region.buffer)
                host = self.export(region.buffer) if n else 0
                if host and (host <= value < host + n if strict else value == host + n):
                    return value - host + region.base
        return value

    # -- helper calls ----------------------------------------------------------------------
    @property
    def hctx(self) -> HelperContext:
        if self._hctx is None:
            self._hctx = HelperContext(memory=self.mem, program=self.jp.program)
            # Helpers that call back into the program (bpf_loop) find the entry point here.
            self._hctx.state["call_subprog"] = self.call_subprog
        return self._hctx

    def call_subprog(self, pc: int, *args: int) -> int:
        """Run the subprogram at ``pc`` with r1.. = ``args`` (at most 5), its own budget; its r0."""
        jp = self.jp
        caller = self.hctx.pc
        sp = next((s for s in jp.compiled.layout.subprogs if s.start == pc), None)
        if sp is None:
            raise VmError(f"callback target {pc} is not the start of a subprogram", pc=caller)
        ctx = self.ctx
        depth = int(ctx[Ctx.DEPTH])
        if depth + 1 >= jp.max_call_depth:
            raise CallDepthError(f"call stack too deep: more than {jp.max_call_depth} frames", pc=caller,
                                 insn=insn_text(jp.program.at(caller)))
        regs = [(a & MASK64) for a in args[:5]] + [0] * (5 - len(args[:5]))
        saved_budget = int(ctx[Ctx.BUDGET])
        ctx[Ctx.BUDGET] = self.budget
        try:
            r0 = int(jp.compiled.invoke[sp.index](ctypes.addressof(ctx), *regs))
            status = int(ctx[Ctx.STATUS])
            if status != Status.OK:
                ctx[Ctx.STATUS] = Status.OK
                jp.raise_status(self, status, self.budget)
                # still here: the callback stopped the run early (LD_ABS out of bounds, an unwinding helper)
                raise VmError("the program stopped inside a callback", pc=caller)
        finally:
            ctx[Ctx.BUDGET] = saved_budget
        return r0

    def helper(self, hid: int, pc: int, args: list[int]) -> int:
        program = self.jp.program
        insn = program.at(pc)
        if OPCODES[insn.opcode].form is Form.CALLX and hid > 0x7FFF_FFFF:
            raise HelperError(f"callx target {hid & MASK64:#x} is not a helper id", pc=pc)
        helper: Helper | None = self.jp.helpers.get(hid)
        if helper is None:
            raise UnknownHelperError(f"call to unknown helper {hid}", pc=pc, insn=insn_text(insn))
        self.sync_frames(int(self.ctx[Ctx.DEPTH]))
        self.snapshot = self.mem.regions
        trusted = not self.jp.checked
        if trusted:
            args = [self.to_program(a) for a in args]
        r0 = call_helper(helper, self.hctx, pc, insn_text(insn), *args)
        if self.mem.regions != self.snapshot:
            self.build_table()
        if r0 == 0 and helper.unwind:
            self.ctx[Ctx.STATUS] = Status.STOP
        return self.to_host(r0) if trusted else r0


def _trampoline(ctxp: int | None, hid: int, pc: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """The one native -> Python helper entry: finds the run by its context address."""
    run = _RUNS.get(ctxp or 0)
    if run is None:  # pragma: no cover - native code only runs inside JitProgram.run
        return 0
    try:
        return run.helper(hid, pc, [r1, r2, r3, r4, r5])
    except BaseException as exc:  # an exception must not unwind through native frames
        run.error = exc
        run.ctx[Ctx.STATUS] = Status.PYERR
        return 0


_HELPER = HELPER_CFUNC(_trampoline)
_HELPER_ADDR = ctypes.cast(_HELPER, ctypes.c_void_p).value or 0


class JitProgram:
    """A program compiled to native code, ready to run many times; same contract as ``Interpreter``.

    ``mode="checked"`` (default): every access is checked against the
    memory's regions, faults and the budget raise the interpreter's errors.
    ``mode="trusted"``: no checks, program addresses are host addresses (for
    verified programs; pointers handed to and from helpers are translated).
    Load-time errors are the interpreter's (same messages, same pcs).
    """

    def __init__(self, program: Program, *, helpers: HelperRegistry | None = None,
                 budget: int = 1_000_000, max_call_depth: int = MAX_CALL_DEPTH,
                 max_insns: int = MAX_SLOTS, resolver: Resolver | None = None, mode: str = "checked",
                 opt: int = 3) -> None:
        if mode not in ("checked", "trusted"):
            raise PyBpfError(f"unknown JIT mode {mode!r} (choose checked or trusted)")
        registry = helpers if helpers is not None else HelperRegistry()
        # the interpreter's load-time refusals, in its order (the resolver runs once, here)
        layout = load(program, registry, max_slots=max_insns, resolver=resolver)
        consts = dict(layout.consts)
        if consts and mode == "trusted":  # the values are program addresses, not host ones
            raise PyBpfError("trusted mode cannot run programs with map references yet; use mode='checked'")
        self.program = program
        self.budget = budget
        self.max_call_depth = max_call_depth
        self.mode = mode
        self.helpers: dict[int, Helper] = {hid: registry[hid] for hid in registry}
        self.compiled: CompiledProgram = compile_program(
            program, checked=mode == "checked", opt=opt, max_insns=max_insns,
            resolver=(lambda pc, insn: consts[pc]) if consts else None)
        self._helper_addr = _HELPER_ADDR
        # (memory layout, frames) of the last run; busy while a run uses it (runs may nest or overlap)
        self._frames: tuple[tuple[tuple[int, int], ...], tuple[Region, ...]] | None = None
        self._frames_busy = False
        self._frame_exports: dict[int, _Export] = {}

    @property
    def checked(self) -> bool:
        return self.mode == "checked"

    def run(self, memory: Memory, *, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0, r5: int = 0,
            budget: int | None = None, packet: bytes | None = None) -> ExecResult:
        """Run from the first instruction; r1-r5 as given, r10 = top of a fresh 512-byte stack."""
        return self.repeat(memory, 1, r1=r1, r2=r2, r3=r3, r4=r4, r5=r5, budget=budget, packet=packet)

    def repeat(self, memory: Memory, times: int, *, r1: int = 0, r2: int = 0, r3: int = 0, r4: int = 0,
               r5: int = 0, budget: int | None = None, packet: bytes | None = None) -> ExecResult:
        """Run ``times`` times in one native call (benchmarks); the result of the last run.

        Stops at the first run that fails, raising its error.  Each run gets a
        fresh budget, but the stack frame is reused, not zeroed, between runs.
        """
        limit = self.budget if budget is None else budget
        run = _Run(self, memory, limit)
        key = ctypes.addressof(run.ctx)
        with _RUNS_LOCK:
            _RUNS[key] = run
        try:
            run.setup(packet)
            args = [r & MASK64 for r in (r1, r2, r3, r4, r5)]
            if not self.checked:
                args = [run.to_host(a) for a in args]
            status = self.compiled.repeat(key, *args, max(times, 1))
            return self._outcome(run, status, limit)
        finally:
            with _RUNS_LOCK:
                _RUNS.pop(key, None)
            run.release()

    def _outcome(self, run: _Run, status: int, limit: int) -> ExecResult:
        ctx = run.ctx
        if status in (Status.OK, Status.STOP):
            regs = tuple(int(ctx[Ctx.REGS + i]) for i in range(11))
            if not self.checked:
                regs = tuple(run.to_program(v) for v in regs)
            # trusted mode counts without a limit, so the remaining budget may wrap below zero
            return ExecResult(regs[0], regs, (limit - int(ctx[Ctx.BUDGET])) & MASK64)
        return self.raise_status(run, status, limit)

    def raise_status(self, run: _Run, status: int, limit: int) -> ExecResult:
        """The result of a run that stopped in the slow path, or the error a failed run raises."""
        ctx = run.ctx
        program = self.program
        if status == Status.BUDGET_SLOW:  # run what the budget still allows, then fail exactly
            prefix = compile_prefix(self.compiled, int(ctx[Ctx.ERR_PC]), int(ctx[Ctx.ERR_AUX]))
            ctx[Ctx.STATUS] = Status.OK
            prefix(ctypes.addressof(ctx))
            status = int(ctx[Ctx.STATUS])
        if status in (Status.OK, Status.STOP):
            regs = tuple(int(ctx[Ctx.REGS + i]) for i in range(11))
            if not self.checked:
                regs = tuple(run.to_program(v) for v in regs)
            # trusted mode counts without a limit, so the remaining budget may wrap below zero
            return ExecResult(regs[0], regs, (limit - int(ctx[Ctx.BUDGET])) & MASK64)
        if status == Status.PYERR:
            assert run.error is not None
            raise run.error
        pc = int(ctx[Ctx.ERR_PC])
        if status == Status.FAULT:
            run.sync_frames(int(ctx[Ctx.DEPTH]))
            addr, size, write = int(ctx[Ctx.ERR_ADDR]), int(ctx[Ctx.ERR_SIZE]), bool(ctx[Ctx.ERR_AUX])
            run.mem.check(addr, size, write, pc=pc, insn=insn_text(program.at(pc)))
            raise VmError(f"internal JIT error: fault at pc {pc} on a valid access "  # pragma: no cover
                          f"(addr {addr:#x}, size {size})", pc=pc)
        if status == Status.BUDGET:
            raise BudgetExceededError(f"instruction budget of {limit} exhausted", pc=pc,
                                      insn=insn_text(program.at(pc)))
        if status == Status.DEPTH:
            raise CallDepthError(f"call stack too deep: more than {self.max_call_depth} frames", pc=pc,
                                 insn=insn_text(program.at(pc)))
        raise VmError(f"internal JIT error: unknown status {status}")  # pragma: no cover
