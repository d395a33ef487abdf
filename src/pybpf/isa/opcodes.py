"""Opcode fields and the table of every valid eBPF opcode.

An eBPF opcode byte is split into fields whose meaning depends on the class::

      7   6   5   4   3   2   1   0
    +---------------+---+-----------+
    |      op       |src|   class   |   ALU, ALU64, JMP, JMP32
    +-------+-------+---+-----------+
    | mode  | size  |   |   class   |   LD, LDX, ST, STX
    +-------+-------+---+-----------+

:data:`OPCODES` maps each valid opcode byte to an :class:`OpInfo` that states
its form, its width and which fields may be set.  Everything else in pybpf
(assembler mnemonics, disassembler names, decoder checks, interpreter dispatch)
is derived from this table; ``tests/test_tables.py`` checks that each consumer
covers exactly these opcodes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Class",
    "Source",
    "Size",
    "Mode",
    "AluOp",
    "JmpOp",
    "AtomicOp",
    "PseudoSrc",
    "CallSrc",
    "Form",
    "OpInfo",
    "OPCODES",
    "SIZE_BYTES",
    "ATOMIC_OPS",
    "MOVSX_OFFSETS",
    "END_WIDTHS",
]


class Class(enum.IntEnum):
    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Source(enum.IntEnum):
    K = 0x00  # immediate operand
    X = 0x08  # register operand


class Size(enum.IntEnum):
    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18


SIZE_BYTES: dict[Size, int] = {Size.B: 1, Size.H: 2, Size.W: 4, Size.DW: 8}


class Mode(enum.IntEnum):
    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class AluOp(enum.IntEnum):
    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(enum.IntEnum):
    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0


class AtomicOp(enum.IntEnum):
    """The ``imm`` field of a BPF_ATOMIC store."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1

    @property
    def fetches(self) -> bool:
        return bool(self & 0x01)

    @property
    def base(self) -> int:
        """The arithmetic op without the FETCH bit (``AluOp`` value, or XCHG/CMPXCHG)."""
        return self & ~0x01


ATOMIC_OPS = frozenset(int(op) for op in AtomicOp)


class PseudoSrc(enum.IntEnum):
    """The ``src`` field of LD_IMM64: what the 64-bit immediate refers to."""

    IMM = 0  # a plain constant
    MAP_FD = 1  # imm = map fd; dst = map pointer
    MAP_VALUE = 2  # imm = map fd, next imm = offset; dst = pointer into the value
    BTF_ID = 3  # imm = BTF id of a kernel variable
    FUNC = 4  # imm = relative offset of a subprogram (callback pointer)
    MAP_IDX = 5  # like MAP_FD, imm is an index into the fd array
    MAP_IDX_VALUE = 6  # like MAP_VALUE, imm is an index into the fd array


class CallSrc(enum.IntEnum):
    """The ``src`` field of BPF_CALL."""

    HELPER = 0  # imm = helper id
    LOCAL = 1  # imm = relative slot offset of a bpf-to-bpf callee
    KFUNC = 2  # imm = BTF id of a kernel function


class Form(enum.Enum):
    """The shape of an instruction: which fields mean what."""

    ALU = "alu"  # dst = dst op src/imm
    NEG = "neg"  # dst = -dst
    END = "end"  # byte swap / endianness conversion, imm = width
    LD_IMM64 = "ld_imm64"  # 16 bytes, dst = imm64
    LD_ABS = "ld_abs"  # legacy packet load, r0 = pkt[imm]
    LD_IND = "ld_ind"  # legacy packet load, r0 = pkt[src + imm]
    LDX = "ldx"  # dst = *(size *)(src + off)
    ST = "st"  # *(size *)(dst + off) = imm
    STX = "stx"  # *(size *)(dst + off) = src
    ATOMIC = "atomic"  # atomic op on *(size *)(dst + off) with src
    JA = "ja"  # goto off (JMP) / goto imm (JMP32: gotol)
    JCOND = "jcond"  # if dst op src/imm goto off
    CALL = "call"  # helper / local / kfunc call
    CALLX = "callx"  # call through the register in dst
    EXIT = "exit"


ANY = None  # a field with no constraint

MOVSX_OFFSETS = {Class.ALU: frozenset({8, 16}), Class.ALU64: frozenset({8, 16, 32})}
END_WIDTHS = frozenset({16, 32, 64})


@dataclass(frozen=True, slots=True)
class OpInfo:
    """What the table knows of one opcode byte.

    ``srcs``/``offs``/``imms`` are the allowed values of those fields, or
    ``None`` when any value is allowed.  ``writes_dst`` says whether the
    instruction assigns its dst register (so dst may not be r10).  ``cpu`` is
    the lowest ISA version (1-4, as ``-mcpu=vN``) that has the instruction.
    """

    opcode: int
    form: Form
    cls: Class
    op: int | None = None  # AluOp / JmpOp for arithmetic and jumps
    source: Source | None = None
    size: Size | None = None
    mode: Mode | None = None
    srcs: frozenset[int] | None = ANY
    offs: frozenset[int] | None = ANY
    imms: frozenset[int] | None = ANY
    dsts: frozenset[int] | None = ANY
    writes_dst: bool = False
    cpu: int = 1

    @property
    def is64(self) -> bool:
        """True for ALU64/JMP operations on full registers."""
        return self.cls in (Class.ALU64, Class.JMP)

    @property
    def width(self) -> int:
        """Number of 8-byte slots (2 for LD_IMM64)."""
        return 2 if self.form is Form.LD_IMM64 else 1

    @property
    def nbytes(self) -> int:
        """Access size in bytes for memory forms."""
        return SIZE_BYTES[self.size] if self.size is not None else 0


