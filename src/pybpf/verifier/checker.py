"""Path exploration: ``do_check()`` and the per-instruction checks of kernel/bpf/verifier.c.

:class:`Checker` walks every path from instruction 0 with a stack of
pending branch states (``push_stack``/``pop_stack``), checks each
instruction against the current :class:`~.state.VState` and updates it.
It stops at the first violation, printing the kernel's message from
:mod:`.messages` into the :class:`~.log.VerifierLog` and raising
:class:`Reject`.  Explored states are kept at the kernel's prune points and
used to cut paths already proven safe (``is_state_visited``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..isa import AluOp, Class, Form, Insn, JmpOp, Mode, Program, Source
from ..isa.opcodes import OPCODES
from ..maps.spec import MapSpec
from ..platform import Platform
from ..platform.progtypes import ProgType, ProgTypeInfo
from ..platform.types import RegType, TypeFlag
from . import calls, memory
from .bounds import (
    S64_MIN,
    adjust_scalar_min_max_vals,
    coerce_reg_to_size,
    coerce_reg_to_size_sx,
    flip_opcode,
    is_scalar_branch_taken,
    reg_bounds_sync,
    regs_refine_cond_op,
    rev_opcode,
    s64,
    zext_32_to_64,
)
from .common import (
    _ALU_NAMES,
    _LD_ABS_TYPES,
    BPF_MAX_VAR_OFF,
    COMPLEXITY_LIMIT,
    Options,
    Reject,
    _find_good,
    _mark_pkt_end,
    _pkt_branch_taken,
    insn_text,
)
from .log import VerifierLog, reg_str, stack_str, type_str
from .messages import M, Message
from .regstate import RegState
from .state import Explored, FuncState, VState, states_equal
from .tnum import U32, U64, tnum_add, tnum_sub

__all__ = ["Checker", "Reject", "Options", "COMPLEXITY_LIMIT"]


# For "pkt <op> data_end": (the range is learnt in the taken branch, the range may include data_end).
_PKT_CMP: dict[JmpOp, tuple[bool, bool]] = {
    JmpOp.JGT: (True, False),
    JmpOp.JLT: (False, True),
    JmpOp.JGE: (True, True),
    JmpOp.JLE: (False, False),
}


class _Pop(Exception):
    """The current path ended (exit or pruned): continue with the next pushed state."""


class Checker:
    def __init__(self, program: Program, info: ProgTypeInfo, platform: Platform, maps: Mapping[int, MapSpec],
                 map_at: Mapping[int, MapSpec], opts: Options, log: VerifierLog, live: Mapping[int, int],
                 prune_points: set[int], subprogs: tuple[int, ...]) -> None:
        self.prog = program
        self.info = info
        self.ptype = ProgType(info.type)
        self.platform = platform
        self.maps = maps
        self.map_at = map_at  # pc of an LD_IMM64 -> the map it loads
        self.opts = opts
        self.log = log
        self.live = live
        self.prune_points = prune_points
        self.subprogs = subprogs
        self.id_gen = 0
        self.insn_processed = 0
        self.insn_limit = COMPLEXITY_LIMIT
        self.jmps_processed = 0
        self.prev_jmps = 0
        self.prev_insns = 0
        self.explored: dict[int, list[Explored]] = {}
        self.total_states = 0
        self.peak_states = 0
        self.cur_states = 0
        self.max_states_per_insn = 0
        self.stack_depth: dict[int, int] = {}
        self.stack: list[tuple[VState, int, int, int]] = []  # (state, insn, prev insn, log pos)
        self.scratched_regs: set[int] = set()
        self.scratched_stack: set[int] = set()
        self.all_scratched = True
        self.pc = 0
        self.prev_pc = 0
        self.st: VState = self._initial_state()

    # -- setup ---------------------------------------------------------------------------------
    def _initial_state(self) -> VState:
        f = FuncState()
        f.regs[1].mark_known_zero_ptr(RegType.PTR_TO_CTX)
        f.regs[10].mark_known_zero_ptr(RegType.PTR_TO_STACK)
        return VState([f])

    # -- errors and log ------------------------------------------------------------------------
    def fail(self, msg: Message, **fields: object) -> Reject:
        text = msg.format(**fields)
        self.log.write(text + "\n")
        return Reject(text, msg.code, self.pc)

    def note(self, msg: Message, **fields: object) -> None:
        """A message line that does not end verification by itself (the next one will)."""
        self.log.write(msg.format(**fields) + "\n")

    def scratch_reg(self, regno: int) -> None:
        self.scratched_regs.add(regno)

    def scratch_slot(self, spi: int) -> None:
        self.scratched_stack.add(spi)

    def state_text(self, st: VState, all_: bool) -> str:
        f = st.cur
        out = []
        if f.frameno:
            out.append(f" frame{f.frameno}:")
        for i, r in enumerate(f.regs):
            if r.type is RegType.NOT_INIT:
                continue
            if not all_ and not self.all_scratched and i not in self.scratched_regs:
                continue
            out.append(f" R{i}={reg_str(r, f.frameno)}")
        spis = None if all_ or self.all_scratched else self.scratched_stack
        out.append(stack_str(f.stack, spis, f.frameno))
        if st.refs:
            out.append(" refs=" + ",".join(str(i) for i, _ in st.refs))
        return "".join(out) + "\n"

    def print_insn_state(self) -> None:
        log = self.log
        if log.prev_log_pos and log.prev_log_pos == log.end_pos:
            log.reset(log.prev_log_pos - 1)
            log.write(" " * log.alignment(log.prev_insn_print_pos) + ";")
        else:
            log.write(f"{self.pc}:")
        log.write(self.state_text(self.st, False))
        self.scratched_regs.clear()
        self.scratched_stack.clear()
        self.all_scratched = False

    @property
    def scratched(self) -> bool:
        return self.all_scratched or bool(self.scratched_regs) or bool(self.scratched_stack)

    # -- the main loop ---------------------------------------------------------------------------
    def run(self) -> None:
        level = self.opts.log_level
        do_print_state = False
        while True:
            insn = self.prog.at(self.pc) if self.prog.index_of(self.pc) is not None else None
            self.insn_processed += 1
            if self.insn_processed > self.insn_limit:
                raise self.fail(M.TOO_MANY_INSNS, n=self.insn_processed)
            try:
                if self.pc in self.prune_points and self.is_state_visited():
                    if level:
                        if do_print_state:
                            self.log.write(f"\nfrom {self.prev_pc} to {self.pc}: safe\n")
                        else:
                            self.log.write(f"{self.pc}: safe\n")
                    raise _Pop
                if level & 2 and do_print_state:
                    self.log.write(f"\nfrom {self.prev_pc} to {self.pc}:")
                    self.log.write(self.state_text(self.st, True))
                    do_print_state = False
                if level:
                    if self.scratched:
                        self.print_insn_state()
                    self.log.prev_log_pos = self.log.end_pos
                    assert insn is not None
                    self.log.write(f"{self.pc}: {insn_text(insn, self.pc)}\n")
                    self.log.prev_insn_print_pos = self.log.end_pos - self.log.prev_log_pos
                    self.log.prev_log_pos = self.log.end_pos
                assert insn is not None
                nxt = self.step(insn)
                self.prev_pc = self.pc
                self.pc = nxt
                if nxt < 0:
                    raise _Pop
            except _Pop:
                self.all_scratched = True
                self.update_branch_counts(self.st)
                if not self.stack:
                    return
                st, pc, prev, pos = self.stack.pop()
                if not level & 2:
                    self.log.reset(pos)
                self.st, self.pc, self.prev_pc = st, pc, prev
                do_print_state = True

    def push_stack(self, target: int) -> VState:
        other = self.st.copy()
        if other.parent is not None:
            other.parent.branches += 1
        self.stack.append((other, target, self.pc, self.log.end_pos))
        if len(self.stack) > 8192:
            raise self.fail(Message("BPF_COMPLEXITY", "The sequence of {n} jumps is too complex."), n=8192)
        return other

    def update_branch_counts(self, st: VState) -> None:
        node = st.parent
        while node is not None:
            node.branches -= 1
            if node.branches:
                break
            node = node.parent

    # -- pruning ---------------------------------------------------------------------------------
    def is_state_visited(self) -> bool:
        pc = self.pc
        add_new = False
        if self.jmps_processed - self.prev_jmps >= 2 and self.insn_processed - self.prev_insns >= 8:
            add_new = True
        live = self.live.get(pc, 0x7FF)
        seen = self.explored.setdefault(pc, [])
        keep: list[Explored] = []
        hit = False
        for sl in seen:
            if hit:
                keep.append(sl)
                continue
            if sl.branches:
                # An ancestor still being explored: only an identical state proves a loop.
                if self._maybe_looping(sl.state, self.st) and states_equal(sl.state, self.st, live,
                                                                           exact=True):
                    raise self.fail(M.INFINITE_LOOP, insn=pc)
                if self.jmps_processed - self.prev_jmps < 20 and self.insn_processed - self.prev_insns < 100:
                    add_new = False
            elif states_equal(sl.state, self.st, live, allow_uninit=self.opts.allow_uninit_stack):
                sl.hits += 1
                hit = True
                keep.append(sl)
                continue
            sl.misses += 1
            # The kernel's eviction heuristic: a state that keeps missing is not worth comparing.
            if sl.misses > sl.hits * 3 + 3:
                self.cur_states -= 1
                continue
            keep.append(sl)
        seen[:] = keep
        if hit:
            return True
        if not add_new:
            return False
        self.prev_jmps, self.prev_insns = self.jmps_processed, self.insn_processed
        snap = self.st.copy()
        self.max_states_per_insn = max(self.max_states_per_insn, len(seen))
        node = Explored(snap, 1, self.st.parent)
        self.st.parent = node
        seen.append(node)
        self.total_states += 1
        self.cur_states += 1
        self.peak_states = max(self.peak_states, self.cur_states)
        return False

    @staticmethod
    def _maybe_looping(old: VState, cur: VState) -> bool:
        if len(old.frames) != len(cur.frames):
            return False
        return all(o.type is c.type and o.off == c.off and o.bounds_equal(c)
                   for o, c in zip(old.cur.regs, cur.cur.regs, strict=True))

    # -- registers -----------------------------------------------------------------------------------
    @property
    def regs(self) -> list[RegState]:
        return self.st.cur.regs

    def check_src(self, regno: int) -> RegState:
        """check_reg_arg(SRC_OP)."""
        if regno > 10:
            raise self.fail(M.REG_INVALID, regno=regno)
        self.scratch_reg(regno)
        reg = self.regs[regno]
        if reg.type is RegType.NOT_INIT:
            raise self.fail(M.NOT_READ_OK, regno=regno)
        return reg

    def check_dst(self, regno: int) -> RegState:
        """check_reg_arg(DST_OP_NO_MARK)."""
        if regno > 10:
            raise self.fail(M.REG_INVALID, regno=regno)
        self.scratch_reg(regno)
        if regno == 10:
            raise self.fail(M.FP_READ_ONLY)
        return self.regs[regno]

    def is_pointer_value(self, reg: RegState) -> bool:
        return not self.opts.allow_ptr_leaks and reg.type is not RegType.SCALAR_VALUE

    def new_id(self) -> int:
        self.id_gen += 1
        return self.id_gen

    def assign_scalar_id_before_mov(self, reg: RegState) -> None:
        if reg.type is RegType.SCALAR_VALUE and not reg.id and not reg.var_off.is_const:
            reg.id = self.new_id()

    # -- dispatch --------------------------------------------------------------------------------------
    def step(self, insn: Insn) -> int:
        """Check one instruction; return the next pc, or -1 when the path ends."""
        info = OPCODES[insn.opcode]
        form = info.form
        pc = self.pc
        if info.cls in (Class.JMP, Class.JMP32):
            self.jmps_processed += 1
        if form in (Form.ALU, Form.NEG, Form.END):
            self.check_alu(insn)
            return pc + 1
        if form is Form.LDX:
            self.check_src(insn.src)
            dst = self.check_dst(insn.dst)
            _ = dst
            memory.check_mem_access(self, insn.src, insn.off, info.nbytes, write=False, value_regno=insn.dst,
                                  sx=info.mode is Mode.MEMSX)
            return pc + 1
        if form is Form.STX:
            self.check_src(insn.src)
            self.check_src(insn.dst)
            memory.check_mem_access(self, insn.dst, insn.off, info.nbytes, write=True, value_regno=insn.src)
            return pc + 1
        if form is Form.ST:
            self.check_src(insn.dst)
            memory.check_mem_access(self, insn.dst, insn.off, info.nbytes, write=True, value_regno=-1,
                                  st_imm=insn.imm)
            return pc + 1
        if form is Form.ATOMIC:
            memory.check_atomic(self, insn, info.nbytes)
            return pc + 1
        if form is Form.LD_IMM64:
            self.check_ld_imm(insn)
            return pc + 2
        if form in (Form.LD_ABS, Form.LD_IND):
            self.check_ld_abs(insn, info.nbytes, form is Form.LD_IND)
            return pc + 1
        if form is Form.JA:
            return pc + 1 + (insn.imm if info.cls is Class.JMP32 else insn.off)
        if form is Form.JCOND:
            return self.check_cond_jmp(insn)
        if form is Form.CALL:
            if insn.src == 1:
                return calls.check_pseudo_call(self, insn)
            if insn.src == 2:
                raise self.fail(Message("KFUNC", "calling kernel function is not supported without BTF"))
            calls.check_helper_call(self, insn)
            return pc + 1
        if form is Form.EXIT:
            return calls.check_exit(self)
        raise self.fail(M.UNKNOWN_OPCODE, opcode=insn.opcode)

    # -- ALU -----------------------------------------------------------------------------------------------
    def check_alu(self, insn: Insn) -> None:
        op = insn.alu_op
        is64 = insn.cls is Class.ALU64
        regs = self.regs
        if op in (AluOp.NEG, AluOp.END):
            dst = self.check_src(insn.dst)
            if self.is_pointer_value(dst):
                raise self.fail(M.PTR_ARITH_PROHIBITED, regno=insn.dst)
            self.check_dst(insn.dst)
            if dst.type is RegType.SCALAR_VALUE:
                if op is AluOp.NEG:
                    adjust_scalar_min_max_vals(dst, dst, AluOp.NEG, not is64)
                else:
                    # Byte swaps are not tracked by Linux 6.18 (not in is_safe_to_compute_dst_reg_range).
                    dst.mark_unknown()
            else:
                dst.mark_unknown()
            return
        if op is AluOp.MOV:
            if insn.source is Source.X:
                src = self.check_src(insn.src)
            self.check_dst(insn.dst)
            dst = regs[insn.dst]
            if insn.source is Source.X:
                src = regs[insn.src]
                if is64:
                    if insn.off == 0:
                        self.assign_scalar_id_before_mov(src)
                        dst.copy_from(src)
                    elif self.is_pointer_value(src):
                        raise self.fail(M.SEXT_PTR, regno=insn.src)
                    elif src.is_scalar:
                        no_sext = src.umax < (1 << (insn.off - 1))
                        if no_sext:
                            self.assign_scalar_id_before_mov(src)
                        dst.copy_from(src)
                        if not no_sext:
                            dst.id = 0
                        coerce_reg_to_size_sx(dst, insn.off >> 3)
                    else:
                        dst.mark_unknown()
                else:
                    if self.is_pointer_value(src):
                        raise self.fail(M.PARTIAL_COPY, regno=insn.src)
                    if src.is_scalar:
                        if insn.off == 0:
                            is_u32 = src.umax <= U32 and src.smin >= 0
                            if is_u32:
                                self.assign_scalar_id_before_mov(src)
                            dst.copy_from(src)
                            if not is_u32:
                                dst.id = 0
                        else:
                            dst.copy_from(src)
                            dst.id = 0
                            bits = insn.off
                            if dst.var_off.is_const:
                                v = dst.var_off.value & ((1 << bits) - 1)
                                v = v - (1 << bits) if v >> (bits - 1) else v
                                dst.mark_known(v & U32)
                            else:
                                dst.mark_unknown()
                    else:
                        dst.mark_unknown()
                    zext_32_to_64(dst)
                    reg_bounds_sync(dst)
            else:
                dst.mark_const(insn.imm if is64 else insn.imm & U32)
            return
        if op in (AluOp.DIV, AluOp.MOD) and insn.source is Source.K and insn.imm == 0:
            self.check_src(insn.dst)
            raise self.fail(M.DIV_BY_ZERO)
        if insn.source is Source.X:
            self.check_src(insn.src)
        self.check_src(insn.dst)
        if op in (AluOp.DIV, AluOp.MOD) and insn.source is Source.K and insn.imm == 0:
            raise self.fail(M.DIV_BY_ZERO)
        shift = op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH) and insn.source is Source.K
        if shift and not 0 <= insn.imm < (64 if is64 else 32):
            raise self.fail(M.INVALID_SHIFT, imm=insn.imm)
        self.check_dst(insn.dst)
        self.adjust_reg_min_max_vals(insn, op, is64)

    def adjust_reg_min_max_vals(self, insn: Insn, op: AluOp, is64: bool) -> None:
        regs = self.regs
        dst = regs[insn.dst]
        ptr = dst if dst.type is not RegType.SCALAR_VALUE else None
        if insn.source is Source.X:
            src = regs[insn.src]
            if src.type is not RegType.SCALAR_VALUE:
                if dst.type is not RegType.SCALAR_VALUE:
                    if op is AluOp.SUB and self.opts.allow_ptr_leaks:
                        dst.mark_unknown()
                        return
                    raise self.fail(M.PTR_OP_PTR, regno=insn.dst, op=_ALU_NAMES[op])
                self.adjust_ptr_min_max_vals(insn, op, is64, src, dst)
                return
            if ptr is not None:
                self.adjust_ptr_min_max_vals(insn, op, is64, ptr, src)
                return
            off = src.copy()
        else:
            off = RegState()
            off.mark_const(insn.imm)
            if ptr is not None:
                self.adjust_ptr_min_max_vals(insn, op, is64, ptr, off)
                return
        if not adjust_scalar_min_max_vals(dst, off, op, not is64):
            dst.mark_unknown()
            return
        # BPF_ADD_CONST linking of "r1 = r2; r1 += K" is not tracked yet: drop the link.
        dst.id = 0

    def adjust_ptr_min_max_vals(self, insn: Insn, op: AluOp, is64: bool, ptr: RegState,
                                off: RegState) -> None:
        dst = self.regs[insn.dst]
        known = off.var_off.is_const
        smin_val, smax_val, umin_val, umax_val = off.smin, off.smax, off.umin, off.umax
        if ((known and (smin_val != smax_val or umin_val != umax_val)) or smin_val > smax_val
                or umin_val > umax_val):
            dst.mark_unknown()
            return
        if not is64:
            if op is AluOp.SUB and self.opts.allow_ptr_leaks:
                dst.mark_unknown()
                return
            raise self.fail(M.PTR32_ARITH, regno=insn.dst)
        tname = type_str(ptr)
        if ptr.may_be_null:
            raise self.fail(M.PTR_ARITH_NULL, regno=insn.dst, type=tname)
        t = ptr.type
        ok = t in (RegType.PTR_TO_CTX, RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_STACK,
                   RegType.PTR_TO_PACKET_META, RegType.PTR_TO_PACKET, RegType.PTR_TO_TP_BUFFER,
                   RegType.PTR_TO_BTF_ID, RegType.PTR_TO_MEM, RegType.PTR_TO_BUF, RegType.PTR_TO_FUNC)
        if t is RegType.PTR_TO_FLOW_KEYS and known:
            ok = True
        if t in (RegType.PTR_TO_FLOW_KEYS, RegType.CONST_PTR_TO_MAP) and known and smin_val == 0 \
                and op is AluOp.ADD:
            ok = True
        if not ok:
            raise self.fail(M.PTR_ARITH_ON, regno=insn.dst, type=tname)
        old = ptr.copy()
        self._check_sane_offset(off, old)
        self._check_sane_offset(old, old)
        smin_ptr, smax_ptr, umin_ptr, umax_ptr = old.smin, old.smax, old.umin, old.umax
        res = RegState()
        res.copy_from(old)
        res.mark32_unbounded()
        if op is AluOp.ADD:
            if known and -(1 << 31) <= old.off + smin_val < (1 << 31):
                res.off = old.off + smin_val
            else:
                lo, hi = smin_ptr + smin_val, smax_ptr + smax_val
                res.smin, res.smax = (lo, hi) if lo >= S64_MIN and hi <= (1 << 63) - 1 and lo >= S64_MIN \
                    and hi >= S64_MIN and lo <= (1 << 63) - 1 else (S64_MIN, (1 << 63) - 1)
                ulo, uhi = umin_ptr + umin_val, umax_ptr + umax_val
                res.umin, res.umax = (ulo, uhi) if uhi <= U64 else (0, U64)
                res.var_off = tnum_add(old.var_off, off.var_off)
                if old.is_pkt:
                    res.id = self.new_id()
                    res.range = 0
        elif op is AluOp.SUB:
            if dst is off and off is not ptr:
                raise self.fail(M.SUB_PTR_FROM_SCALAR, regno=insn.dst)
            if t is RegType.PTR_TO_STACK:
                raise self.fail(M.SUB_FROM_STACK, regno=insn.dst)
            if known and -(1 << 31) <= old.off - smin_val < (1 << 31):
                res.off = old.off - smin_val
            else:
                lo, hi = smin_ptr - smax_val, smax_ptr - smin_val
                if lo < S64_MIN or hi > (1 << 63) - 1:
                    lo, hi = S64_MIN, (1 << 63) - 1
                res.smin, res.smax = lo, hi
                if umin_ptr < umax_val:
                    res.umin, res.umax = 0, U64
                else:
                    res.umin, res.umax = umin_ptr - umax_val, umax_ptr - umin_val
                res.var_off = tnum_sub(old.var_off, off.var_off)
                if old.is_pkt:
                    res.id = self.new_id()
                    if smin_val < 0:
                        res.range = 0
        elif op in (AluOp.AND, AluOp.OR, AluOp.XOR):
            raise self.fail(M.BITWISE_PTR, regno=insn.dst, op=_ALU_NAMES[op])
        else:
            raise self.fail(M.PTR_ARITH_OP, regno=insn.dst, op=_ALU_NAMES[op])
        self._check_sane_offset(res, old)
        reg_bounds_sync(res)
        dst.copy_from(res)

    def _check_sane_offset(self, reg: RegState, ptr: RegState) -> None:
        tname = type_str(ptr)
        if reg.var_off.is_const:
            val = s64(reg.var_off.value)
            if val >= BPF_MAX_VAR_OFF or val <= -BPF_MAX_VAR_OFF:
                raise self.fail(M.MATH_PTR_VAL, type=tname, val=val)
        if reg.off >= BPF_MAX_VAR_OFF or reg.off <= -BPF_MAX_VAR_OFF:
            raise self.fail(M.PTR_OFF_BAD, type=tname, off=reg.off)
        if reg.smin == S64_MIN:
            raise self.fail(M.MATH_UNBOUNDED_MIN, type=tname)
        if reg.smin >= BPF_MAX_VAR_OFF or reg.smin <= -BPF_MAX_VAR_OFF:
            raise self.fail(M.VALUE_OOB, val=reg.smin, type=tname)

    # -- LD_IMM64 / LD_ABS -----------------------------------------------------------------------------
    def check_ld_imm(self, insn: Insn) -> None:
        dst = self.check_dst(insn.dst)
        if insn.src == 0:
            dst.mark_const(insn.imm)
            return
        m = self.map_at.get(self.pc)
        if insn.src in (1, 5):
            dst.mark_known_zero_ptr(RegType.CONST_PTR_TO_MAP)
            dst.map = m
        elif insn.src in (2, 6):
            dst.mark_known_zero_ptr(RegType.PTR_TO_MAP_VALUE)
            dst.map = m
            dst.off = insn.imm >> 32
        elif insn.src == 4:
            # check_ld_imm(): callbacks need BTF func_info, which pybpf does not load yet.
            raise self.fail(M.MISSING_FUNC_INFO)
        else:
            raise self.fail(M.UNRECOGNIZED_LDIMM64)

    def check_ld_abs(self, insn: Insn, size: int, ind: bool) -> None:
        if self.ptype not in _LD_ABS_TYPES:
            raise self.fail(M.LDABS_NOT_ALLOWED)
        self.check_src(6)
        if ind:
            self.check_src(insn.src)
        if self.regs[6].type is not RegType.PTR_TO_CTX:
            raise self.fail(Message("LDABS_CTX", "at the time of BPF_LD_ABS|IND R6 != pointer to skb"))
        for i in range(6):
            self.regs[i].mark_not_init()
        self.regs[0].mark_unknown()
        coerce_reg_to_size(self.regs[0], size)

    # -- memory --------------------------------------------------------------------------------------------







    # -- stack ----------------------------------------------------------------------------------





    # -- atomics ---------------------------------------------------------------------------------------------

    # -- jumps ----------------------------------------------------------------------------------
    def check_cond_jmp(self, insn: Insn) -> int:
        op = int(insn.jmp_op)
        is32 = insn.cls is Class.JMP32
        dst = self.check_src(insn.dst)
        if insn.source is Source.X:
            src = self.check_src(insn.src)
            if not (dst.is_pkt_any and src.is_pkt_any) and self.is_pointer_value(src):
                raise self.fail(M.PTR_COMPARISON, regno=insn.src)
        else:
            src = RegState()
            src.mark_const(insn.imm)
        pred = self.is_branch_taken(dst, src, op, is32)
        target = self.pc + 1 + insn.off
        if pred == 1:
            if self.opts.log_level:
                self.print_insn_state()
            return target
        if pred == 0:
            if self.opts.log_level:
                self.print_insn_state()
            return self.pc + 1
        other = self.push_stack(target)
        oregs = other.cur.regs
        if insn.source is Source.X:
            self.reg_set_min_max(oregs[insn.dst], oregs[insn.src], dst, src, op, is32)
        else:
            fake_t, fake_f = src.copy(), src.copy()
            self.reg_set_min_max(oregs[insn.dst], fake_t, dst, fake_f, op, is32)
        if insn.source is Source.X and src.is_scalar and src.id:
            self.sync_linked(self.st, src)
            self.sync_linked(other, oregs[insn.src])
        if dst.is_scalar and dst.id:
            self.sync_linked(self.st, dst)
            self.sync_linked(other, oregs[insn.dst])
        if (not is32 and insn.source is Source.K and insn.imm == 0 and op in (JmpOp.JEQ, JmpOp.JNE)
                and dst.may_be_null):
            self.mark_ptr_or_null_regs(self.st, insn.dst, op == JmpOp.JNE)
            self.mark_ptr_or_null_regs(other, insn.dst, op == JmpOp.JEQ)
        elif not self.try_match_pkt_pointers(insn, dst, src, other) and self.is_pointer_value(dst):
            raise self.fail(M.PTR_COMPARISON, regno=insn.dst)
        if self.opts.log_level:
            self.print_insn_state()
        return self.pc + 1

    def is_branch_taken(self, r1: RegState, r2: RegState, op: int, is32: bool) -> int:
        if r1.is_pkt_any and r2.is_pkt_any and not is32:
            return _pkt_branch_taken(r1, r2, op)
        if r1.is_pointer or r2.is_pointer:
            if not r2.is_const(is32):
                op = flip_opcode(op)
                r1, r2 = r2, r1
            if not r2.is_const(is32) or r2.is_pointer:
                return -1
            if not r1.not_null():
                return -1
            if r2.const_value(is32) != 0:
                return -1
            return 0 if op == JmpOp.JEQ else 1 if op == JmpOp.JNE else -1
        return is_scalar_branch_taken(r1, r2, op, is32)

    def reg_set_min_max(self, t1: RegState, t2: RegState, f1: RegState, f2: RegState, op: int,
                        is32: bool) -> None:
        if not (f1.is_scalar and f2.is_scalar):
            return
        regs_refine_cond_op(f1, f2, rev_opcode(op), is32)
        reg_bounds_sync(f1)
        reg_bounds_sync(f2)
        regs_refine_cond_op(t1, t2, op, is32)
        reg_bounds_sync(t1)
        reg_bounds_sync(t2)

    @staticmethod
    def sync_linked(st: VState, known: RegState) -> None:
        """sync_linked_regs(): scalars sharing an id learn what a branch taught one of them."""
        for r in st.all_regs():
            if r is not known and r.is_scalar and r.id == known.id:
                keep_id = r.id
                r.copy_from(known)
                r.id = keep_id

    def mark_ptr_or_null_regs(self, st: VState, regno: int, is_null: bool) -> None:
        reg = st.cur.regs[regno]
        ref, pid = reg.ref_obj_id, reg.id
        if ref and ref == pid and is_null:
            st.refs = [(i, a) for i, a in st.refs if i != ref]
        for r in st.all_regs():
            if r.may_be_null and r.id == pid:
                if is_null:
                    r.mark_const(0)
                    continue
                r.flags &= ~TypeFlag.PTR_MAYBE_NULL
                r.id = 0

    def try_match_pkt_pointers(self, insn: Insn, dst: RegState, src: RegState, other: VState) -> bool:
        if insn.source is not Source.X or insn.cls is Class.JMP32:
            return False
        op = insn.jmp_op
        this = self.st
        P, E, META = RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_END, RegType.PTR_TO_PACKET_META

        def init_pkt(r: RegState) -> bool:
            return r.type is P and r.off == 0 and r.var_off.is_const and r.var_off.value == 0

        left = (dst.type is P and src.type is E) or (dst.type is META and init_pkt(src))
        right = (dst.type is E and src.type is P) or (init_pkt(dst) and src.type is META)
        # try_match_pkt_pointers: which branch learns the packet range, and whether the
        # range may include data_end; "data_end <op> pkt" is "pkt <flipped op> data_end".
        if op not in _PKT_CMP:
            return False
        if left:
            reg, regno, row = dst, insn.dst, _PKT_CMP[op]
        elif right:
            reg, regno, row = src, insn.src, _PKT_CMP[JmpOp(flip_opcode(op))]
        else:
            return False
        in_taken, include_end = row
        good, bad = (this, other) if in_taken else (other, this)
        _find_good(good, reg, include_end)
        _mark_pkt_end(bad, regno, not include_end)
        return True

    # -- calls ----------------------------------------------------------------------------------
