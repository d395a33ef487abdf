"""Instructions to text, in three syntaxes.

``llvm``
    What ``llvm-objdump -d`` (LLVM 14) prints for each instruction:
    ``r0 = *(u32 *)(r1 + 76)``, ``if r1 > 3 goto +2``, ``w0 = w1``,
    ``r1 = 1234 ll``, ``call 1``, ``lock *(u32 *)(r1 + 0) += r3``.  The one
    exception: plain llvm-objdump 14 prints the 32-bit atomics other than
    ``lock +=`` wrongly (the fetch forms, xchg and cmpxchg as a plain
    ``lock +=``, ``lock |=``/``&=``/``^=`` as ``<unknown>``), so for those
    pybpf prints what ``--mattr=+alu32`` prints
    (``w1 = atomic_fetch_add((u32 *)(r2 + 0), w1)``, ``lock *(u32 *)(r2 + 0) |= w5``).
    For instructions LLVM 14 cannot print (all of ISA v4, ``BPF_ST``, callx) we use the syntax of
    LLVM 17+: ``r0 s/= r1``, ``r0 = (s8)r1``, ``r0 = bswap16 r0``,
    ``r0 = *(s8 *)(r1 + 0)``, ``gotol +N``, ``callx r2``,
    ``*(u32 *)(r10 - 4) = 5``.  Local calls print ``call -1`` like LLVM when the
    offset is negative and ``call +2`` (explicit sign) when not, so that they
    stay distinct from helper calls.
``kernel``
    The verifier log (``kernel/bpf/disasm.c`` ``print_bpf_insn``) without the
    leading ``N: (xx)``: ``r0 = *(u32 *)(r1 +76)``, ``if r1 == 0x0 goto pc+2``,
    ``call bpf_map_lookup_elem#1``, ``r1 = 0x1122334455667788``.
    Pseudo LD_IMM64 forms print as bpftool does, with fds (before loading):
    ``map[fd:3]``, ``map[fd:3][0]+8``, ``map[idx:0]``, ``subprog[+4]``.
``ubpf``
    The uBPF / bpf_conformance assembler (``mov %r0, %r1``, ``ldxw %r0, [%r1+76]``).

Anything a syntax cannot express (an unknown opcode, a reserved field set, a
register above r10) prints in every syntax as the raw form
``.insn OPCODE, DST, SRC, OFF, IMM``, which the assembler reads back, so any
:class:`Insn` survives ``assemble(format_insn(i))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..isa.helper_ids import helper_name
from ..isa.insn import MAX_REG, Insn, Program
from ..isa.opcodes import (
    OPCODES,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    Form,
    JmpOp,
    Mode,
    OpInfo,
    PseudoSrc,
    Size,
    Source,
)
from .syntax import (
    ALU_SYMBOL,
    ATOMIC_NAME,
    JMP_SYMBOL,
    SIGNED_ALU_SYMBOL,
    SIZE_TYPE,
    check_syntax,
    ubpf_variants,
)

__all__ = ["Line", "disassemble", "format_insn", "iter_lines", "representable"]

_MOVSX_TYPE = {8: "(s8)", 16: "(s16)", 32: "(s32)"}
_SIGNED_TYPE = {Size.B: "s8", Size.H: "s16", Size.W: "s32"}


_Pc = int | None
_Labels = Mapping[int, str] | None

def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _s64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def representable(insn: Insn) -> bool:
    """True when ``insn`` is a valid instruction whose every field a syntax shows.

    The fields a form does not print are exactly those :data:`OPCODES` pins to
    fixed values, so "valid per the table" is the test.  Others print raw.
    """
    info = OPCODES.get(insn.opcode)
    if info is None or insn.dst > MAX_REG or insn.src > MAX_REG:
        return False
    for name, allowed in (("src", info.srcs), ("off", info.offs), ("imm", info.imms), ("dst", info.dsts)):
        if allowed is not None and getattr(insn, name) not in allowed:
            return False
    return not (info.form is Form.CALL and insn.src != CallSrc.KFUNC and insn.off != 0)


def _raw(insn: Insn) -> str:
    return f".insn {insn.opcode:#04x}, {insn.dst}, {insn.src}, {insn.off}, {insn.imm:#x}"


def _target(rel: int, pc: int | None, labels: Mapping[int, str] | None) -> str | None:
    """The label of a jump's target, when known."""
    if pc is None or not labels:
        return None
    return labels.get(pc + 1 + rel)