_ZERO = frozenset({0})
_ALL_REGS = frozenset(range(11))


def _build() -> dict[int, OpInfo]:
    table: dict[int, OpInfo] = {}

    def add(info: OpInfo) -> None:
        assert info.opcode not in table, hex(info.opcode)
        table[info.opcode] = info

    for cls in (Class.ALU, Class.ALU64):
        for op in AluOp:
            for src in Source:
                opcode = cls | op | src
                if op is AluOp.NEG:
                    # Linux rejects BPF_NEG with BPF_X or any reserved field set.
                    if src is Source.K:
                        add(OpInfo(opcode, Form.NEG, cls, op, src, srcs=_ZERO, offs=_ZERO,
                                   imms=_ZERO, writes_dst=True))
                    continue
                if op is AluOp.END:
                    if cls is Class.ALU64 and src is Source.X:
                        continue  # 0xdf is not an instruction
                    add(OpInfo(opcode, Form.END, cls, op, src, srcs=_ZERO, offs=_ZERO,
                               imms=END_WIDTHS, writes_dst=True, cpu=4 if cls is Class.ALU64 else 1))
                    continue
                offs: frozenset[int] = _ZERO
                if op in (AluOp.DIV, AluOp.MOD):
                    offs = frozenset({0, 1})  # off=1: signed sdiv/smod (v4)
                elif op is AluOp.MOV and src is Source.X:
                    offs = _ZERO | MOVSX_OFFSETS[cls]  # movsx (v4)
                add(OpInfo(opcode, Form.ALU, cls, op, src,
                           srcs=_ZERO if src is Source.K else ANY,
                           offs=offs,
                           imms=ANY if src is Source.K else _ZERO,
                           writes_dst=True))

    for cls in (Class.JMP, Class.JMP32):
        for jop in JmpOp:
            for src in Source:
                opcode = cls | jop | src
                cpu = 3 if cls is Class.JMP32 else 1
                if jop is JmpOp.JA:
                    if src is Source.X:
                        continue
                    if cls is Class.JMP:
                        add(OpInfo(opcode, Form.JA, cls, jop, src, srcs=_ZERO, imms=_ZERO, dsts=_ZERO))
                    else:  # gotol: JMP32|JA, 32-bit offset in imm
                        add(OpInfo(opcode, Form.JA, cls, jop, src, srcs=_ZERO, offs=_ZERO,
                                   dsts=_ZERO, cpu=4))
                    continue
                if jop is JmpOp.CALL:
                    if cls is Class.JMP32:
                        continue
                    if src is Source.K:
                        # off must be 0 except for kfunc calls (module BTF index):
                        # checked by the decoder, which sees src and off together.
                        add(OpInfo(opcode, Form.CALL, cls, jop, src, srcs=frozenset(CallSrc),
                                   dsts=_ZERO))
                    else:
                        add(OpInfo(opcode, Form.CALLX, cls, jop, src, srcs=_ZERO, offs=_ZERO,
                                   imms=_ZERO))
                    continue
                if jop is JmpOp.EXIT:
                    if cls is Class.JMP and src is Source.K:
                        add(OpInfo(opcode, Form.EXIT, cls, jop, src, srcs=_ZERO, offs=_ZERO,
                                   imms=_ZERO, dsts=_ZERO))
                    continue
                if cls is Class.JMP and jop in (JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE):
                    cpu = 2
                add(OpInfo(opcode, Form.JCOND, cls, jop, src,
                           srcs=_ZERO if src is Source.K else ANY,
                           imms=ANY if src is Source.K else _ZERO, cpu=cpu))

    add(OpInfo(Class.LD | Mode.IMM | Size.DW, Form.LD_IMM64, Class.LD, size=Size.DW, mode=Mode.IMM,
               srcs=frozenset(PseudoSrc), offs=_ZERO, writes_dst=True))
    for size in (Size.W, Size.H, Size.B):  # BPF_DW is not a legacy packet load
        add(OpInfo(Class.LD | Mode.ABS | size, Form.LD_ABS, Class.LD, size=size, mode=Mode.ABS,
                   srcs=_ZERO, offs=_ZERO, dsts=_ZERO))
        add(OpInfo(Class.LD | Mode.IND | size, Form.LD_IND, Class.LD, size=size, mode=Mode.IND,
                   offs=_ZERO, dsts=_ZERO))
    for size in Size:
        add(OpInfo(Class.LDX | Mode.MEM | size, Form.LDX, Class.LDX, size=size, mode=Mode.MEM,
                   imms=_ZERO, writes_dst=True))
        if size is not Size.DW:
            add(OpInfo(Class.LDX | Mode.MEMSX | size, Form.LDX, Class.LDX, size=size,
                       mode=Mode.MEMSX, imms=_ZERO, writes_dst=True, cpu=4))
        add(OpInfo(Class.ST | Mode.MEM | size, Form.ST, Class.ST, size=size, mode=Mode.MEM, srcs=_ZERO))
        add(OpInfo(Class.STX | Mode.MEM | size, Form.STX, Class.STX, size=size, mode=Mode.MEM,
                   imms=_ZERO))
    for size in (Size.W, Size.DW):
        add(OpInfo(Class.STX | Mode.ATOMIC | size, Form.ATOMIC, Class.STX, size=size,
                   mode=Mode.ATOMIC, imms=ATOMIC_OPS, cpu=3))
    return table


OPCODES: dict[int, OpInfo] = _build()
"""Every valid opcode byte, mapped to what it is."""

# The 64-bit register ops (Class.JMP) count as is64; ALU64 too.  JMP32 and ALU
# operate on the low 32 bits.
