"""eBPF -> LLVM IR, with :mod:`llvmlite.ir` only (no LLVM binding here).

One LLVM function per subprogram, ``i64 subN(i64* ctx, i64 r0, ..., i64 r10)``
returning r0; registers, the remaining budget and the per-site region caches
are ``alloca`` slots that SROA/mem2reg turn into SSA values; every jump target
(and every instruction after a branch or exit) starts a basic block.

The semantics are the interpreter's, instruction by instruction:

* no LLVM undefined behaviour: division and modulo by zero, ``INT_MIN / -1``
  and over-wide shifts are guarded or masked before they reach LLVM;
* 32-bit operations run on ``i32`` and are zero-extended back;
* the instruction budget is counted per *segment* (a run of a basic block up
  to a bpf-to-bpf call) exactly as the interpreter does: remaining ``R`` at
  segment entry; an instruction with an effect (memory, helper call, packet
  load, call, exit) at index ``i`` first checks ``R > i`` and the segment's
  last instruction always does, so the budget error names the exact
  instruction and a fault before the limit still wins;
* *checked* mode translates every program address through the run's region
  table (see :mod:`.abi`): a per-site cache ``lo <= addr <= hi`` in registers
  is the fast path, the miss path calls ``region_lookup``; a miss that finds
  nothing returns to Python with the pc, address and size, so Python raises
  the interpreter's exact error;
* *trusted* mode uses host addresses as program addresses and checks nothing
  (for verified programs).
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from ..isa import OPCODES, AluOp, CallSrc, Class, Form, Insn, JmpOp, Mode
from ..runtime.loader import Loaded, Subprog
from .abi import E_BASE, E_DELTA, E_LEN, E_WRITABLE, ENTRY_WORDS, STACK_SIZE, Ctx, Status

__all__ = ["IrOptions", "build_module", "build_prefix_module"]

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
P64 = I64.as_pointer()
M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
INT = {1: I8, 2: I16, 4: I32, 8: I64}

SUB_TYPE = ir.FunctionType(I64, [P64] + [I64] * 11)
HELPER_TYPE = ir.FunctionType(I64, [P64] + [I64] * 7)  # (ctx, id, pc, r1..r5) -> r0
LOOKUP_TYPE = ir.FunctionType(P64, [P64, I64, I64, I64])  # (ctx, addr, size, write) -> entry or null
RUN_TYPE = ir.FunctionType(I64, [P64] + [I64] * 5)  # (ctx, r1..r5) -> status
REPEAT_TYPE = ir.FunctionType(I64, [P64] + [I64] * 6)  # (ctx, r1..r5, times) -> status
PREFIX_TYPE = ir.FunctionType(I64, [P64])  # (ctx) -> 0

_ICMP = {
    JmpOp.JEQ: ("==", False), JmpOp.JNE: ("!=", False), JmpOp.JGT: (">", False),
    JmpOp.JGE: (">=", False), JmpOp.JLT: ("<", False), JmpOp.JLE: ("<=", False),
    JmpOp.JSGT: (">", True), JmpOp.JSGE: (">=", True), JmpOp.JSLT: ("<", True),
    JmpOp.JSLE: ("<=", True),
}


@dataclass(frozen=True)
class IrOptions:
    checked: bool = True  # region-checked memory and the instruction budget; False: trusted


def c64(value: int) -> ir.Constant:
    return ir.Constant(I64, value & M64)


def build_module(layout: Loaded, options: IrOptions, name: str = "bpf") -> ir.Module:
    """The whole program as one module: ``subN`` functions plus ``bpf_run``/``bpf_repeat``."""
    module = ir.Module(name=name)
    subs = [ir.Function(module, SUB_TYPE, f"sub{sp.index}") for sp in layout.subprogs]
    for fn in subs:
        fn.linkage = "internal"
    lookup = _build_lookup(module)
    for sp, fn in zip(layout.subprogs, subs, strict=True):
        _FnGen(layout, sp, fn, subs, lookup, options).generate()
    _build_run(module, subs[0], options)
    for sp, fn in zip(layout.subprogs, subs, strict=True):
        _build_invoke(module, sp.index, fn, options)
    return module


def _build_invoke(module: ir.Module, index: int, sub: ir.Function, options: IrOptions) -> None:
    """``bpf_subN(ctx, r1..r5) -> r0``: a helper calling back into the program (bpf_loop).

    Pushes a fresh frame as a bpf-to-bpf call does; Python checks the depth
    and sets the callback's own budget.  On failure the depth stays, as for
    a failing call.
    """
    fn = ir.Function(module, RUN_TYPE, f"bpf_sub{index}")
    ctx = fn.args[0]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    depth = b.load(_slot(b, ctx, Ctx.DEPTH))
    inner = b.add(depth, c64(1))
    entry = _frame_entry(b, ctx, inner)
    if options.checked:
        host = b.inttoptr(b.add(_entry_field(b, entry, E_BASE), _entry_field(b, entry, E_DELTA)),
                          I8.as_pointer())
        memset = module.declare_intrinsic("llvm.memset", [I8.as_pointer(), I64])
        b.call(memset, [host, ir.Constant(I8, 0), c64(STACK_SIZE), ir.Constant(I1, 0)])
        b.store(c64(STACK_SIZE), b.gep(entry, [ir.Constant(I32, E_LEN)], inbounds=True))
    b.store(inner, _slot(b, ctx, Ctx.DEPTH))
    r0 = b.call(sub, [ctx, c64(0), *fn.args[1:6], c64(0), c64(0), c64(0), c64(0),
                      _frame_top(b, entry, options.checked)])
    with b.if_then(b.icmp_unsigned("!=", b.load(_slot(b, ctx, Ctx.STATUS)), c64(0)), likely=False):
        b.ret(c64(0))
    if options.checked:
        entry = _frame_entry(b, ctx, inner)
        b.store(c64(0), b.gep(entry, [ir.Constant(I32, E_LEN)], inbounds=True))
    b.store(depth, _slot(b, ctx, Ctx.DEPTH))
    b.ret(r0)


def build_prefix_module(layout: Loaded, seg_start: int, count: int, options: IrOptions) -> ir.Module:
    """``bpf_prefix(ctx)``: run the first ``count`` instructions of the segment at ``seg_start``.

    The slow path of the budget (see ``_FnGen.budget_check``): registers come
    from and the count goes to the run context, every effect and fault is the
    normal code's, and after the last allowed instruction it fails with the
    budget error naming the next one.
    """
    module = ir.Module(name="bpf_prefix")
    lookup = _build_lookup(module)
    fn = ir.Function(module, PREFIX_TYPE, "bpf_prefix")
    _FnGen(layout, layout.subprog_at(seg_start), fn, [], lookup, options).generate_prefix(seg_start, count)
    return module


def _slot(b: ir.IRBuilder, ctx: ir.Value, slot: int) -> ir.Value:
    return b.gep(ctx, [ir.Constant(I32, slot)], inbounds=True)


def _entry_field(b: ir.IRBuilder, entry: ir.Value, field: int) -> ir.Value:
    return b.load(b.gep(entry, [ir.Constant(I32, field)], inbounds=True))


def _build_lookup(module: ir.Module) -> ir.Function:
    """``region_lookup``: the table entry holding ``[addr, addr+size)`` with the right to write, or null.

    A linear scan: the table holds a handful of regions, and this runs only
    when a site's cached region misses.
    """
    fn = ir.Function(module, LOOKUP_TYPE, "region_lookup")
    fn.linkage = "internal"
    fn.attributes.add("noinline")  # the cold path: inlining it at every site only costs compile time
    fn.attributes.add("cold")
    ctx, addr, size, write = fn.args
    entry = fn.append_basic_block("entry")
    loop = fn.append_basic_block("loop")
    body = fn.append_basic_block("body")
    found = fn.append_basic_block("found")
    nxt = fn.append_basic_block("next")
    none = fn.append_basic_block("none")
    b = ir.IRBuilder(entry)
    table = b.inttoptr(b.load(_slot(b, ctx, Ctx.TABLE)), P64)
    n = b.load(_slot(b, ctx, Ctx.NTABLE))
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64)
    i.add_incoming(c64(0), entry)
    b.cbranch(b.icmp_unsigned("<", i, n), body, none)
    b.position_at_end(body)
    e = b.gep(table, [b.mul(i, c64(ENTRY_WORDS))], inbounds=True)
    off = b.sub(addr, _entry_field(b, e, E_BASE))
    length = _entry_field(b, e, E_LEN)
    # off < len first, so off + size cannot wrap (len < 2**47)
    inside = b.and_(b.icmp_unsigned("<", off, length), b.icmp_unsigned("<=", b.add(off, size), length))
    may = b.or_(b.icmp_unsigned("==", write, c64(0)),
                b.icmp_unsigned("!=", _entry_field(b, e, E_WRITABLE), c64(0)))
    b.cbranch(b.and_(inside, may), found, nxt)
    b.position_at_end(found)
    b.ret(e)
    b.position_at_end(nxt)
    i.add_incoming(b.add(i, c64(1)), nxt)
    b.branch(loop)
    b.position_at_end(none)
    b.ret(ir.Constant(P64, None))
    return fn


def _frame_entry(b: ir.IRBuilder, ctx: ir.Value, depth: ir.Value) -> ir.Value:
    frames = b.inttoptr(b.load(_slot(b, ctx, Ctx.FRAMES)), P64)
    return b.inttoptr(b.load(b.gep(frames, [depth], inbounds=True)), P64)


def _frame_top(b: ir.IRBuilder, entry: ir.Value, checked: bool) -> ir.Value:
    """r10 of a frame: the program's address in checked mode, the host address in trusted mode."""
    top = b.add(_entry_field(b, entry, E_BASE), c64(STACK_SIZE))
    return top if checked else b.add(top, _entry_field(b, entry, E_DELTA))


