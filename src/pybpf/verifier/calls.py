"""Calls and exits: helper calls checked from their prototypes (``check_helper_call()``,
``check_func_arg()``), reference tracking, bpf-to-bpf calls and ``BPF_EXIT``.
Functions take the :class:`~.checker.Checker` as ``ck``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..isa import Insn
from ..isa.helper_ids import HelperId
from ..maps.spec import MapType
from ..platform.helpers import HelperProto
from ..platform.types import ArgSpec, ArgType, RegType, RetType, TypeFlag, reg_type_str
from . import memory
from .bounds import (
    S64_MIN,
    reg_bounds_sync,
    s64,
)
from .common import (
    _COMPATIBLE,
    _OFF_OK,
    BPF_MAX_VAR_SIZ,
    MAX_CALL_FRAMES,
    Meta,
    Reject,
)
from .log import type_str
from .messages import M, Message
from .regstate import RegState
from .stack import SlotKind
from .state import FuncState, VState

if TYPE_CHECKING:
    from .checker import Checker


def check_pseudo_call(ck: Checker, insn: Insn) -> int:
    target = ck.pc + 1 + insn.imm
    if len(ck.st.frames) >= MAX_CALL_FRAMES:
        raise ck.fail(M.CALL_STACK_TOO_DEEP, frames=len(ck.st.frames) + 1)
    caller = ck.st.cur
    callee = FuncState(len(ck.st.frames), ck.pc, ck.subprogs.index(target)
                       if target in ck.subprogs else 0)
    for i in range(1, 6):
        callee.regs[i].copy_from(caller.regs[i])
    callee.regs[10].mark_known_zero_ptr(RegType.PTR_TO_STACK)
    callee.regs[10].frameno = callee.frameno
    for i in range(6):
        caller.regs[i].mark_not_init()
    ck.st.frames.append(callee)
    ck.all_scratched = True
    if ck.opts.log_level:
        ck.log.write("caller:\n" + ck.state_text(VState(ck.st.frames[:-1]), True)
                       + "callee:\n" + ck.state_text(ck.st, True))
    return target


def check_exit(ck: Checker) -> int:
    if ck.st.refs and len(ck.st.frames) == 1:
        ck.check_src(0)
    if len(ck.st.frames) > 1:
        callee = ck.st.frames[-1]
        # prepare_func_exit() passes R0 back as it is, even NOT_INIT (Linux 6.18).
        r0 = callee.regs[0]
        if r0.type is RegType.PTR_TO_STACK and r0.frameno == callee.frameno:
            raise ck.fail(Message("RET_STACK", "cannot return stack pointer to the caller"))
        ck.st.frames.pop()
        caller = ck.st.cur
        caller.regs[0].copy_from(r0)
        if ck.opts.log_level:
            ck.log.write("returning from callee:\n" + ck.state_text(VState([callee]), True)
                           + "to caller at " + str(callee.callsite + 1) + ":\n"
                           + ck.state_text(ck.st, True))
        ck.all_scratched = True
        return callee.callsite + 1
    if ck.st.refs:
        for rid, at in ck.st.refs:
            ck.note(M.UNRELEASED, id=rid, insn=at)
        rid, at = ck.st.refs[0]
        raise Reject(M.UNRELEASED.format(id=rid, insn=at), M.UNRELEASED.code, ck.pc)
    r0 = ck.check_src(0)
    if ck.is_pointer_value(r0):
        raise ck.fail(M.LEAKS_RETURN, regno=0)
    rng = ck.platform.return_range(ck.ptype, ck.opts.attach)
    if rng is not None:
        if r0.type is not RegType.SCALAR_VALUE:
            raise ck.fail(M.RET_NOT_KNOWN, regno=0, type=type_str(r0))
        lo, hi = rng
        if not (r0.smin >= lo and r0.smax <= hi):
            desc = ""
            if r0.smin > S64_MIN:
                desc += f" smin={r0.smin}"
            if r0.smax < (1 << 63) - 1:
                desc += f" smax={r0.smax}"
            if not desc:
                desc = " unknown scalar value"
            raise ck.fail(M.RET_RANGE, desc=desc, lo=lo, hi=hi)
    return -1


def check_helper_call(ck: Checker, insn: Insn) -> None:
    fid = insn.imm
    try:
        hid = HelperId(fid)
    except ValueError:
        raise ck.fail(M.INVALID_FUNC, name="unknown", id=fid) from None
    try:
        proto = ck.platform.helper_proto(ck.ptype, fid)
    except KeyError:
        proto = None
    if proto is None:
        raise ck.fail(M.HELPER_NOT_ALLOWED, name=f"bpf_{hid.name}", id=fid)
    if proto.gpl_only and not ck.opts.gpl:
        raise ck.fail(M.GPL_ONLY)
    meta = Meta()
    for i, arg in enumerate(proto.args):
        check_func_arg(ck, i + 1, arg, proto, meta)
    if hid is HelperId.tail_call and (meta.map is None or meta.map.type is not MapType.PROG_ARRAY):
        # record_func_key(): the kernel prints this one without a newline.
        text = M.TAIL_CALL_MAP.format()
        ck.log.write(text)
        raise Reject(text, M.TAIL_CALL_MAP.code, ck.pc)
    if meta.raw_mode:
        for i in range(meta.access_size):
            memory.check_mem_access(ck, meta.regno, i, 1, write=True, value_regno=-1)
    regs = ck.regs
    if meta.release_regno:
        if meta.ref_obj_id:
            release_reference(ck, meta.ref_obj_id)
        elif not regs[meta.release_regno].is_null:
            raise ck.fail(M.NOT_ACQUIRED, name=proto.name, id=fid)
    for i in range(6):
        regs[i].mark_not_init()
        ck.scratch_reg(i)
    if meta.map is not None:
        bad = ck.platform.map_func_incompatibility(int(meta.map.type), fid)
        if bad is not None:
            raise ck.fail(Message("MAP_FUNC", bad))
    r0 = regs[0]
    ret = proto.ret
    flags = ret.flags
    if ret.type is RetType.RET_INTEGER:
        r0.mark_unknown()
    elif ret.type is RetType.RET_VOID:
        r0.mark_not_init()
    elif ret.type is RetType.RET_PTR_TO_MAP_VALUE:
        r0.mark_known_zero_ptr(RegType.PTR_TO_MAP_VALUE)
        r0.map = meta.map
        if (hid is HelperId.map_lookup_elem and meta.map is not None
                and meta.map.type in (MapType.ARRAY, MapType.PERCPU_ARRAY)
                and 0 <= meta.const_map_key < meta.map.max_entries):
            flags &= ~TypeFlag.PTR_MAYBE_NULL
        r0.flags = flags & (TypeFlag.PTR_MAYBE_NULL | TypeFlag.MEM_RDONLY)
    elif ret.type is RetType.RET_PTR_TO_SOCKET:
        r0.mark_known_zero_ptr(RegType.PTR_TO_SOCKET, flags & TypeFlag.PTR_MAYBE_NULL)
    elif ret.type is RetType.RET_PTR_TO_SOCK_COMMON:
        r0.mark_known_zero_ptr(RegType.PTR_TO_SOCK_COMMON, flags & TypeFlag.PTR_MAYBE_NULL)
    elif ret.type is RetType.RET_PTR_TO_TCP_SOCK:
        r0.mark_known_zero_ptr(RegType.PTR_TO_TCP_SOCK, flags & TypeFlag.PTR_MAYBE_NULL)
    elif ret.type is RetType.RET_PTR_TO_MEM:
        r0.mark_known_zero_ptr(RegType.PTR_TO_MEM, flags & (TypeFlag.PTR_MAYBE_NULL | TypeFlag.MEM_RINGBUF
                                                             | TypeFlag.MEM_RDONLY))
        r0.mem_size = meta.mem_size
    else:
        r0.mark_unknown()
    if r0.may_be_null:
        r0.id = ck.new_id()
    if proto.ptr_cast:
        r0.ref_obj_id = meta.ref_obj_id
    elif proto.acquires_with(int(meta.map.type) if meta.map is not None else None):
        rid = ck.new_id()
        ck.st.refs.append((rid, ck.pc))
        r0.id = rid
        r0.ref_obj_id = rid
    if r0.is_scalar and hid in (HelperId.get_stack, HelperId.get_task_stack, HelperId.probe_read_str,
                                HelperId.probe_read_kernel_str, HelperId.probe_read_user_str):
        r0.smax = min(r0.smax, meta.msize_max)
        r0.s32_max = min(r0.s32_max, meta.msize_max)
        reg_bounds_sync(r0)
    elif r0.is_scalar and hid is HelperId.get_smp_processor_id:
        r0.umax = r0.u32_max = 8191  # nr_cpu_ids - 1 is machine-specific; upper bound
        r0.smax = r0.s32_max = 8191
        r0.smin = r0.s32_min = 0
        r0.umin = r0.u32_min = 0
        r0.mark_unknown()
    if proto.changes_pkt_data:
        for r in ck.st.all_regs():
            if r.is_pkt_any:
                if ck.opts.allow_ptr_leaks:
                    r.mark_unknown()
                else:
                    r.mark_not_init()


def release_reference(ck: Checker, ref: int) -> None:
    if not any(i == ref for i, _ in ck.st.refs):
        raise ck.fail(Message("REF_GONE", "verifier internal error: reference {id} not found"), id=ref)
    ck.st.refs = [(i, a) for i, a in ck.st.refs if i != ref]
    for r in ck.st.all_regs():
        if r.ref_obj_id == ref:
            if ck.opts.allow_ptr_leaks:
                r.mark_unknown()
            else:
                r.mark_not_init()


def check_func_arg(ck: Checker, regno: int, arg: ArgSpec, proto: HelperProto, meta: Meta) -> None:
    at = arg.type
    if at is ArgType.ARG_DONTCARE:
        return
    reg = ck.check_src(regno)
    if at is ArgType.ARG_ANYTHING:
        if ck.is_pointer_value(reg):
            raise ck.fail(M.LEAKS_INTO_HELPER, regno=regno)
        return
    if reg.is_pkt and not (proto.pkt_access and memory.may_access_direct_pkt_data(ck, False)):
        raise ck.fail(M.HELPER_PKT)
    skip_type = reg.is_null and arg.may_be_null
    if not skip_type:
        check_reg_type(ck, regno, reg, arg)
        if reg.type not in _OFF_OK:
            if arg.is_release and reg.off:
                raise ck.fail(M.RELEASE_OFF, regno=regno)
            if reg.off:
                raise ck.fail(M.MODIFIED_PTR_ARG, type=type_str(reg), regno=regno, off=reg.off)
            if not reg.var_off.is_const or reg.var_off.value:
                raise ck.fail(M.VARIABLE_PTR, type=type_str(reg), var_off=reg.var_off)
        elif arg.is_release and reg.off:
            raise ck.fail(M.RELEASE_OFF, regno=regno)
    if arg.is_release:
        if not reg.ref_obj_id and not reg.is_null:
            raise ck.fail(M.MUST_BE_REFERENCED, regno=regno)
        meta.release_regno = regno
    if reg.ref_obj_id:
        if meta.ref_obj_id:
            raise ck.fail(Message("TWO_REFS", "more than one arg with ref_obj_id R{regno} {a} {b}"),
                            regno=regno, a=reg.ref_obj_id, b=meta.ref_obj_id)
        meta.ref_obj_id = reg.ref_obj_id
    if at is ArgType.ARG_CONST_MAP_PTR:
        meta.map = reg.map
    elif at is ArgType.ARG_PTR_TO_MAP_KEY:
        if meta.map is None:
            raise ck.fail(M.MAP_PTR_KEY)
        check_helper_mem_access(ck, regno, meta.map.key_size, False, False, None)
        if meta.map.type in (MapType.ARRAY, MapType.PERCPU_ARRAY):
            meta.const_map_key = get_constant_map_key(ck, reg, meta.map.key_size)
    elif at is ArgType.ARG_PTR_TO_MAP_VALUE:
        if arg.may_be_null and reg.is_null:
            return
        if meta.map is None:
            raise ck.fail(M.MAP_PTR_VALUE)
        meta.raw_mode = TypeFlag.MEM_UNINIT in arg.flags
        check_helper_mem_access(ck, regno, meta.map.value_size, TypeFlag.MEM_WRITE in arg.flags, False,
                                     meta)
    elif at is ArgType.ARG_PTR_TO_MEM:
        meta.raw_mode = TypeFlag.MEM_UNINIT in arg.flags
        if TypeFlag.MEM_FIXED_SIZE in arg.flags:
            check_helper_mem_access(ck, regno, arg.size, TypeFlag.MEM_WRITE in arg.flags, False, meta)
            if TypeFlag.MEM_ALIGNED in arg.flags:
                memory.check_ptr_alignment(ck, reg, 0, arg.size, True)
    elif at in (ArgType.ARG_CONST_SIZE, ArgType.ARG_CONST_SIZE_OR_ZERO):
        prev = proto.args[regno - 2]
        write = TypeFlag.MEM_WRITE in prev.flags
        meta.msize_max = reg.umax
        use_meta = meta if reg.var_off.is_const else None
        if reg.smin < 0:
            raise ck.fail(M.SIZE_NEGATIVE, regno=regno)
        zero_ok = at is ArgType.ARG_CONST_SIZE_OR_ZERO
        if reg.umin == 0 and not zero_ok:
            raise ck.fail(M.ZERO_SIZE, regno=regno, umin=s64(reg.umin), umax=s64(reg.umax))
        if reg.umax >= BPF_MAX_VAR_SIZ:
            raise ck.fail(M.SIZE_UNBOUNDED, regno=regno)
        if use_meta is None:
            meta.raw_mode = False
        check_helper_mem_access(ck, regno - 1, reg.umax, write, zero_ok, use_meta)
    elif at is ArgType.ARG_CONST_ALLOC_SIZE_OR_ZERO:
        if not reg.var_off.is_const:
            raise ck.fail(M.NOT_CONST, regno=regno)
        meta.mem_size = reg.var_off.value


def check_reg_type(ck: Checker, regno: int, reg: RegState, arg: ArgSpec) -> None:
    compatible = _COMPATIBLE.get(arg.type)
    if compatible is None:
        raise ck.fail(Message("UNSUPPORTED_ARG", "verifier internal error: unsupported arg type {t}"),
                        t=arg.raw)
    flags = reg.flags
    if TypeFlag.MEM_RDONLY in arg.flags:
        flags &= ~TypeFlag.MEM_RDONLY
    if arg.may_be_null:
        flags &= ~TypeFlag.PTR_MAYBE_NULL
    if (reg.type, flags) in compatible:
        return
    expected = ", ".join(reg_type_str(t, f) for t, f in compatible)
    raise ck.fail(M.ARG_TYPE, regno=regno, type=type_str(reg), expected=expected)


def check_helper_mem_access(ck: Checker, regno: int, size: int, write: bool, zero_ok: bool,
                            meta: Meta | None) -> None:
    reg = ck.regs[regno]
    t = reg.type
    if reg.is_pkt:
        memory.check_packet_access(ck, regno, reg.off, size, zero_ok)
    elif t is RegType.PTR_TO_MAP_KEY:
        if write:
            raise ck.fail(M.CANNOT_WRITE_INTO, regno=regno, type=type_str(reg))
        assert reg.map is not None
        memory.check_mem_region_access(ck, regno, reg.off, size, reg.map.key_size, False)
    elif t is RegType.PTR_TO_MAP_VALUE:
        assert reg.map is not None
        memory.check_mem_region_access(ck, regno, reg.off, size, reg.map.value_size, zero_ok)
    elif t is RegType.PTR_TO_MEM:
        if TypeFlag.MEM_RDONLY in reg.flags and write:
            raise ck.fail(M.CANNOT_WRITE_INTO, regno=regno, type=type_str(reg))
        memory.check_mem_region_access(ck, regno, reg.off, size, reg.mem_size, zero_ok)
    elif t is RegType.PTR_TO_STACK:
        check_stack_range_initialized(ck, regno, reg.off, size, zero_ok, write, meta)
    else:
        if zero_ok and size == 0 and reg.is_null:
            return
        raise ck.fail(M.ARG_TYPE, regno=regno, type=type_str(reg),
                        expected=reg_type_str(RegType.PTR_TO_STACK))


def check_stack_range_initialized(ck: Checker, regno: int, off: int, size: int, zero_ok: bool, write: bool,
                                  meta: Meta | None) -> None:
    reg = ck.regs[regno]
    frame = ck.st.frames[reg.frameno]
    if size == 0 and not zero_ok:
        raise ck.fail(M.ZERO_SIZED_READ)
    memory.check_stack_access_within_bounds(ck, regno, off, size, write)
    if reg.var_off.is_const:
        min_off = max_off = s64(reg.var_off.value) + off
    else:
        if not ck.opts.bypass_spec_v1:
            raise ck.fail(M.VAR_STACK_NOT_ROOT, regno=regno, var_off=reg.var_off)
        if meta is not None and meta.raw_mode:
            meta = None
        min_off, max_off = reg.smin + off, reg.smax + off
    if meta is not None and meta.raw_mode:
        meta.access_size = size
        meta.regno = regno
        return
    for i in range(min_off, max_off + size):
        slot_no = -i - 1
        spi, idx = divmod(slot_no, 8)
        slot = frame.stack.slot(spi)
        k = slot.kinds[idx]
        if k is SlotKind.MISC:
            continue
        if k is SlotKind.ZERO or (k is SlotKind.INVALID and ck.opts.allow_uninit_stack):
            if write:
                slot.kinds[idx] = SlotKind.MISC
            continue
        if slot.is_spill and (slot.spilled.is_scalar or ck.opts.allow_ptr_leaks):
            if write:
                slot.spilled.mark_unknown()
                slot.kinds = [SlotKind.MISC if x is SlotKind.SPILL else x for x in slot.kinds]
            continue
        if reg.var_off.is_const:
            raise ck.fail(M.INVALID_INDIRECT_READ, regno=regno, off=min_off, i=i - min_off, size=size)
        raise ck.fail(M.INVALID_INDIRECT_VAR_READ, regno=regno, var_off=reg.var_off, i=i - min_off,
                        size=size)


def get_constant_map_key(ck: Checker, key: RegState, key_size: int) -> int:
    if not ck.opts.bpf_capable or key.type is not RegType.PTR_TO_STACK or not key.var_off.is_const:
        return -1
    stack_off = key.off + s64(key.var_off.value)
    slot_no = -stack_off - 1
    spi, off = divmod(slot_no, 8)
    stack = ck.st.frames[key.frameno].stack
    if spi >= len(stack.slots):
        return -1
    slot = stack.slots[spi]
    zero = 0
    i = off
    while i >= 0 and slot.kinds[i] is SlotKind.ZERO:
        zero += 1
        i -= 1
    if zero >= key_size:
        return 0
    if not slot.is_spilled_scalar:
        return -1
    spill = 0
    i = off
    while i >= 0 and slot.kinds[i] is SlotKind.SPILL:
        spill += 1
        i -= 1
    if spill != key_size or not slot.spilled.var_off.is_const:
        return -1
    return slot.spilled.var_off.value
