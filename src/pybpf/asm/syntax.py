"""Presentation tables shared by the disassembler and the parser.

Nothing here lists opcodes: the operator spellings are keyed by the enums of
:mod:`pybpf.isa.opcodes` (``AluOp``, ``JmpOp``, ``AtomicOp``, ``Size``), and
the uBPF mnemonic of an opcode is *computed* from its :class:`OpInfo`.  The
parser builds its reverse tables by running these functions over
:data:`~pybpf.isa.OPCODES`, so a new opcode in the table shows up in every
syntax or makes ``tests/test_asm_roundtrip.py`` fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..isa.opcodes import (
    END_WIDTHS,
    MOVSX_OFFSETS,
    OPCODES,
    AluOp,
    AtomicOp,
    Class,
    Form,
    JmpOp,
    Mode,
    OpInfo,
    Size,
    Source,
)

__all__ = [
    "ALU_SYMBOL",
    "ATOMIC_NAME",
    "JMP_SYMBOL",
    "SIZE_TYPE",
    "SYNTAXES",
    "UbpfVariant",
    "check_syntax",
    "ubpf_variants",
]

SYNTAXES = ("llvm", "kernel", "ubpf")

# C-like operators of llvm-objdump and the kernel log (kernel/bpf/disasm.c
# bpf_alu_string / bpf_jmp_string; LLVM's BPFInstrInfo.td spells them the same).
ALU_SYMBOL: dict[AluOp, str] = {
    AluOp.ADD: "+=", AluOp.SUB: "-=", AluOp.MUL: "*=", AluOp.DIV: "/=", AluOp.OR: "|=",
    AluOp.AND: "&=", AluOp.LSH: "<<=", AluOp.RSH: ">>=", AluOp.MOD: "%=", AluOp.XOR: "^=",
    AluOp.MOV: "=", AluOp.ARSH: "s>>=",
}
SIGNED_ALU_SYMBOL: dict[AluOp, str] = {AluOp.DIV: "s/=", AluOp.MOD: "s%="}  # off = 1 (v4)

JMP_SYMBOL: dict[JmpOp, str] = {
    JmpOp.JEQ: "==", JmpOp.JGT: ">", JmpOp.JGE: ">=", JmpOp.JSET: "&", JmpOp.JNE: "!=",
    JmpOp.JSGT: "s>", JmpOp.JSGE: "s>=", JmpOp.JLT: "<", JmpOp.JLE: "<=", JmpOp.JSLT: "s<",
    JmpOp.JSLE: "s<=",
}

SIZE_TYPE: dict[Size, str] = {Size.B: "u8", Size.H: "u16", Size.W: "u32", Size.DW: "u64"}
SIZE_SUFFIX: dict[Size, str] = {Size.B: "b", Size.H: "h", Size.W: "w", Size.DW: "dw"}

# Arithmetic atomics name their op like the ALU op with the same value.
ATOMIC_NAME: dict[int, str] = {AtomicOp.ADD: "add", AtomicOp.OR: "or", AtomicOp.AND: "and",
                               AtomicOp.XOR: "xor"}

_UBPF_ALU: dict[AluOp, str] = {op: op.name.lower() for op in AluOp if op not in (AluOp.NEG, AluOp.END)}
_UBPF_JMP: dict[JmpOp, str] = {op: op.name.lower() for op in JmpOp
                               if op not in (JmpOp.CALL, JmpOp.EXIT, JmpOp.JA)}


def check_syntax(syntax: str, *, allow_auto: bool = False) -> str:
    allowed = (*SYNTAXES, "auto") if allow_auto else SYNTAXES
    if syntax not in allowed:
        raise ValueError(f"syntax must be one of {', '.join(allowed)}, not {syntax!r}")
    return syntax


@dataclass(frozen=True, slots=True)
class UbpfVariant:
    """One uBPF mnemonic: the opcode it means and the fields it fixes.

    ``off``/``imm`` are None when the operands supply them.  ``shape`` names the
    operand layout the parser expects (``"alu"``, ``"mem_load"``...).
    """

    mnemonic: str
    opcode: int
    shape: str
    off: int | None = None
    imm: int | None = None


def ubpf_variants(info: OpInfo) -> Iterator[UbpfVariant]:
    """Every uBPF mnemonic of one opcode (several where ``off``/``imm`` select a variant)."""
    sfx = "32" if info.cls in (Class.ALU, Class.JMP32) else ""
    op = info.op
    form = info.form
    if form is Form.ALU:
        assert op is not None
        alu = AluOp(op)
        base = _UBPF_ALU[alu]
        yield UbpfVariant(base + sfx, info.opcode, "alu", off=0)
        if alu in (AluOp.DIV, AluOp.MOD):
            yield UbpfVariant("s" + base + sfx, info.opcode, "alu", off=1)
        if alu is AluOp.MOV and info.source is Source.X:
            for bits in sorted(MOVSX_OFFSETS[info.cls]):
                width = "32" if info.cls is Class.ALU else "64"
                yield UbpfVariant(f"movsx{bits}{width}", info.opcode, "alu_reg", off=bits)
    elif form is Form.NEG:
        yield UbpfVariant("neg" + sfx, info.opcode, "unary")
    elif form is Form.END:
        names = ["bswap"] if info.cls is Class.ALU64 else (["be"] if info.source is Source.X else ["le"])
        for name in names:
            for bits in sorted(END_WIDTHS):
                yield UbpfVariant(f"{name}{bits}", info.opcode, "unary", imm=bits)
    elif form is Form.JCOND:
        assert op is not None
        yield UbpfVariant(_UBPF_JMP[JmpOp(op)] + sfx, info.opcode, "jcond")
    elif form is Form.JA:
        yield UbpfVariant("ja" + sfx, info.opcode, "ja")
    elif form is Form.CALL:
        yield UbpfVariant("call", info.opcode, "call")
    elif form is Form.CALLX:
        yield UbpfVariant("callx", info.opcode, "callx")
    elif form is Form.EXIT:
        yield UbpfVariant("exit", info.opcode, "none")
    elif form is Form.LD_IMM64:
        yield UbpfVariant("lddw", info.opcode, "lddw")
    elif form in (Form.LD_ABS, Form.LD_IND):
        assert info.size is not None
        kind = "abs" if form is Form.LD_ABS else "ind"
        yield UbpfVariant(f"ld{kind}{SIZE_SUFFIX[info.size]}", info.opcode, "ld_" + kind)
    elif form is Form.LDX:
        assert info.size is not None
        sx = "s" if info.mode is Mode.MEMSX else ""
        yield UbpfVariant(f"ldx{sx}{SIZE_SUFFIX[info.size]}", info.opcode, "ldx")
    elif form is Form.ST:
        assert info.size is not None
        yield UbpfVariant(f"st{SIZE_SUFFIX[info.size]}", info.opcode, "st")
    elif form is Form.STX:
        assert info.size is not None
        yield UbpfVariant(f"stx{SIZE_SUFFIX[info.size]}", info.opcode, "stx")
    elif form is Form.ATOMIC:
        w = "32" if info.size is Size.W else ""
        for imm in sorted(info.imms or ()):
            atomic = AtomicOp(imm)
            if atomic is AtomicOp.XCHG:
                name = "lock xchg"
            elif atomic is AtomicOp.CMPXCHG:
                name = "lock cmpxchg"
            else:
                name = ("lock fetch " if atomic.fetches else "lock ") + ATOMIC_NAME[atomic.base]
            yield UbpfVariant(name + w, info.opcode, "atomic", imm=imm)
    else:  # pragma: no cover - a new Form must be given a mnemonic
        raise AssertionError(f"no uBPF mnemonic for {form}")


def all_ubpf_variants() -> Iterator[UbpfVariant]:
    for info in OPCODES.values():
        yield from ubpf_variants(info)