def _build_run(module: ir.Module, sub0: ir.Function, options: IrOptions) -> None:
    """``bpf_run(ctx, r1..r5) -> status`` and ``bpf_repeat(ctx, r1..r5, times) -> status``.

    Frame 0 is set up by Python (it is mapped like the interpreter's); the
    repeat form restores the budget and depth before every run, for benchmarks
    and batches.
    """
    run = ir.Function(module, RUN_TYPE, "bpf_run")
    ctx = run.args[0]
    b = ir.IRBuilder(run.append_basic_block("entry"))
    r10 = _frame_top(b, _frame_entry(b, ctx, c64(0)), options.checked)
    b.call(sub0, [ctx, c64(0), *run.args[1:6], c64(0), c64(0), c64(0), c64(0), r10])
    b.ret(b.load(_slot(b, ctx, Ctx.STATUS)))

    rep = ir.Function(module, REPEAT_TYPE, "bpf_repeat")
    ctx = rep.args[0]
    entry = rep.append_basic_block("entry")
    loop = rep.append_basic_block("loop")
    again = rep.append_basic_block("again")
    done = rep.append_basic_block("done")
    b = ir.IRBuilder(entry)
    budget = b.load(_slot(b, ctx, Ctx.BUDGET))
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64)
    i.add_incoming(c64(0), entry)
    b.store(budget, _slot(b, ctx, Ctx.BUDGET))
    b.store(c64(0), _slot(b, ctx, Ctx.DEPTH))
    status = b.call(run, [ctx, *rep.args[1:6]])
    nxt = b.add(i, c64(1))
    b.cbranch(b.and_(b.icmp_unsigned("==", status, c64(0)), b.icmp_unsigned("<", nxt, rep.args[6])),
              again, done)
    b.position_at_end(again)
    i.add_incoming(nxt, again)
    b.branch(loop)
    b.position_at_end(done)
    b.ret(status)


