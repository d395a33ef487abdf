"""Memory accesses: ``check_mem_access()`` and its helpers for stack, ctx, map values, packets and
memory regions, plus atomics.  Functions take the :class:`~.checker.Checker` as ``ck``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..isa import Insn
from ..platform.types import RegType, TypeFlag
from .bounds import (
    S64_MIN,
    coerce_reg_to_size,
    coerce_reg_to_size_sx,
    s32,
    s64,
)
from .common import (
    _PKT_READ_TYPES,
    _PKT_WRITE_TYPES,
    _SK_TYPES,
    _SPILLABLE,
    BPF_MAX_VAR_OFF,
    Reject,
    _narrow_ok,
    _reg_width,
    _tn,
)
from .log import type_str
from .messages import M, Message
from .regstate import RegState
from .stack import MAX_BPF_STACK, SlotKind
from .state import FuncState
from .tnum import U32, Tnum, tnum_add

if TYPE_CHECKING:
    from .checker import Checker


def check_ptr_alignment(ck: Checker, reg: RegState, off: int, size: int, strict_once: bool = False) -> None:
    strict = ck.opts.strict_alignment or strict_once
    t = reg.type
    if reg.is_pkt:
        if not strict or size == 1:
            return
        reg_off = tnum_add(reg.var_off, Tnum.const(2 + reg.off + off))
        if not reg_off.is_aligned(size):
            raise ck.fail(M.MISALIGNED_PKT, ip=2, var_off=_tn(reg.var_off), off=reg.off, extra=off,
                            size=size)
        return
    desc = {RegType.PTR_TO_FLOW_KEYS: "flow keys ", RegType.PTR_TO_MAP_KEY: "key ",
            RegType.PTR_TO_MAP_VALUE: "value ", RegType.PTR_TO_CTX: "context ",
            RegType.PTR_TO_STACK: "stack ", RegType.PTR_TO_SOCKET: "sock ",
            RegType.PTR_TO_SOCK_COMMON: "sock_common ", RegType.PTR_TO_TCP_SOCK: "tcp_sock ",
            RegType.PTR_TO_XDP_SOCK: "xdp_sock "}.get(t, "")
    if t is RegType.PTR_TO_STACK:
        strict = True
    if not strict or size == 1:
        return
    reg_off = tnum_add(reg.var_off, Tnum.const(reg.off + off))
    if not reg_off.is_aligned(size):
        raise ck.fail(M.MISALIGNED, desc=desc, var_off=_tn(reg.var_off), off=reg.off, extra=off,
                        size=size)


def mem_err(ck: Checker, regno: int, off: int, size: int, mem_size: int) -> Reject:
    reg = ck.regs[regno]
    if reg.type is RegType.PTR_TO_MAP_KEY:
        return ck.fail(M.MAP_KEY_ACCESS, size=mem_size, off=off, access=size)
    if reg.type is RegType.PTR_TO_MAP_VALUE:
        return ck.fail(M.MAP_VALUE_ACCESS, size=mem_size, off=off, access=size)
    if reg.is_pkt_any:
        return ck.fail(M.PKT_ACCESS, off=off, size=size, regno=regno, id=reg.id, range=mem_size)
    return ck.fail(M.MEM_ACCESS, size=mem_size & U32, off=off, access=size)


def _mem_ok(ck: Checker, off: int, size: int, mem_size: int, zero_ok: bool) -> bool:
    size_ok = size > 0 or (size == 0 and zero_ok)
    return off >= 0 and size_ok and off + size <= mem_size


def check_mem_region_access(ck: Checker, regno: int, off: int, size: int, mem_size: int,
                            zero_ok: bool) -> None:
    reg = ck.regs[regno]
    if reg.smin < 0 and (reg.smin == S64_MIN or off + reg.smin != s32(off + reg.smin)
                         or reg.smin + off < 0):
        raise ck.fail(M.MIN_NEGATIVE, regno=regno)
    if not _mem_ok(ck, reg.smin + off, size, mem_size, zero_ok):
        err = mem_err(ck, regno, reg.smin + off, size, mem_size)
        ck.note(M.MIN_OUTSIDE, regno=regno)
        raise err
    if reg.umax >= BPF_MAX_VAR_OFF:
        raise ck.fail(M.UNBOUNDED_ACCESS, regno=regno)
    if not _mem_ok(ck, reg.umax + off, size, mem_size, zero_ok):
        err = mem_err(ck, regno, reg.umax + off, size, mem_size)
        ck.note(M.MAX_OUTSIDE, regno=regno)
        raise err


def check_packet_access(ck: Checker, regno: int, off: int, size: int, zero_ok: bool) -> None:
    reg = ck.regs[regno]
    if reg.smin < 0:
        raise ck.fail(M.MIN_NEGATIVE, regno=regno)
    if reg.range < 0:
        raise ck.fail(M.PKT_OUTSIDE, regno=regno)
    if not _mem_ok(ck, off, size, reg.range, zero_ok):
        err = mem_err(ck, regno, off, size, reg.range)
        ck.note(M.PKT_OUTSIDE, regno=regno)
        raise err


def may_access_direct_pkt_data(ck: Checker, write: bool) -> bool:
    if write:
        return ck.ptype in _PKT_WRITE_TYPES
    return ck.ptype in _PKT_READ_TYPES


def check_mem_access(ck: Checker, regno: int, off: int, size: int, *, write: bool, value_regno: int,
                     sx: bool = False, st_imm: int | None = None, strict_once: bool = False) -> None:
    regs = ck.regs
    reg = regs[regno]
    check_ptr_alignment(ck, reg, off, size, strict_once)
    off += reg.off
    t = reg.type
    val = regs[value_regno] if value_regno >= 0 else None
    if t is RegType.PTR_TO_MAP_KEY:
        if write:
            raise ck.fail(M.WRITE_TO_KEY, regno=regno)
        assert reg.map is not None
        check_mem_region_access(ck, regno, off, size, reg.map.key_size, False)
        if value_regno >= 0:
            regs[value_regno].mark_unknown()
    elif t is RegType.PTR_TO_MAP_VALUE and not reg.may_be_null:
        if write and val is not None and ck.is_pointer_value(val):
            raise ck.fail(M.LEAKS_INTO, regno=value_regno, where="map")
        assert reg.map is not None
        check_mem_region_access(ck, regno, off, size, reg.map.value_size, False)
        if not write and value_regno >= 0:
            regs[value_regno].mark_unknown()
    elif t is RegType.PTR_TO_MEM:
        if reg.may_be_null:
            raise ck.fail(M.INVALID_MEM_ACCESS, regno=regno, type=type_str(reg))
        if write and TypeFlag.MEM_RDONLY in reg.flags:
            raise ck.fail(M.CANNOT_WRITE_INTO, regno=regno, type=type_str(reg))
        if write and val is not None and ck.is_pointer_value(val):
            raise ck.fail(M.LEAKS_INTO, regno=value_regno, where="mem")
        check_mem_region_access(ck, regno, off, size, reg.mem_size, False)
        if not write and value_regno >= 0:
            regs[value_regno].mark_unknown()
    elif t is RegType.PTR_TO_CTX:
        if write and val is not None and ck.is_pointer_value(val):
            raise ck.fail(M.LEAKS_INTO, regno=value_regno, where="ctx")
        if reg.off:
            raise ck.fail(M.MODIFIED_CTX, type="ctx", regno=regno, off=reg.off)
        if not reg.var_off.is_const or reg.var_off.value:
            raise ck.fail(M.VARIABLE_PTR, type="ctx", var_off=reg.var_off)
        acc = ck.platform.ctx_access(ck.ptype, off, size, write, attach=ck.opts.attach) \
            if ck.info.ctx is not None else None
        if acc is None or not acc.ok:
            raise ck.fail(M.CTX_ACCESS, off=off, size=size)
        if not write and value_regno >= 0:
            dst = regs[value_regno]
            if acc.reg_type is RegType.SCALAR_VALUE:
                dst.mark_unknown()
            else:
                dst.mark_known_zero_ptr(acc.reg_type, acc.reg_flags)
                if TypeFlag.PTR_MAYBE_NULL in acc.reg_flags:
                    dst.id = ck.new_id()
    elif t is RegType.PTR_TO_STACK:
        check_stack_access_within_bounds(ck, regno, off, size, write)
        if write:
            check_stack_write(ck, regno, off, size, value_regno, st_imm)
        else:
            check_stack_read(ck, regno, off, size, value_regno)
    elif reg.is_pkt:
        if write and not may_access_direct_pkt_data(ck, True):
            raise ck.fail(M.CANNOT_WRITE_PKT)
        if write and val is not None and ck.is_pointer_value(val):
            raise ck.fail(M.LEAKS_INTO, regno=value_regno, where="packet")
        check_packet_access(ck, regno, off, size, False)
        if not write and value_regno >= 0:
            regs[value_regno].mark_unknown()
    elif t in _SK_TYPES and not reg.may_be_null:
        if write:
            raise ck.fail(M.CANNOT_WRITE_INTO, regno=regno, type=type_str(reg))
        from ..platform.contexts import bpf_sock_is_valid_access
        if reg.off or not reg.var_off.is_const or reg.var_off.value:
            raise ck.fail(Message("SOCK_OFF", "R{regno} invalid {type} access off={off} size={size}"),
                            regno=regno, type=type_str(reg), off=off, size=size)
        if not bpf_sock_is_valid_access(off, size, False).ok:
            raise ck.fail(Message("SOCK_ACCESS",
                                    "R{regno} invalid {type} access off={off} size={size}"),
                            regno=regno, type=type_str(reg), off=off, size=size)
        if value_regno >= 0:
            regs[value_regno].mark_unknown()
    else:
        raise ck.fail(M.INVALID_MEM_ACCESS, regno=regno, type=type_str(reg))
    if not write and value_regno >= 0 and size < 8 and regs[value_regno].is_scalar:
        if sx:
            dst = regs[value_regno]
            dst.mark_unknown()
            coerce_reg_to_size_sx(dst, size)
        else:
            coerce_reg_to_size(regs[value_regno], size)


def check_stack_access_within_bounds(ck: Checker, regno: int, off: int, size: int, write: bool) -> None:
    reg = ck.regs[regno]
    rw = " write to" if write else " read from"
    frame = ck.st.frames[reg.frameno]
    if reg.var_off.is_const:
        min_off = s64(reg.var_off.value) + off
        max_off = min_off + size
    else:
        if reg.smax >= BPF_MAX_VAR_OFF or reg.smin <= -BPF_MAX_VAR_OFF:
            raise ck.fail(M.UNBOUNDED_VAR_STACK, rw=rw, regno=regno)
        min_off = reg.smin + off
        max_off = reg.smax + off + size
    min_valid = -MAX_BPF_STACK if write or ck.opts.allow_uninit_stack else -frame.stack.allocated
    bad = min_off < min_valid or min_off > -1 or max_off > 0 or size < 0
    if bad:
        if reg.var_off.is_const:
            raise ck.fail(M.INVALID_STACK, rw=rw, regno=regno, off=off, size=size)
        raise ck.fail(M.INVALID_VAR_STACK, rw=rw, regno=regno, var_off=reg.var_off, off=off, size=size)
    frame.stack.grow(-min_off)
    ck.stack_depth[frame.subprog] = max(ck.stack_depth.get(frame.subprog, 0), -min_off)


def check_stack_write(ck: Checker, regno: int, off: int, size: int, value_regno: int,
                      st_imm: int | None) -> None:
    reg = ck.regs[regno]
    frame = ck.st.frames[reg.frameno]
    if not reg.var_off.is_const:
        _stack_write_var(ck, frame, reg, off, size, value_regno)
        return
    off = s64(reg.var_off.value) + off
    stack = frame.stack
    spi = (-off - 1) // 8
    slot = stack.slot(spi)
    val = ck.regs[value_regno] if value_regno >= 0 else None
    if not ck.opts.allow_ptr_leaks and slot.is_spill and not slot.spilled.is_scalar and size != 8:
        raise ck.fail(M.CORRUPT_SPILL)
    ck.scratch_slot(spi)
    aligned = off % 8 == 0
    if val is not None and aligned and val.is_scalar and ck.opts.bpf_capable:
        fits = _reg_width(val) <= 8 * size
        if fits:
            ck.assign_scalar_id_before_mov(val)
        _save_reg(slot, val, size)
        if not fits:
            slot.spilled.id = 0
    elif val is None and aligned and st_imm is not None and ck.opts.bpf_capable:
        tmp = RegState()
        tmp.mark_const(st_imm)
        _save_reg(slot, tmp, size)
    elif val is not None and val.type in _SPILLABLE:
        if size != 8:
            raise ck.fail(M.SPILL_SIZE)
        if frame is not ck.st.cur and val.type is RegType.PTR_TO_STACK:
            raise ck.fail(M.CALLER_SPILL)
        _save_reg(slot, val, size)
    else:
        slot.spilled.mark_not_init()
        if slot.is_spill:
            slot.kinds = [SlotKind.MISC if k is SlotKind.SPILL else k for k in slot.kinds]
        zero = (val is not None and val.is_null) or (val is None and st_imm == 0)
        kind = SlotKind.ZERO if zero else SlotKind.MISC
        for i in range(size):
            b = off + i
            sp, idx = divmod(-b - 1, 8)
            stack.slot(sp).kinds[idx] = kind


def _save_reg(slot: object, reg: RegState, size: int) -> None:
    from .stack import StackSlot
    assert isinstance(slot, StackSlot)
    slot.spilled.copy_from(reg)
    for i in range(8, 8 - size, -1):
        slot.kinds[i - 1] = SlotKind.SPILL
    for i in range(8 - size, 0, -1):
        if slot.kinds[i - 1] not in (SlotKind.ZERO, SlotKind.INVALID):
            slot.kinds[i - 1] = SlotKind.MISC


def _stack_write_var(ck: Checker, frame: FuncState, reg: RegState, off: int, size: int,
                     value_regno: int) -> None:
    """check_stack_write_var_off(): every byte it may hit becomes MISC (or ZERO for zeros)."""
    val = ck.regs[value_regno] if value_regno >= 0 else None
    lo = reg.smin + off
    hi = reg.smax + off + size
    zero = val is not None and val.is_null
    for b in range(lo, hi):
        sp, idx = divmod(-b - 1, 8)
        slot = frame.stack.slot(sp)
        if slot.is_spill:
            slot.spilled.mark_not_init()
            slot.kinds = [SlotKind.MISC if k is SlotKind.SPILL else k for k in slot.kinds]
        k = slot.kinds[idx]
        if k is SlotKind.INVALID and not ck.opts.allow_uninit_stack:
            raise ck.fail(Message("UNINIT_VAR_WRITE",
                                    "uninit stack in range of var-offset write prohibited for !root; "
                                    "insn {insn}, off: {off}"), insn=ck.pc, off=b)
        if not (zero and k is SlotKind.ZERO):
            slot.kinds[idx] = SlotKind.MISC


def check_stack_read(ck: Checker, regno: int, off: int, size: int, dst_regno: int) -> None:
    reg = ck.regs[regno]
    frame = ck.st.frames[reg.frameno]
    if not reg.var_off.is_const:
        if not ck.opts.bypass_spec_v1:
            raise ck.fail(M.VAR_STACK_NOT_ROOT, regno=regno, var_off=reg.var_off)
        lo, hi = reg.smin + off, reg.smax + off + size
        zeros = True
        for b in range(lo, hi):
            k = frame.stack.kind_at(b)
            if k is SlotKind.ZERO:
                continue
            zeros = False
            uninit_ok = k is SlotKind.INVALID and ck.opts.allow_uninit_stack
            if k in (SlotKind.MISC, SlotKind.SPILL) or uninit_ok:
                continue
            raise ck.fail(Message("VAR_READ_STACK",
                                    "invalid variable-offset read from stack R{regno} var_off={var_off} "
                                    "off={off} size={size}"), regno=regno, var_off=reg.var_off, off=off,
                            size=size)
        if dst_regno >= 0:
            if zeros:
                ck.regs[dst_regno].mark_const(0)
            else:
                ck.regs[dst_regno].mark_unknown()
        return
    off = s64(reg.var_off.value) + off
    spi = (-off - 1) // 8
    stack = frame.stack
    slot = stack.slot(spi)
    ck.scratch_slot(spi)
    dst = ck.regs[dst_regno] if dst_regno >= 0 else None
    if slot.is_spill:
        spilled = slot.spilled
        spill_size = 1
        i = 7
        while i > 0 and slot.kinds[i - 1] is SlotKind.SPILL:
            spill_size += 1
            i -= 1
        if size != 8 or spill_size != 8:
            if not spilled.is_scalar:
                raise ck.fail(M.FILL_SIZE)
            if dst is None:
                return
            if size <= spill_size and _narrow_ok(off, size, spill_size):
                dst.copy_from(spilled)
                if _reg_width(spilled) > size * 8:
                    dst.id = 0
            else:
                spill_cnt = zero_cnt = 0
                for i in range(size):
                    k = stack.kind_at(off + i)
                    if k is SlotKind.SPILL:
                        spill_cnt += 1
                    elif k is SlotKind.ZERO:
                        zero_cnt += 1
                    elif k is SlotKind.MISC or (k is SlotKind.INVALID and ck.opts.allow_uninit_stack):
                        continue
                    else:
                        raise ck.fail(M.INVALID_READ_STACK, off=off, i=i, size=size)
                spilled_zero = spilled.var_off.is_const and spilled.var_off.value == 0
                if (spill_cnt == size and spilled_zero) or zero_cnt == size:
                    dst.mark_const(0)
                else:
                    dst.mark_unknown()
        elif dst is not None:
            dst.copy_from(spilled)
        elif ck.is_pointer_value(spilled):
            raise ck.fail(M.LEAK_FROM_STACK, off=off)
        return
    zero_bytes = 0
    for i in range(size):
        k = stack.kind_at(off + i)
        if k is SlotKind.MISC:
            continue
        if k is SlotKind.ZERO:
            zero_bytes += 1
            continue
        if k is SlotKind.INVALID and ck.opts.allow_uninit_stack:
            continue
        raise ck.fail(M.INVALID_READ_STACK, off=off, i=i, size=size)
    if dst is not None:
        if zero_bytes == size:
            dst.mark_const(0)
        else:
            dst.mark_unknown()


def check_atomic(ck: Checker, insn: Insn, size: int) -> None:
    ck.check_src(insn.src)
    ck.check_src(insn.dst)
    if insn.imm == 0xF1:
        ck.check_src(0)
    src = ck.regs[insn.src]
    if ck.is_pointer_value(src):
        raise ck.fail(Message("ATOMIC_LEAK", "R{regno} leaks addr into mem"), regno=insn.src)
    dst = ck.regs[insn.dst]
    if dst.type in (RegType.PTR_TO_CTX, RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META,
                    RegType.PTR_TO_FLOW_KEYS) or dst.type in _SK_TYPES:
        raise ck.fail(Message("ATOMIC_TYPE", "BPF_ATOMIC stores into R{regno} {type} is not allowed"),
                        regno=insn.dst, type=type_str(dst))
    load_reg = 0 if insn.imm == 0xF1 else (insn.src if insn.imm & 1 else -1)
    check_mem_access(ck, insn.dst, insn.off, size, write=False, value_regno=-1, strict_once=True)
    check_mem_access(ck, insn.dst, insn.off, size, write=True, value_regno=-1, strict_once=True)
    if load_reg >= 0:
        ck.regs[load_reg].mark_unknown()
        if size < 8:
            coerce_reg_to_size(ck.regs[load_reg], size)
