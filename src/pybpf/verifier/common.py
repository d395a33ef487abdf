"""What the checker modules share: options, the rejection, limits and type tables.

Split out of :mod:`.checker` so :mod:`.memory` and :mod:`.calls` (the memory
access and call checks) can use them without importing the checker itself.
"""


from __future__ import annotations

from dataclasses import dataclass

from ..asm import format_insn
from ..isa import AluOp, Insn, JmpOp
from ..isa.opcodes import SIZE_BYTES
from ..maps.spec import MapSpec
from ..platform.progtypes import ProgType
from ..platform.types import ArgType, RegType, TypeFlag
from .bounds import (
    JSET_NOT,
    flip_opcode,
)
from .regstate import AT_PKT_END, BEYOND_PKT_END, MAX_PACKET_OFF, RegState
from .state import VState
from .tnum import U64, Tnum

__all__ = ["COMPLEXITY_LIMIT", "Meta", "Options", "Reject", "insn_text"]


COMPLEXITY_LIMIT = 1_000_000
BPF_MAX_VAR_OFF = 1 << 29
BPF_MAX_VAR_SIZ = 1 << 29
MAX_CALL_FRAMES = 8
_ALU_NAMES = {AluOp.ADD: "+=", AluOp.SUB: "-=", AluOp.MUL: "*=", AluOp.DIV: "/=", AluOp.OR: "|=",
              AluOp.AND: "&=", AluOp.LSH: "<<=", AluOp.RSH: ">>=", AluOp.NEG: "neg", AluOp.MOD: "%=",
              AluOp.XOR: "^=", AluOp.MOV: "=", AluOp.ARSH: "s>>=", AluOp.END: "endian"}


class Reject(Exception):
    """The program is rejected; ``text`` is the first error line, ``code`` its catalogue code."""

    def __init__(self, text: str, code: str, pc: int | None) -> None:
        self.text = text
        self.code = code
        self.pc = pc
        super().__init__(text)


@dataclass(frozen=True)
class Options:
    log_level: int = 1
    unprivileged: bool = False
    strict_alignment: bool = False
    gpl: bool = True
    attach: int | None = None

    @property
    def allow_ptr_leaks(self) -> bool:
        return not self.unprivileged

    @property
    def allow_uninit_stack(self) -> bool:
        return not self.unprivileged

    @property
    def bpf_capable(self) -> bool:
        return not self.unprivileged

    @property
    def bypass_spec_v1(self) -> bool:
        return not self.unprivileged