# -- llvm -----------------------------------------------------------------------------
def _llvm_mem(reg: int, off: int) -> str:
    return f"(r{reg} + {off})" if off >= 0 else f"(r{reg} - {-off})"


def _llvm_rel(rel: int, label: str | None) -> str:
    text = f"{rel:+d}"
    return f"{text} <{label}>" if label else text


def _llvm_alu(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    op = AluOp(info.op or 0)
    if info.source is Source.X:
        if op is AluOp.MOV and insn.off:
            return f"{r}{d} = {_MOVSX_TYPE[insn.off]}{r}{s}"
        sym = SIGNED_ALU_SYMBOL[op] if insn.off else ALU_SYMBOL[op]
        return f"{r}{d} {sym} {r}{s}"
    sym = SIGNED_ALU_SYMBOL[op] if insn.off else ALU_SYMBOL[op]
    return f"{r}{d} {sym} {insn.imm}"


def _llvm_neg(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"{r}{d} = -{r}{d}"


def _llvm_end(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if info.cls is Class.ALU64:
        return f"r{d} = bswap{insn.imm} r{d}"
    return f"r{d} = {'be' if info.source is Source.X else 'le'}{insn.imm} r{d}"


def _llvm_ld_imm64(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if insn.src == PseudoSrc.IMM:
        return f"r{d} = {_s64(insn.imm)} ll"
    # LLVM prints "ld_pseudo\tr1, 2, 3" (imm = low half); we add the high
    # half in hex when it is not zero so nothing is lost.
    value = str(_s32(insn.imm)) if insn.imm >> 32 == 0 else f"{insn.imm:#x}"
    return f"ld_pseudo\tr{d}, {insn.src}, {value}"


def _llvm_ld_abs(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"r0 = *({SIZE_TYPE[info.size]} *)skb[{insn.imm}]"  # type: ignore[index]


def _llvm_ld_ind(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    extra = f" + {insn.imm}" if insn.imm else ""  # LLVM 14 never shows imm; pybpf does when set
    return f"r0 = *({SIZE_TYPE[info.size]} *)skb[r{s}{extra}]"  # type: ignore[index]


def _llvm_ldx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    if info.mode is Mode.MEMSX:
        return f"r{d} = *({_SIGNED_TYPE[info.size]} *){_llvm_mem(s, insn.off)}"
    return f"r{d} = *({SIZE_TYPE[info.size]} *){_llvm_mem(s, insn.off)}"


def _llvm_st(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    return f"*({SIZE_TYPE[info.size]} *){_llvm_mem(d, insn.off)} = {insn.imm}"


def _llvm_stx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    return f"*({SIZE_TYPE[info.size]} *){_llvm_mem(d, insn.off)} = r{s}"


def _llvm_atomic(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    t = SIZE_TYPE[info.size]
    is64 = info.size is Size.DW
    reg = "r" if is64 else "w"
    atomic = AtomicOp(insn.imm)
    mem = _llvm_mem(d, insn.off)
    if atomic is AtomicOp.XCHG:
        return f"{reg}{s} = xchg{'' if is64 else '32'}_{'64' if is64 else '32'}({mem[1:-1]}, {reg}{s})"
    if atomic is AtomicOp.CMPXCHG:
        name = "cmpxchg_64" if is64 else "cmpxchg32_32"
        return f"{reg}0 = {name}({mem[1:-1]}, {reg}0, {reg}{s})"
    name = ATOMIC_NAME[atomic.base]
    if atomic.fetches:
        return f"{reg}{s} = atomic_fetch_{name}(({t} *){mem}, {reg}{s})"
    # Plain llvm-objdump 14 knows only the 32-bit ``lock +=``; the other 32-bit
    # atomics it prints as <unknown>, so those take the --mattr=+alu32 spelling.
    lock_reg = "r" if is64 or atomic is AtomicOp.ADD else "w"
    return f"lock *({t} *){mem} {ALU_SYMBOL[AluOp(atomic.base)]} {lock_reg}{s}"


def _llvm_ja(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if info.cls is Class.JMP32:
        return f"gotol {_llvm_rel(insn.imm, _target(insn.imm, pc, labels))}"
    return f"goto {_llvm_rel(insn.off, _target(insn.off, pc, labels))}"


def _llvm_jcond(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    rhs = f"{r}{s}" if info.source is Source.X else str(insn.imm)
    label = _target(insn.off, pc, labels)
    return f"if {r}{d} {JMP_SYMBOL[JmpOp(info.op or 0)]} {rhs} goto {_llvm_rel(insn.off, label)}"


def _llvm_call(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if insn.src == CallSrc.LOCAL:
        # llvm-objdump prints "call 8" for a local call, like a helper call.
        # We keep its text when the target has a label ("call 8 <func>")
        # or the offset is negative, and write "+8" otherwise, so that
        # the assembler can tell local calls from helper calls.
        label = _target(insn.imm, pc, labels)
        if label:
            return f"call {insn.imm} <{label}>"
        return f"call {insn.imm}" if insn.imm < 0 else f"call +{insn.imm}"
    if insn.src == CallSrc.KFUNC:
        return f"call kfunc {insn.imm}" + (f", {insn.off}" if insn.off else "")
    return f"call {insn.imm_u32 if insn.imm < 0 else insn.imm}"


def _llvm_callx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"callx r{d}"


def _llvm_exit(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return "exit"


# One formatter per instruction form (a test checks every form of OPCODES has one).
_LLVM: dict[Form, Callable[..., str]] = {
    Form.ALU: _llvm_alu,
    Form.NEG: _llvm_neg,
    Form.END: _llvm_end,
    Form.LD_IMM64: _llvm_ld_imm64,
    Form.LD_ABS: _llvm_ld_abs,
    Form.LD_IND: _llvm_ld_ind,
    Form.LDX: _llvm_ldx,
    Form.ST: _llvm_st,
    Form.STX: _llvm_stx,
    Form.ATOMIC: _llvm_atomic,
    Form.JA: _llvm_ja,
    Form.JCOND: _llvm_jcond,
    Form.CALL: _llvm_call,
    Form.CALLX: _llvm_callx,
    Form.EXIT: _llvm_exit,
}


def _format_llvm(insn: Insn, pc: int | None, labels: Mapping[int, str] | None) -> str:
    info = OPCODES[insn.opcode]
    return _LLVM[info.form](insn, info, pc, labels, "r" if info.is64 else "w", insn.dst, insn.src)


# -- kernel -----------------------------------------------------------------------------
def _kmem(reg: int, off: int) -> str:
    return f"(r{reg} {off:+d})"


def _kernel_ld_imm64(insn: Insn) -> str:
    lo, hi = insn.imm & 0xFFFF_FFFF, insn.imm >> 32
    d = insn.dst
    src = insn.src
    if src == PseudoSrc.IMM:
        return f"r{d} = {insn.imm:#x}"
    if src == PseudoSrc.MAP_VALUE:
        return f"r{d} = map[fd:{lo}][0]+{hi}"
    if src == PseudoSrc.MAP_IDX_VALUE:
        return f"r{d} = map[idx:{lo}]+{hi}"
    if hi == 0:
        if src == PseudoSrc.MAP_FD:
            return f"r{d} = map[fd:{lo}]"
        if src == PseudoSrc.MAP_IDX:
            return f"r{d} = map[idx:{lo}]"
        if src == PseudoSrc.FUNC:
            return f"r{d} = subprog[{_s32(lo):+d}]"
        if src == PseudoSrc.BTF_ID:
            return f"r{d} = btf_id[{lo}]"
    return f"ld_pseudo r{d}, {src}, {insn.imm:#x}"


def _kernel_alu(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    op = AluOp(info.op or 0)
    sym = SIGNED_ALU_SYMBOL[op] if insn.off and op in SIGNED_ALU_SYMBOL else ALU_SYMBOL[op]
    if info.source is Source.X:
        cast = _MOVSX_TYPE[insn.off] if op is AluOp.MOV and insn.off else ""
        return f"{r}{d} {sym} {cast}{r}{s}"
    return f"{r}{d} {sym} {insn.imm}"


def _kernel_neg(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"{r}{d} = -{r}{d}"


def _kernel_end(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if info.cls is Class.ALU64:
        return f"r{d} = bswap{insn.imm} r{d}"
    return f"r{d} = {'be' if info.source is Source.X else 'le'}{insn.imm} r{d}"


def _kernel_imm64(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return _kernel_ld_imm64(insn)


def _kernel_ld_abs(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"r0 = *({SIZE_TYPE[info.size]} *)skb[{insn.imm}]"  # type: ignore[index]


def _kernel_ld_ind(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"r0 = *({SIZE_TYPE[info.size]} *)skb[r{s} + {insn.imm}]"  # type: ignore[index]


def _kernel_ldx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    t = _SIGNED_TYPE[info.size] if info.mode is Mode.MEMSX else SIZE_TYPE[info.size]
    return f"r{d} = *({t} *){_kmem(s, insn.off)}"


def _kernel_st(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"*({SIZE_TYPE[info.size]} *){_kmem(d, insn.off)} = {insn.imm}"  # type: ignore[index]


def _kernel_stx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return f"*({SIZE_TYPE[info.size]} *){_kmem(d, insn.off)} = r{s}"  # type: ignore[index]


def _kernel_atomic(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    assert info.size is not None
    t = SIZE_TYPE[info.size]
    w = "64" if info.size is Size.DW else ""
    atomic = AtomicOp(insn.imm)
    mem = _kmem(d, insn.off)
    if atomic is AtomicOp.XCHG:
        return f"r{s} = atomic{w}_xchg(({t} *){mem}, r{s})"
    if atomic is AtomicOp.CMPXCHG:
        return f"r0 = atomic{w}_cmpxchg(({t} *){mem}, r0, r{s})"
    name = ATOMIC_NAME[atomic.base]
    if atomic.fetches:
        return f"r{s} = atomic{w}_fetch_{name}(({t} *){mem}, r{s})"
    return f"lock *({t} *){mem} {ALU_SYMBOL[AluOp(atomic.base)]} r{s}"


def _kernel_ja(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if info.cls is Class.JMP32:
        return f"gotol pc{insn.imm:+d}"
    return f"goto pc{insn.off:+d}"


def _kernel_jcond(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    rhs = f"{r}{s}" if info.source is Source.X else f"{insn.imm_u32:#x}"
    return f"if {r}{d} {JMP_SYMBOL[JmpOp(info.op or 0)]} {rhs} goto pc{insn.off:+d}"


def _kernel_call(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    if insn.src == CallSrc.LOCAL:
        return f"call pc{insn.imm:+d}"
    if insn.src == CallSrc.KFUNC:
        return f"call kernel-function#{insn.imm}" + (f" off:{insn.off}" if insn.off else "")
    return f"call {helper_name(insn.imm) or 'unknown'}#{insn.imm}"


def _kernel_callx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    # The kernel has no callx (its log would say "call bpf_unspec#0").
    return f"callx r{d}"


def _kernel_exit(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, r: str, d: int, s: int) -> str:
    return "exit"


# One formatter per instruction form (a test checks every form of OPCODES has one).
_KERNEL: dict[Form, Callable[..., str]] = {
    Form.ALU: _kernel_alu,
    Form.NEG: _kernel_neg,
    Form.END: _kernel_end,
    Form.LD_IMM64: _kernel_imm64,
    Form.LD_ABS: _kernel_ld_abs,
    Form.LD_IND: _kernel_ld_ind,
    Form.LDX: _kernel_ldx,
    Form.ST: _kernel_st,
    Form.STX: _kernel_stx,
    Form.ATOMIC: _kernel_atomic,
    Form.JA: _kernel_ja,
    Form.JCOND: _kernel_jcond,
    Form.CALL: _kernel_call,
    Form.CALLX: _kernel_callx,
    Form.EXIT: _kernel_exit,
}


def _format_kernel(insn: Insn, pc: int | None, labels: Mapping[int, str] | None) -> str:
    info = OPCODES[insn.opcode]
    return _KERNEL[info.form](insn, info, pc, labels, "r" if info.is64 else "w", insn.dst, insn.src)


# -- ubpf -------------------------------------------------------------------------------
def _umem(reg: int, off: int) -> str:
    return f"[%r{reg}{off:+d}]"


def _ubpf_target(rel: int, pc: int | None, labels: Mapping[int, str] | None) -> str:
    label = _target_any(rel, pc, labels)
    return label if label else f"{rel:+d}"


def _target_any(rel: int, pc: int | None, labels: Mapping[int, str] | None) -> str | None:
    if pc is None or not labels:
        return None
    label = labels.get(pc + 1 + rel)
    return label if label and _is_ident(label) else None


def _is_ident(name: str) -> bool:
    from .parser import is_label_name

    return is_label_name(name)


def _ubpf_mnemonic(insn: Insn) -> str:
    info = OPCODES[insn.opcode]
    for v in ubpf_variants(info):
        if (v.off is None or v.off == insn.off) and (v.imm is None or v.imm == insn.imm):
            return v.mnemonic
    raise AssertionError(insn)  # pragma: no cover - representable() guarantees a match


def _ubpf_alu(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    rhs = f"%r{s}" if info.source is Source.X else str(insn.imm)
    return f"{m} %r{d}, {rhs}"


def _ubpf_neg(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} %r{d}"


def _ubpf_ld_imm64(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    if insn.src == PseudoSrc.IMM:
        return f"lddw %r{d}, {insn.imm:#x}"
    return f"ld_pseudo %r{d}, {insn.src}, {insn.imm:#x}"


def _ubpf_ld_abs(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} {insn.imm}"


def _ubpf_ld_ind(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} %r{s}, {insn.imm}"


def _ubpf_ldx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} %r{d}, {_umem(s, insn.off)}"


def _ubpf_st(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} {_umem(d, insn.off)}, {insn.imm}"


def _ubpf_stx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"{m} {_umem(d, insn.off)}, %r{s}"


def _ubpf_ja(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    rel = insn.imm if info.cls is Class.JMP32 else insn.off
    return f"{m} {_ubpf_target(rel, pc, labels)}"


def _ubpf_jcond(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    rhs = f"%r{s}" if info.source is Source.X else str(insn.imm)
    return f"{m} %r{d}, {rhs}, {_ubpf_target(insn.off, pc, labels)}"


def _ubpf_call(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    if insn.src == CallSrc.LOCAL:
        return f"call local {_ubpf_target(insn.imm, pc, labels)}"
    if insn.src == CallSrc.KFUNC:
        return f"call runtime {insn.imm}" + (f", {insn.off}" if insn.off else "")
    return f"call {insn.imm}"


def _ubpf_callx(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return f"call %r{d}"


def _ubpf_exit(insn: Insn, info: OpInfo, pc: _Pc, labels: _Labels, m: str, d: int, s: int) -> str:
    return "exit"


# One formatter per instruction form (a test checks every form of OPCODES has one).
_UBPF: dict[Form, Callable[..., str]] = {
    Form.ALU: _ubpf_alu,
    Form.NEG: _ubpf_neg,
    Form.END: _ubpf_neg,
    Form.LD_IMM64: _ubpf_ld_imm64,
    Form.LD_ABS: _ubpf_ld_abs,
    Form.LD_IND: _ubpf_ld_ind,
    Form.LDX: _ubpf_ldx,
    Form.ST: _ubpf_st,
    Form.STX: _ubpf_stx,
    Form.ATOMIC: _ubpf_stx,
    Form.JA: _ubpf_ja,
    Form.JCOND: _ubpf_jcond,
    Form.CALL: _ubpf_call,
    Form.CALLX: _ubpf_callx,
    Form.EXIT: _ubpf_exit,
}


def _format_ubpf(insn: Insn, pc: int | None, labels: Mapping[int, str] | None) -> str:
    info = OPCODES[insn.opcode]
    return _UBPF[info.form](insn, info, pc, labels, _ubpf_mnemonic(insn), insn.dst, insn.src)


_FORMATTERS = {"llvm": _format_llvm, "kernel": _format_kernel, "ubpf": _format_ubpf}


def format_insn(insn: Insn, *, syntax: str = "llvm", pc: int | None = None,
                labels: Mapping[int, str] | None = None) -> str:
    """One instruction as text (no address, no opcode column).

    With ``pc`` and ``labels``, jump targets that have a label are shown by
    name (llvm: ``goto +2 <LBB0_2>``, ubpf: ``ja LBB0_2``).

    >>> format_insn(Insn(0x61, 0, 1, 76))
    'r0 = *(u32 *)(r1 + 76)'
    >>> format_insn(Insn(0x15, 1, 0, 2, 0), syntax="kernel")
    'if r1 == 0x0 goto pc+2'
    >>> format_insn(Insn(0xbf, 0, 1), syntax="ubpf")
    'mov %r0, %r1'
    """
    fmt = _FORMATTERS[check_syntax(syntax)]
    if not representable(insn):
        return _raw(insn)
    return fmt(insn, pc, labels)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a listing: where, what, how it prints, and the label defined there."""

    pc: int
    insn: Insn
    text: str
    label: str | None


def iter_lines(program: Program | bytes, syntax: str = "llvm") -> Iterator[Line]:
    """The instructions of ``program`` with their text, like ``dis.get_instructions``.

    >>> [l.text for l in iter_lines(bytes.fromhex("b700000003000000" "9500000000000000"))]
    ['r0 = 3', 'exit']
    """
    prog = _as_program(program)
    check_syntax(syntax)
    labels = _unique(prog.labels)
    for pc, insn in prog.items():
        yield Line(pc, insn, format_insn(insn, syntax=syntax, pc=pc, labels=labels), labels.get(pc))


def _unique(labels: Mapping[int, str]) -> dict[int, str]:
    """Labels whose name is used once (a name defined twice could not be assembled back)."""
    seen: dict[str, int] = {}
    for name in labels.values():
        seen[name] = seen.get(name, 0) + 1
    return {pc: name for pc, name in labels.items() if seen[name] == 1}


def _as_program(program: Program | bytes) -> Program:
    if isinstance(program, bytes | bytearray | memoryview):
        from ..isa.codec import decode

        return decode(bytes(program), validate=False)
    return program


def disassemble(program: Program | bytes, *, syntax: str = "llvm") -> str:
    """A listing of ``program``, which :func:`pybpf.asm.assemble` reads back.

    ``llvm``: ``llvm-objdump`` layout (``   3:\\tr0 = 1``, labels as
    ``0000000000000018 <name>:`` headers).  ``kernel``: verifier-log layout
    (``3: (b7) r0 = 1``).  ``ubpf``: one instruction per line, labels on
    their own line.

    >>> print(disassemble(bytes.fromhex("b700000003000000" "9500000000000000"), syntax="kernel"))
    0: (b7) r0 = 3
    1: (95) exit
    """
    prog = _as_program(program)
    check_syntax(syntax)
    out: list[str] = []
    labels = _unique(prog.labels)
    end = prog.slot_count
    for line in iter_lines(prog, syntax):
        if line.label is not None:
            out.extend(_label_lines(line.label, line.pc, syntax, first=not out))
        if syntax == "llvm":
            out.append(f"{line.pc:>8}:\t{line.text}")
        elif syntax == "kernel":
            out.append(f"{line.pc}: ({line.insn.opcode:02x}) {line.text}")
        else:
            out.append(line.text)
    if end in labels:  # a label just past the last instruction (a jump to the end)
        out.extend(_label_lines(labels[end], end, syntax, first=not out))
    return "\n".join(out)


def _label_lines(label: str, pc: int, syntax: str, *, first: bool) -> list[str]:
    if syntax == "llvm":
        head = [] if first else [""]
        return [*head, f"{pc * 8:016x} <{label}>:"]
    if syntax == "ubpf" and not _is_ident(label):
        return []
    return [f"{label}:"]