class _FnGen:
    """Generates the function of one subprogram."""

    def __init__(self, layout: Loaded, sp: Subprog, fn: ir.Function, subs: list[ir.Function],
                 lookup: ir.Function, options: IrOptions) -> None:
        self.layout = layout
        self.program = layout.program
        self.sp = sp
        self.fn = fn
        self.subs = subs
        self.lookup = lookup
        self.checked = options.checked
        self.pcs = [pc for pc, _ in self.program.items() if sp.start <= pc < sp.end]
        leaders = {sp.start}
        for pc in self.pcs:
            insn = self.program.at(pc)
            form = OPCODES[insn.opcode].form
            if form in (Form.JA, Form.JCOND):
                target = insn.jump_target(pc)
                assert target is not None
                leaders.add(target)
            if form in (Form.JA, Form.JCOND, Form.EXIT) and pc + 1 < sp.end:
                leaders.add(pc + 1)
        self.leaders = sorted(leaders)
        self.blocks: dict[int, ir.Block] = {}
        self.b = ir.IRBuilder()
        self.ctx = fn.args[0]
        self.caches: dict[int, tuple[ir.AllocaInstr, ...]] = {}
        self.fdelta: ir.AllocaInstr | None = None
        self.fail: ir.Block | None = None
        self.mem_mode = "cached"  # "fast": hull already checked; "each": look up every access
        self.ret0: ir.Block | None = None
        self.fail_phis: list[ir.PhiInstr] = []

    # -- setup ----------------------------------------------------------------------
    def generate(self) -> None:
        entry = self.fn.append_basic_block("entry")
        for pc in self.leaders:
            self.blocks[pc] = self.fn.append_basic_block(f"pc{pc}")
        b = self.b
        b.position_at_end(entry)
        self.regs = [b.alloca(I64, name=f"r{i}") for i in range(11)]
        self.R = b.alloca(I64, name="R")
        self.entry_block = entry
        for slot, arg in zip(self.regs, self.fn.args[1:], strict=True):
            b.store(arg, slot)
        b.store(b.load(_slot(b, self.ctx, Ctx.BUDGET)), self.R)
        b.branch(self.blocks[self.sp.start])
        for i, leader in enumerate(self.leaders):
            end = self.leaders[i + 1] if i + 1 < len(self.leaders) else self.sp.end
            self.block(leader, end)

    def generate_prefix(self, seg_start: int, count: int) -> None:
        b = self.b
        self.entry_block = self.fn.append_basic_block("entry")
        body = self.fn.append_basic_block("body")
        b.position_at_end(self.entry_block)
        self.regs = [b.alloca(I64, name=f"r{i}") for i in range(11)]
        self.R = b.alloca(I64, name="R")
        for i, slot in enumerate(self.regs):
            b.store(b.load(_slot(b, self.ctx, Ctx.REGS + i)), slot)
        b.store(b.load(_slot(b, self.ctx, Ctx.BUDGET)), self.R)
        b.branch(body)
        b.position_at_end(body)
        first = self.pcs.index(seg_start)
        self.seg_start = seg_start
        self.R_entry = b.load(self.R)
        self.subtracted = False
        for i, pc in enumerate(self.pcs[first:first + count]):
            self.index = i
            self.insn(pc, self.program.at(pc))
        self.ctx_store(Ctx.STATUS, Status.BUDGET)
        self.ctx_store(Ctx.ERR_PC, self.pcs[first + count])
        b.ret(c64(0))

    def new_alloca(self, name: str, init: int) -> ir.AllocaInstr:
        """A slot in the entry block (so mem2reg promotes it), initialised there."""
        saved = self.b.block  # code is always appended at the end of the current block
        self.b.position_before(self.entry_block.instructions[0])
        slot = self.b.alloca(I64, name=name)
        self.b.position_before(self.entry_block.terminator)
        self.b.store(c64(init), slot)
        self.b.position_at_end(saved)
        return slot

    # -- registers ------------------------------------------------------------------
    def get(self, r: int) -> ir.Value:
        return self.b.load(self.regs[r])

    def set(self, r: int, value: ir.Value) -> None:
        if value.type != I64:
            value = self.b.zext(value, I64)
        self.b.store(value, self.regs[r])

    def ctx_store(self, slot: int, value: ir.Value | int) -> None:
        v = c64(value) if isinstance(value, int) else value
        self.b.store(v, _slot(self.b, self.ctx, slot))

    def ctx_load(self, slot: int) -> ir.Value:
        return self.b.load(_slot(self.b, self.ctx, slot))

    # -- blocks and segments ----------------------------------------------------------
    def block(self, leader: int, end: int) -> None:
        b = self.b
        b.position_at_end(self.blocks[leader])
        pcs = [pc for pc in self.pcs if leader <= pc < end]
        # segments end after a bpf-to-bpf call, as in the interpreter
        segments: list[list[int]] = [[]]
        for pc in pcs:
            segments[-1].append(pc)
            insn = self.program.at(pc)
            if OPCODES[insn.opcode].form is Form.CALL and insn.src == CallSrc.LOCAL and pc != pcs[-1]:
                segments.append([])
        for seg in segments:
            self.segment(seg)
        last = self.program.at(pcs[-1])
        if OPCODES[last.opcode].form not in (Form.JA, Form.JCOND, Form.EXIT):
            b.branch(self.blocks[pcs[-1] + last.width])

    def segment(self, seg: list[int]) -> None:
        k = len(seg)
        self.seg_start = seg[0]
        self.seg_len = k
        self.R_entry = self.b.load(self.R)
        self.subtracted = False
        if self.checked:
            self.budget_check(k)
        groups = self.access_groups(seg) if self.checked else {}
        i = 0
        while i < k:
            group = groups.get(i)
            if group is None:
                self.one(i, seg[i])
                i += 1
            else:
                self.group(seg, i, *group)
                i = group[0]

    def one(self, i: int, pc: int) -> None:
        if i == self.seg_len - 1:  # the count moves on before the instruction that leaves the segment
            self.b.store(self.b.sub(self.R_entry, c64(self.seg_len)), self.R)
            self.subtracted = True
        self.index = i
        self.insn(pc, self.program.at(pc))

    def access_groups(self, seg: list[int]) -> dict[int, tuple[int, dict[int, tuple[int, int]], bool]]:
        """Runs of two or more checked accesses whose base registers nothing in the run changes first.

        ``{first index: (end index, {base register: (min offset, hull length)}, any write)}``:
        one check of each register's hull against the cached region covers
        the whole run (memset/memcpy-like code then runs unchecked).
        """
        out: dict[int, tuple[int, dict[int, tuple[int, int]], bool]] = {}
        i = 0
        while i < len(seg):
            hulls: dict[int, tuple[int, int]] = {}
            written: set[int] = set()
            write = False
            count = 0
            j = i
            while j < len(seg):
                insn = self.program.at(seg[j])
                form = OPCODES[insn.opcode].form
                if form in (Form.CALL, Form.CALLX, Form.LD_ABS, Form.LD_IND, Form.JA, Form.JCOND, Form.EXIT):
                    break
                acc = self.checked_access(insn)
                if acc is not None:
                    reg, off, size, w = acc
                    if reg in written:
                        break
                    lo, hi = hulls.get(reg, (off, off + size))
                    lo, hi = min(lo, off), max(hi, off + size)
                    if hi - lo > 1 << 16:
                        break
                    hulls[reg] = (lo, hi)
                    write = write or w
                    count += 1
                dst = self.written_reg(insn)
                j += 1
                if dst is not None:
                    written.add(dst)
                    if dst in hulls:
                        break
            if count > 1:
                out[i] = (j, {r: (lo, hi - lo) for r, (lo, hi) in hulls.items()}, write)
                i = j
            else:
                i += 1
        return out

    def checked_access(self, insn: Insn) -> tuple[int, int, int, bool] | None:
        """(base register, offset, size, write) of an access that needs a region check."""
        info = OPCODES[insn.opcode]
        if info.form is Form.LDX:
            reg, write = insn.src, False
        elif info.form in (Form.ST, Form.STX, Form.ATOMIC):
            reg, write = insn.dst, True
        else:
            return None
        if reg == 10 and insn.off >= -STACK_SIZE and insn.off + info.nbytes <= 0:
            return None
        return reg, insn.off, info.nbytes, write

    @staticmethod
    def written_reg(insn: Insn) -> int | None:
        """The register an instruction (of a group: no calls) writes, if any."""
        info = OPCODES[insn.opcode]
        if info.form in (Form.ALU, Form.NEG, Form.END, Form.LD_IMM64, Form.LDX):
            return insn.dst
        if info.form is Form.ATOMIC:
            if insn.imm == 0xF1:
                return 0
            return insn.src if insn.imm & 0x01 else None
        return None

    def group(self, seg: list[int], first: int, end: int, hulls: dict[int, tuple[int, int]],
              write: bool) -> None:
        """Instructions ``first..end-1``: one check per base register's hull, then unchecked.

        If a hull is not in the cached region, the first hull is looked up
        (and cached); if some hull is still not inside it (the run spans
        regions, or faults somewhere), every access is looked up on its own,
        so effects and the fault are exactly those of the instruction order.
        """
        b = self.b
        starts = {reg: b.add(self.get(reg), c64(lo)) for reg, (lo, _) in hulls.items()}

        def all_hit() -> ir.Value:
            c_lo, c_end, _, c_wr = self.cache(0)
            lo_v, end_v = b.load(c_lo), b.load(c_end)
            hit: ir.Value = ir.Constant(I1, 1)
            for reg, (_, length) in hulls.items():
                hit = b.and_(hit, b.and_(b.icmp_unsigned(">=", starts[reg], lo_v),
                                         b.icmp_unsigned("<=", starts[reg], b.sub(end_v, c64(length)))))
            if write:
                hit = b.and_(hit, b.icmp_unsigned("!=", b.load(c_wr), c64(0)))
            return hit

        name = f"pc{seg[first]}"
        fast = self.fn.append_basic_block(f"{name}.hull")
        miss = self.fn.append_basic_block(f"{name}.miss")
        refill = self.fn.append_basic_block(f"{name}.refill")
        precise = self.fn.append_basic_block(f"{name}.each")
        join = self.fn.append_basic_block(f"{name}.joined")
        b.cbranch(all_hit(), fast, miss)
        b.position_at_end(miss)
        reg0, (_, len0) = next(iter(hulls.items()))
        entry = b.call(self.lookup, [self.ctx, starts[reg0], c64(len0), c64(int(write))])
        b.cbranch(b.icmp_unsigned("==", b.ptrtoint(entry, I64), c64(0)), precise, refill)
        b.position_at_end(refill)
        self.refill(entry)
        b.cbranch(all_hit(), fast, precise)
        for block, mode in ((fast, "fast"), (precise, "each")):
            b.position_at_end(block)
            self.mem_mode = mode
            for i in range(first, end):
                self.one(i, seg[i])
            b.branch(join)
        self.mem_mode = "cached"
        b.position_at_end(join)

    def refill(self, entry: ir.Value) -> None:
        b = self.b
        c_lo, c_end, c_delta, c_wr = self.cache(0)
        ebase = _entry_field(b, entry, E_BASE)
        b.store(ebase, c_lo)
        b.store(b.add(ebase, _entry_field(b, entry, E_LEN)), c_end)
        b.store(_entry_field(b, entry, E_DELTA), c_delta)
        b.store(_entry_field(b, entry, E_WRITABLE), c_wr)

    def budget_check(self, k: int) -> None:
        """One compare per segment: fewer than ``k`` instructions left goes to the slow path.

        The slow path records r0-r10 and returns ``BUDGET_SLOW``; Python then
        runs the exact prefix (the instructions the budget still allows, see
        :func:`build_prefix_module`) so effects before the limit happen and the
        error names the exact instruction.  Per-instruction checks in the fast
        path would cost a compare per access and make LLVM's value analyses
        quadratic on long straight-line code.
        """
        b = self.b
        slow = self.fn.append_basic_block(f"pc{self.seg_start}.slow")
        ok = self.fn.append_basic_block(f"pc{self.seg_start}.go")
        b.cbranch(b.icmp_unsigned("<", self.R_entry, c64(k)), slow, ok, )
        b.position_at_end(slow)
        for i in range(11):
            b.store(self.get(i), _slot(b, self.ctx, Ctx.REGS + i))
        self.ctx_store(Ctx.BUDGET, self.R_entry)
        self.fail_from((Status.BUDGET_SLOW, self.seg_start, 0, 0, self.R_entry))
        b.position_at_end(ok)

    def fail_block(self) -> ir.Block:
        """The function's one failure exit: stores (status, pc, addr, size, aux) from phis.

        One shared exit instead of one per site keeps the IR small.
        """
        if self.fail is None:
            b = self.b
            saved = b.block
            self.fail = self.fn.append_basic_block("fail")
            b.position_at_end(self.fail)
            self.fail_phis = [b.phi(I64) for _ in range(5)]
            for slot, phi in zip((Ctx.STATUS, Ctx.ERR_PC, Ctx.ERR_ADDR, Ctx.ERR_SIZE, Ctx.ERR_AUX),
                                 self.fail_phis, strict=True):
                self.ctx_store(slot, phi)
            b.ret(c64(0))
            b.position_at_end(saved)
        return self.fail

    def fail_from(self, info: tuple[int | ir.Value, ...]) -> None:
        """End the current block with a jump to the failure exit."""
        fail = self.fail_block()
        for phi, value in zip(self.fail_phis, info, strict=True):
            phi.add_incoming(c64(value) if isinstance(value, int) else value, self.b.block)
        self.b.branch(fail)

    def fail_if(self, cond: ir.Value, ok: ir.Block, info: tuple[int | ir.Value, ...]) -> None:
        """Go to the failure exit when ``cond``, else continue in ``ok``."""
        b = self.b
        bad = self.fn.append_basic_block("bad")
        b.cbranch(cond, bad, ok)
        b.position_at_end(bad)
        self.fail_from(info)
        b.position_at_end(ok)

    def remaining_here(self) -> ir.Value:
        """The budget left after the current instruction (for a run that stops at it)."""
        if self.subtracted:
            return self.b.load(self.R)
        return self.b.sub(self.R_entry, c64(self.index + 1))

    def stop(self, r0: ir.Value, status: int | None) -> None:
        """Record r0-r10 and the count and return (``status`` None: already set by the callee)."""
        b = self.b
        for i in range(11):
            value = r0 if i == 0 else self.get(i)
            b.store(value, _slot(b, self.ctx, Ctx.REGS + i))
        self.ctx_store(Ctx.BUDGET, self.remaining_here())
        if status is not None:
            self.ctx_store(Ctx.STATUS, status)
        b.ret(c64(0))

    # -- instructions -------------------------------------------------------------------
    def insn(self, pc: int, insn: Insn) -> None:
        info = OPCODES[insn.opcode]
        form = info.form
        b = self.b
        if form is Form.ALU:
            self.alu(insn, info.cls is Class.ALU64)
        elif form is Form.NEG:
            if info.cls is Class.ALU64:
                self.set(insn.dst, b.neg(self.get(insn.dst)))
            else:
                self.set(insn.dst, b.neg(b.trunc(self.get(insn.dst), I32)))
        elif form is Form.END:
            self.endian(insn)
        elif form is Form.LD_IMM64:
            self.set(insn.dst, c64(self.layout.imm64(pc, insn)))
        elif form in (Form.LD_ABS, Form.LD_IND):
            self.packet_load(insn, info.nbytes, form is Form.LD_IND)
        elif form is Form.LDX:
            size = info.nbytes
            ptr = self.address(pc, insn.src, insn.off, size, False)
            value = b.load(b.bitcast(ptr, INT[size].as_pointer()), align=1)
            if info.mode is Mode.MEMSX:
                self.set(insn.dst, b.sext(value, I64) if size < 8 else value)
            else:
                self.set(insn.dst, value)
        elif form in (Form.ST, Form.STX):
            size = info.nbytes
            src = c64(insn.imm) if form is Form.ST else self.get(insn.src)
            ptr = self.address(pc, insn.dst, insn.off, size, True)
            value = src if size == 8 else b.trunc(src, INT[size])
            b.store(value, b.bitcast(ptr, INT[size].as_pointer()), align=1)
        elif form is Form.ATOMIC:
            self.atomic(pc, insn, info.nbytes)
        elif form is Form.JA:
            target = insn.jump_target(pc)
            assert target is not None
            b.branch(self.blocks[target])
        elif form is Form.JCOND:
            target = insn.jump_target(pc)
            assert target is not None
            b.cbranch(self.cond(insn, info.cls is Class.JMP), self.blocks[target], self.blocks[pc + 1])
        elif form is Form.CALL and insn.src == CallSrc.LOCAL:
            self.local_call(pc, insn)
        elif form in (Form.CALL, Form.CALLX):
            hid = c64(insn.imm) if form is Form.CALL else self.get(insn.dst)
            self.helper_call(pc, hid)
        elif form is Form.EXIT:
            self.ctx_store(Ctx.BUDGET, b.load(self.R))
            r0 = self.get(0)
            if self.sp.index == 0:  # the entry's exit ends the run: record r0-r10
                for i in range(11):
                    b.store(r0 if i == 0 else self.get(i), _slot(b, self.ctx, Ctx.REGS + i))
            b.ret(r0)
        else:  # pragma: no cover - the loader rejects anything else
            raise AssertionError(form)

    def operand(self, insn: Insn, is64: bool) -> ir.Value:
        """src register or the immediate (sign-extended to 64 bits), at the operation's width."""
        if insn.source:
            value = self.get(insn.src)
            return value if is64 else self.b.trunc(value, I32)
        return c64(insn.imm) if is64 else ir.Constant(I32, insn.imm & M32)

    def alu(self, insn: Insn, is64: bool) -> None:
        b = self.b
        op = insn.opcode & 0xF0
        ty = I64 if is64 else I32
        bits = 64 if is64 else 32
        if op == AluOp.MOV:
            if insn.off:  # movsx: sign-extend the low `off` bits of the source, then fit the width
                src = self.get(insn.src) if insn.source else c64(insn.imm)
                value = b.sext(b.trunc(src, ir.IntType(insn.off)), ty)
                self.set(insn.dst, value)
            else:
                self.set(insn.dst, self.operand(insn, is64))
            return
        d = self.get(insn.dst)
        if not is64:
            d = b.trunc(d, I32)
        s = self.operand(insn, is64)
        if op == AluOp.ADD:
            r = b.add(d, s)
        elif op == AluOp.SUB:
            r = b.sub(d, s)
        elif op == AluOp.MUL:
            r = b.mul(d, s)
        elif op in (AluOp.DIV, AluOp.MOD):
            r = self.divmod(op == AluOp.DIV, insn.off == 1, d, s, ty, bits)
        elif op == AluOp.OR:
            r = b.or_(d, s)
        elif op == AluOp.AND:
            r = b.and_(d, s)
        elif op == AluOp.XOR:
            r = b.xor(d, s)
        elif op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            amount = b.and_(s, ir.Constant(ty, bits - 1))  # eBPF masks; LLVM would be poison
            r = {AluOp.LSH: b.shl, AluOp.RSH: b.lshr, AluOp.ARSH: b.ashr}[AluOp(op)](d, amount)
        else:  # pragma: no cover - NEG and END have their own forms
            raise AssertionError(op)
        self.set(insn.dst, r)

    def divmod(self, div: bool, signed: bool, d: ir.Value, s: ir.Value, ty: ir.IntType,
               bits: int) -> ir.Value:
        """x / 0 = 0, x % 0 = x; signed: INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (no LLVM UB)."""
        b = self.b
        zero = ir.Constant(ty, 0)
        one = ir.Constant(ty, 1)
        if isinstance(s, ir.Constant):  # fold the guards for an immediate divisor
            value = int(s.constant) & ((1 << bits) - 1)
            if value == 0:
                return zero if div else d
            if signed and value == (1 << bits) - 1:  # / -1: negate; % -1: 0
                return b.neg(d) if div else zero
            if signed:
                return b.sdiv(d, s) if div else b.srem(d, s)
            return b.udiv(d, s) if div else b.urem(d, s)
        is_zero = b.icmp_unsigned("==", s, zero)
        if not signed:
            safe = b.select(is_zero, one, s)
            return b.select(is_zero, zero, b.udiv(d, safe)) if div else \
                b.select(is_zero, d, b.urem(d, safe))
        minus1 = b.icmp_unsigned("==", s, ir.Constant(ty, (1 << bits) - 1))
        safe = b.select(b.or_(is_zero, minus1), one, s)
        if div:
            q = b.select(minus1, b.neg(d), b.sdiv(d, safe))
            return b.select(is_zero, zero, q)
        r = b.select(minus1, zero, b.srem(d, safe))
        return b.select(is_zero, d, r)

    def endian(self, insn: Insn) -> None:
        b = self.b
        width = insn.imm
        ty = ir.IntType(width)
        value = self.get(insn.dst)
        low = value if width == 64 else b.trunc(value, ty)
        if insn.opcode != 0xD4:  # be (0xdc) and bswap (0xd7) swap; le truncates on this little-endian host
            fn = self.fn.module.declare_intrinsic("llvm.bswap", [ty])
            low = b.call(fn, [low])
        self.set(insn.dst, low)

    def cond(self, insn: Insn, is64: bool) -> ir.Value:
        b = self.b
        op = JmpOp(insn.opcode & 0xF0)
        a = self.get(insn.dst)
        if not is64:
            a = b.trunc(a, I32)
        s = self.operand(insn, is64)
        if op == JmpOp.JSET:
            return b.icmp_unsigned("!=", b.and_(a, s), ir.Constant(a.type, 0))
        sym, signed = _ICMP[op]
        return b.icmp_signed(sym, a, s) if signed else b.icmp_unsigned(sym, a, s)

    # -- memory ---------------------------------------------------------------------------
    def address(self, pc: int, base_reg: int, off: int, size: int, write: bool) -> ir.Value:
        """The host pointer (i8*) for ``[r<base_reg> + off, +size)``, faulting in checked mode.

        Checked mode keeps one cache per function: the region the last
        checked access hit (``lo``, ``end``, host ``delta``, writable), in four
        SSA values.  Accesses through r10 within the frame need no check, and
        programs mostly touch one other region (their memory, packet or a map
        value), so one entry hits nearly always; one cache per site or per
        register was measured slower (more loop-carried values to keep in
        registers) and compiled much slower (SSA construction grows with
        values times blocks).
        """
        b = self.b
        base = self.get(base_reg)
        addr = b.add(base, c64(off)) if off else base
        if not self.checked:
            return b.inttoptr(addr, I8.as_pointer())
        if base_reg == 10 and off >= -STACK_SIZE and off + size <= 0:
            # r10 is read-only and its frame is live while this function runs: always in bounds
            return b.inttoptr(b.add(addr, b.load(self.frame_delta())), I8.as_pointer())
        if self.mem_mode == "fast":  # inside a group whose hull was checked
            return b.inttoptr(b.add(addr, b.load(self.cache(0)[2])), I8.as_pointer())
        if self.mem_mode == "each":  # a group whose hull is not in one region: look up every access
            host = b.call(self.translate(), [self.ctx, addr, c64(size), c64(int(write)), c64(pc)])
            ok = self.fn.append_basic_block(f"pc{pc}.found")
            b.cbranch(b.icmp_unsigned("==", host, c64(0)), self.return_zero(), ok)
            b.position_at_end(ok)
            return b.inttoptr(host, I8.as_pointer())
        lo, end, delta, wr = self.cache(base_reg)
        hit = b.and_(b.icmp_unsigned(">=", addr, b.load(lo)),
                     b.icmp_unsigned("<=", addr, b.sub(b.load(end), c64(size))))
        if write:
            hit = b.and_(hit, b.icmp_unsigned("!=", b.load(wr), c64(0)))
        with b.if_then(b.not_(hit), likely=False):
            entry = b.call(self.lookup, [self.ctx, addr, c64(size), c64(int(write))])
            self.fail_if(b.icmp_unsigned("==", b.ptrtoint(entry, I64), c64(0)),
                         self.fn.append_basic_block(f"pc{pc}.found"),
                         (Status.FAULT, pc, addr, size, int(write)))
            self.refill(entry)
        return b.inttoptr(b.add(addr, b.load(delta)), I8.as_pointer())

    def translate(self) -> ir.Function:
        """``region_translate(ctx, addr, size, write, pc)``: host address, or 0 with the fault recorded."""
        module = self.fn.module
        fn = module.globals.get("region_translate")
        if fn is None:
            fn = ir.Function(module, ir.FunctionType(I64, [P64, I64, I64, I64, I64]), "region_translate")
            fn.linkage = "internal"
            fn.attributes.add("noinline")
            fn.attributes.add("cold")
            ctx, addr, size, write, pc = fn.args
            b = ir.IRBuilder(fn.append_basic_block("entry"))
            entry = b.call(self.lookup, [ctx, addr, size, write])
            with b.if_then(b.icmp_unsigned("==", b.ptrtoint(entry, I64), c64(0))):
                for slot, value in ((Ctx.STATUS, c64(Status.FAULT)), (Ctx.ERR_PC, pc), (Ctx.ERR_ADDR, addr),
                                    (Ctx.ERR_SIZE, size), (Ctx.ERR_AUX, write)):
                    b.store(value, _slot(b, ctx, slot))
                b.ret(c64(0))
            b.ret(b.add(addr, _entry_field(b, entry, E_DELTA)))
        return fn

    def return_zero(self) -> ir.Block:
        """A shared ``ret 0`` (the failure was recorded by the callee)."""
        if self.ret0 is None:
            saved = self.b.block
            self.ret0 = self.fn.append_basic_block("ret0")
            self.b.position_at_end(self.ret0)
            self.b.ret(c64(0))
            self.b.position_at_end(saved)
        return self.ret0

    def cache(self, reg: int) -> tuple[ir.AllocaInstr, ...]:
        del reg  # one cache for every base register (see address)
        got = self.caches.get(0)
        if got is None:  # empty: no addr has lo <= addr <= end - size (and end - size never wraps)
            got = (self.new_alloca("c_lo", M64), self.new_alloca("c_end", 8),
                   self.new_alloca("c_delta", 0), self.new_alloca("c_wr", 0))
            self.caches[0] = got
        return got

    def frame_delta(self) -> ir.AllocaInstr:
        """Host minus program address of this function's frame (looked up once, at entry)."""
        if self.fdelta is None:
            saved = self.b.block
            self.b.position_before(self.entry_block.terminator)
            slot = self.b.alloca(I64, name="fdelta")
            entry = _frame_entry(self.b, self.ctx, self.b.load(_slot(self.b, self.ctx, Ctx.DEPTH)))
            self.b.store(_entry_field(self.b, entry, E_DELTA), slot)
            self.b.position_at_end(saved)
            self.fdelta = slot
        return self.fdelta

    def atomic(self, pc: int, insn: Insn, size: int) -> None:
        b = self.b
        ty = INT[size]
        ptr = b.bitcast(self.address(pc, insn.dst, insn.off, size, True), ty.as_pointer())
        src = self.get(insn.src)
        s = src if size == 8 else b.trunc(src, ty)
        imm = insn.imm
        aligned = b.icmp_unsigned("==", b.and_(b.ptrtoint(ptr, I64), c64(size - 1)), c64(0))
        # LLVM atomics need natural alignment; the interpreter allows any address, and a
        # misaligned one is done as a plain read-modify-write (one thread: same result).
        with b.if_else(aligned) as (then, otherwise):
            with then:
                old_a = self.atomic_op(imm, ptr, s, ty, True)
                bb_a = b.block
            with otherwise:
                old_u = self.atomic_op(imm, ptr, s, ty, False)
                bb_u = b.block
        old = b.phi(ty)
        old.add_incoming(old_a, bb_a)
        old.add_incoming(old_u, bb_u)
        if imm == 0xF1:
            self.set(0, old)
        elif imm & 0x01:
            self.set(insn.src, old)

    def atomic_op(self, imm: int, ptr: ir.Value, s: ir.Value, ty: ir.IntType, atomic: bool) -> ir.Value:
        b = self.b
        if imm == 0xF1:  # cmpxchg: compare with r0
            expect = self.get(0)
            if ty != I64:
                expect = b.trunc(expect, ty)
            if atomic:
                pair = b.cmpxchg(ptr, expect, s, "seq_cst", "seq_cst")
                return b.extract_value(pair, 0)
            old = b.load(ptr, align=1)
            b.store(b.select(b.icmp_unsigned("==", old, expect), s, old), ptr, align=1)
            return old
        op = {0xE1: "xchg", AluOp.ADD: "add", AluOp.OR: "or", AluOp.AND: "and",
              AluOp.XOR: "xor"}[imm if imm == 0xE1 else imm & ~0x01]
        if atomic:
            return b.atomic_rmw(op, ptr, s, "seq_cst")
        old = b.load(ptr, align=1)
        new = {"xchg": lambda: s, "add": lambda: b.add(old, s), "or": lambda: b.or_(old, s),
               "and": lambda: b.and_(old, s), "xor": lambda: b.xor(old, s)}[op]()
        b.store(new, ptr, align=1)
        return old

    def packet_load(self, insn: Insn, size: int, indirect: bool) -> None:
        """Legacy big-endian packet load; out of bounds ends the run with r0 = 0."""
        b = self.b
        off = c64(insn.imm)
        if indirect:
            off = b.add(off, self.get(insn.src))
        off32 = b.trunc(off, I32)
        off64 = b.zext(off32, I64)
        length = self.ctx_load(Ctx.PACKET_LEN)
        # a negative s32 offset (SKF_* ancillary data) is not modelled: out of bounds
        bad = b.or_(b.icmp_signed("<", off32, ir.Constant(I32, 0)),
                    b.icmp_unsigned(">", b.add(off64, c64(size)), length))
        with b.if_then(bad, likely=False):
            self.stop(c64(0), Status.STOP)
        host = b.add(self.ctx_load(Ctx.PACKET), off64)
        ty = INT[size]
        value = b.load(b.inttoptr(host, ty.as_pointer()), align=1)
        if size > 1:
            value = b.call(self.fn.module.declare_intrinsic("llvm.bswap", [ty]), [value])
        self.set(0, value)

    # -- calls ------------------------------------------------------------------------------
    def helper_call(self, pc: int, hid: ir.Value) -> None:
        b = self.b
        fnptr = b.inttoptr(self.ctx_load(Ctx.HELPER), HELPER_TYPE.as_pointer())
        r0 = b.call(fnptr, [self.ctx, hid, c64(pc), *(self.get(i) for i in range(1, 6))])
        with b.if_then(b.icmp_unsigned("!=", self.ctx_load(Ctx.STATUS), c64(0)), likely=False):
            self.stop(r0, None)
        self.set(0, r0)
        if self.checked:
            # A helper may unmap a region (a map delete) and a later one reuse its
            # addresses: forget the cached region so the next access looks it up in
            # the table Python rebuilt, as the interpreter drops its caches.
            c_lo, c_end, _, _ = self.cache(0)
            b.store(c64(M64), c_lo)
            b.store(c64(8), c_end)

    def local_call(self, pc: int, insn: Insn) -> None:
        b = self.b
        target = insn.jump_target(pc)
        assert target is not None
        callee = self.subs[self.layout.subprog_at(target).index]
        depth = self.ctx_load(Ctx.DEPTH)
        inner = b.add(depth, c64(1))
        with b.if_then(b.icmp_unsigned(">=", inner, self.ctx_load(Ctx.MAX_DEPTH)), likely=False):
            self.ctx_store(Ctx.STATUS, Status.DEPTH)
            self.ctx_store(Ctx.ERR_PC, pc)
            b.ret(c64(0))
        entry = _frame_entry(b, self.ctx, inner)
        if self.checked:  # a fresh frame: zeroed and mapped, as the interpreter's push_frame
            host = b.inttoptr(b.add(_entry_field(b, entry, E_BASE), _entry_field(b, entry, E_DELTA)),
                              I8.as_pointer())
            memset = self.fn.module.declare_intrinsic("llvm.memset", [I8.as_pointer(), I64])
            b.call(memset, [host, ir.Constant(I8, 0), c64(STACK_SIZE), ir.Constant(I1, 0)])
            b.store(c64(STACK_SIZE), b.gep(entry, [ir.Constant(I32, E_LEN)], inbounds=True))
        self.ctx_store(Ctx.DEPTH, inner)
        self.ctx_store(Ctx.BUDGET, b.load(self.R))
        r0 = b.call(callee, [self.ctx, *(self.get(i) for i in range(10)), _frame_top(b, entry, self.checked)])
        # on failure the callee's depth stays recorded: Python maps the frames live at the fault
        with b.if_then(b.icmp_unsigned("!=", self.ctx_load(Ctx.STATUS), c64(0)), likely=False):
            b.ret(c64(0))
        if self.checked:  # unmap; the entry is looked up again (a helper may have rebuilt the table)
            entry = _frame_entry(b, self.ctx, inner)
            b.store(c64(0), b.gep(entry, [ir.Constant(I32, E_LEN)], inbounds=True))
        self.ctx_store(Ctx.DEPTH, depth)
        b.store(self.ctx_load(Ctx.BUDGET), self.R)
        self.set(0, r0)