# compatible_reg_types[]: which register types each argument kind accepts, in the kernel's order.
_MEM_TYPES: tuple[tuple[RegType, TypeFlag], ...] = (
    (RegType.PTR_TO_STACK, TypeFlag.NONE), (RegType.PTR_TO_PACKET, TypeFlag.NONE),
    (RegType.PTR_TO_PACKET_META, TypeFlag.NONE), (RegType.PTR_TO_MAP_KEY, TypeFlag.NONE),
    (RegType.PTR_TO_MAP_VALUE, TypeFlag.NONE), (RegType.PTR_TO_MEM, TypeFlag.NONE),
    (RegType.PTR_TO_MEM, TypeFlag.MEM_RINGBUF), (RegType.PTR_TO_BUF, TypeFlag.NONE),
    (RegType.PTR_TO_BTF_ID, TypeFlag.PTR_TRUSTED),
)
_COMPATIBLE: dict[ArgType, tuple[tuple[RegType, TypeFlag], ...]] = {
    ArgType.ARG_PTR_TO_MAP_KEY: _MEM_TYPES,
    ArgType.ARG_PTR_TO_MAP_VALUE: _MEM_TYPES,
    ArgType.ARG_PTR_TO_MEM: _MEM_TYPES,
    ArgType.ARG_CONST_SIZE: ((RegType.SCALAR_VALUE, TypeFlag.NONE),),
    ArgType.ARG_CONST_SIZE_OR_ZERO: ((RegType.SCALAR_VALUE, TypeFlag.NONE),),
    ArgType.ARG_CONST_ALLOC_SIZE_OR_ZERO: ((RegType.SCALAR_VALUE, TypeFlag.NONE),),
    ArgType.ARG_CONST_MAP_PTR: ((RegType.CONST_PTR_TO_MAP, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_CTX: ((RegType.PTR_TO_CTX, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_SOCK_COMMON: ((RegType.PTR_TO_SOCK_COMMON, TypeFlag.NONE),
                                     (RegType.PTR_TO_SOCKET, TypeFlag.NONE),
                                     (RegType.PTR_TO_TCP_SOCK, TypeFlag.NONE),
                                     (RegType.PTR_TO_XDP_SOCK, TypeFlag.NONE)),
    ArgType.ARG_PTR_TO_SOCKET: ((RegType.PTR_TO_SOCKET, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_RINGBUF_MEM: ((RegType.PTR_TO_MEM, TypeFlag.MEM_RINGBUF),),
    ArgType.ARG_PTR_TO_FUNC: ((RegType.PTR_TO_FUNC, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_STACK: ((RegType.PTR_TO_STACK, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_CONST_STR: ((RegType.PTR_TO_MAP_VALUE, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_TIMER: ((RegType.PTR_TO_MAP_VALUE, TypeFlag.NONE),),
    ArgType.ARG_PTR_TO_SPIN_LOCK: ((RegType.PTR_TO_MAP_VALUE, TypeFlag.NONE),
                                   (RegType.PTR_TO_BTF_ID, TypeFlag.MEM_ALLOC)),
    ArgType.ARG_PTR_TO_BTF_ID_SOCK_COMMON: ((RegType.PTR_TO_SOCK_COMMON, TypeFlag.NONE),
                                            (RegType.PTR_TO_SOCKET, TypeFlag.NONE),
                                            (RegType.PTR_TO_TCP_SOCK, TypeFlag.NONE),
                                            (RegType.PTR_TO_XDP_SOCK, TypeFlag.NONE),
                                            (RegType.PTR_TO_BTF_ID, TypeFlag.NONE),
                                            (RegType.PTR_TO_BTF_ID, TypeFlag.PTR_TRUSTED)),
    ArgType.ARG_PTR_TO_BTF_ID: ((RegType.PTR_TO_BTF_ID, TypeFlag.NONE),
                                (RegType.PTR_TO_BTF_ID, TypeFlag.PTR_TRUSTED),
                                (RegType.PTR_TO_BTF_ID, TypeFlag.MEM_RCU)),
}
# Pointer types a helper argument may carry with a fixed or variable offset (check_func_arg_reg_off).
_OFF_OK = (RegType.PTR_TO_STACK, RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META, RegType.PTR_TO_MAP_KEY,
           RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MEM, RegType.PTR_TO_BUF, RegType.PTR_TO_ARENA,
           RegType.SCALAR_VALUE)
_SPILLABLE = (RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_STACK, RegType.PTR_TO_CTX, RegType.PTR_TO_PACKET,
              RegType.PTR_TO_PACKET_META, RegType.PTR_TO_PACKET_END, RegType.PTR_TO_FLOW_KEYS,
              RegType.CONST_PTR_TO_MAP, RegType.PTR_TO_SOCKET, RegType.PTR_TO_SOCK_COMMON,
              RegType.PTR_TO_TCP_SOCK, RegType.PTR_TO_XDP_SOCK, RegType.PTR_TO_BTF_ID, RegType.PTR_TO_BUF,
              RegType.PTR_TO_MEM, RegType.PTR_TO_FUNC, RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_ARENA)
_SK_TYPES = (RegType.PTR_TO_SOCKET, RegType.PTR_TO_SOCK_COMMON, RegType.PTR_TO_TCP_SOCK,
             RegType.PTR_TO_XDP_SOCK)
_PKT_WRITE_TYPES = (ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP, ProgType.LWT_XMIT, ProgType.SK_SKB,
                    ProgType.SK_MSG, ProgType.LWT_SEG6LOCAL)
_PKT_READ_TYPES = (*_PKT_WRITE_TYPES, ProgType.LWT_IN, ProgType.LWT_OUT, ProgType.SK_REUSEPORT,
                   ProgType.FLOW_DISSECTOR, ProgType.CGROUP_SKB)
_LD_ABS_TYPES = (ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT)


def insn_text(insn: Insn, pc: int) -> str:
    """verbose_insn(): ``(61) r0 = *(u32 *)(r1 +76)``."""
    return f"({insn.opcode:02x}) {format_insn(insn, syntax='kernel', pc=pc)}"


@dataclass
class Meta:
    """``struct bpf_call_arg_meta``."""

    map: MapSpec | None = None
    raw_mode: bool = False
    access_size: int = 0
    regno: int = 0
    release_regno: int = 0
    ref_obj_id: int = 0
    mem_size: int = 0
    const_map_key: int = -1
    msize_max: int = 0


def _tn(t: Tnum) -> str:
    """The alignment messages print a constant var_off as its value (Linux 6.18 log output)."""
    return str(t.value) if t.is_const else str(t)


def _reg_width(reg: RegState) -> int:
    """get_reg_width(): bits needed for the register's unsigned maximum."""
    return reg.umax.bit_length()


def _narrow_ok(off: int, size: int, spill_size: int) -> bool:
    """bpf_stack_narrow_access_ok() on little endian: the fill starts at the spill's lowest address."""
    return off % 8 == 0


def _pkt_branch_taken(r1: RegState, r2: RegState, op: int) -> int:
    if r2.type is RegType.PTR_TO_PACKET_END:
        pkt = r1
    elif r1.type is RegType.PTR_TO_PACKET_END:
        pkt = r2
        op = flip_opcode(op)
    else:
        return -1
    if pkt.range >= 0:
        return -1
    if op in (JmpOp.JLE, JmpOp.JGT):
        if pkt.range == BEYOND_PKT_END:
            return int(op == JmpOp.JGT)
    elif op in (JmpOp.JLT, JmpOp.JGE) and pkt.range in (BEYOND_PKT_END, AT_PKT_END):
        return int(op == JmpOp.JGE)
    return -1


def _find_good(st: VState, dst: RegState, right_open: bool) -> None:
    if dst.off < 0 or (dst.off == 0 and right_open):
        return
    if dst.umax > MAX_PACKET_OFF or dst.umax + dst.off > MAX_PACKET_OFF:
        return
    # pkt' < pkt_end (strict) proves one byte more than pkt' <= pkt_end (Linux 6.18 behaviour).
    new_range = dst.off + (1 if right_open else 0)
    for r in st.all_regs():
        if r.type is dst.type and r.id == dst.id:
            r.range = max(r.range, new_range)


def _mark_pkt_end(st: VState, regno: int, range_open: bool) -> None:
    reg = st.cur.regs[regno]
    if reg.type is not RegType.PTR_TO_PACKET:
        return
    reg.range = BEYOND_PKT_END if range_open else AT_PKT_END


_ = (JSET_NOT, U64, SIZE_BYTES)
