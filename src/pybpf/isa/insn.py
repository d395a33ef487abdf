"""The one instruction model: :class:`Insn` and :class:`Program`.

An instruction is stored as its raw fields, exactly as ``struct bpf_insn``::

    +--------+----+----+----------------+--------------------------------+
    | opcode |dst |src |   off (s16)    |            imm (s32)           |
    +--------+----+----+----------------+--------------------------------+
      8 bits  4    4        16 bits                  32 bits

LD_IMM64 occupies two slots and is *one* :class:`Insn` whose ``imm`` holds
the whole 64-bit constant (``first imm | second imm << 32``, unsigned).

Program counters (``pc``) are always slot numbers, as in the kernel, so a jump
offset counts the second half of an LD_IMM64 too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, overload

from .opcodes import OPCODES, AluOp, Class, Form, JmpOp, Mode, OpInfo, Size, Source

__all__ = ["Insn", "Program", "MAX_REG", "FP"]

MAX_REG = 10
FP = 10  # r10, the read-only frame pointer

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@dataclass(frozen=True, slots=True)
class Insn:
    """One eBPF instruction.

    ``imm`` is signed 32-bit, except for LD_IMM64 where it is the unsigned
    64-bit constant.  ``off`` is signed 16-bit.  Out-of-range values given to
    the constructor are folded into those ranges when they fit the field's
    bit width (``imm=0xffffffff`` becomes ``-1``) and rejected otherwise.

    ``meta`` carries what is not part of the encoding (a label, a symbolic
    jump target, the source location of assembly) and does not take part in
    equality.
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    meta: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 0xFF:
            raise ValueError(f"opcode {self.opcode:#x} does not fit 8 bits")
        if not (0 <= self.dst <= 15 and 0 <= self.src <= 15):
            raise ValueError(f"register fields must fit 4 bits (dst={self.dst}, src={self.src})")
        if not -(1 << 15) <= self.off < (1 << 16):
            raise ValueError(f"offset {self.off} does not fit 16 bits")
        object.__setattr__(self, "off", _signed(self.off, 16))
        if self.opcode == _LD_IMM64:
            if not -(1 << 63) <= self.imm < (1 << 64):
                raise ValueError(f"immediate {self.imm} does not fit 64 bits")
            object.__setattr__(self, "imm", self.imm & 0xFFFF_FFFF_FFFF_FFFF)
        else:
            if not -(1 << 31) <= self.imm < (1 << 32):
                raise ValueError(f"immediate {self.imm} does not fit 32 bits")
            object.__setattr__(self, "imm", _signed(self.imm, 32))

    # -- decoded views of the opcode ------------------------------------------------
    @property
    def info(self) -> OpInfo | None:
        """The table entry of this opcode, or None for an invalid opcode."""
        return OPCODES.get(self.opcode)

    @property
    def form(self) -> Form | None:
        info = OPCODES.get(self.opcode)
        return info.form if info else None

    @property
    def cls(self) -> Class:
        return Class(self.opcode & 0x07)

    @property
    def source(self) -> Source:
        return Source(self.opcode & 0x08)

    @property
    def alu_op(self) -> AluOp:
        return AluOp(self.opcode & 0xF0)

    @property
    def jmp_op(self) -> JmpOp:
        return JmpOp(self.opcode & 0xF0)

    @property
    def size(self) -> Size:
        return Size(self.opcode & 0x18)

    @property
    def mode(self) -> Mode:
        return Mode(self.opcode & 0xE0)

    @property
    def width(self) -> int:
        """Slots taken by this instruction: 2 for LD_IMM64, else 1."""
        return 2 if self.opcode == _LD_IMM64 else 1

    @property
    def is_ld_imm64(self) -> bool:
        return self.opcode == _LD_IMM64

    @property
    def imm_u32(self) -> int:
        return self.imm & 0xFFFF_FFFF

    def jump_target(self, pc: int) -> int | None:
        """The slot a jump/local call at ``pc`` goes to, or None if it does not jump."""
        info = OPCODES.get(self.opcode)
        if info is None:
            return None
        if info.form is Form.JCOND:
            return pc + 1 + self.off
        if info.form is Form.JA:
            return pc + 1 + (self.imm if info.cls is Class.JMP32 else self.off)
        if info.form is Form.CALL and self.src == 1:
            return pc + 1 + self.imm
        if info.form is Form.LD_IMM64 and self.src == 4:  # PSEUDO_FUNC: callback pointer
            return pc + 1 + _signed(self.imm, 32)
        return None

    def replace(self, **changes: Any) -> Insn:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def with_meta(self, **items: Any) -> Insn:
        """A copy whose ``meta`` has ``items`` added."""
        return replace(self, meta=MappingProxyType({**(self.meta or _EMPTY), **items}))

    def __str__(self) -> str:
        from ..asm.disasm import format_insn  # presentation lives in asm

        return format_insn(self)


_LD_IMM64 = Class.LD | Mode.IMM | Size.DW


class Program(Sequence[Insn]):
    """An immutable sequence of instructions with slot bookkeeping.

    Indexing is by *instruction* (``prog[i]``); :meth:`at` looks up by slot
    (``pc``).  ``labels`` maps slot numbers to names (from assembly or ELF
    symbols), used by the disassembler.
    """

    __slots__ = ("_insns", "_slots", "_index", "labels", "name")

    def __init__(self, insns: Sequence[Insn] = (), *, labels: Mapping[int, str] | None = None,
                 name: str = "") -> None:
        self._insns: tuple[Insn, ...] = tuple(insns)
        slots: list[int] = []
        index: dict[int, int] = {}
        pc = 0
        for i, insn in enumerate(self._insns):
            slots.append(pc)
            index[pc] = i
            pc += insn.width
        self._slots = tuple(slots)
        self._index = index
        self.labels: dict[int, str] = dict(labels or {})
        self.name = name

    @overload
    def __getitem__(self, i: int) -> Insn: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Insn]: ...
    def __getitem__(self, i: int | slice) -> Insn | Sequence[Insn]:
        return self._insns[i]

    def __len__(self) -> int:
        return len(self._insns)

    def __iter__(self) -> Iterator[Insn]:
        return iter(self._insns)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Program):
            return self._insns == other._insns
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._insns)

    def __repr__(self) -> str:
        return f"Program({len(self._insns)} insns, {self.slot_count} slots)"

    @property
    def insns(self) -> tuple[Insn, ...]:
        return self._insns

    @property
    def slot_count(self) -> int:
        """Length in 8-byte slots (what the kernel calls insn_cnt)."""
        return (self._slots[-1] + self._insns[-1].width) if self._insns else 0

    def slot_of(self, index: int) -> int:
        """The pc (slot) of instruction number ``index``."""
        return self._slots[index]

    def index_of(self, pc: int) -> int | None:
        """The instruction number that starts at slot ``pc``, or None."""
        return self._index.get(pc)

    def at(self, pc: int) -> Insn:
        """The instruction starting at slot ``pc``."""
        i = self._index.get(pc)
        if i is None:
            raise IndexError(f"no instruction starts at pc {pc}")
        return self._insns[i]

    def items(self) -> Iterator[tuple[int, Insn]]:
        """``(pc, insn)`` pairs in order."""
        return zip(self._slots, self._insns, strict=True)

    def jump_targets(self) -> set[int]:
        """Every slot some jump or local call goes to."""
        targets = set()
        for pc, insn in self.items():
            t = insn.jump_target(pc)
            if t is not None:
                targets.add(t)
        return targets

    # -- conversions ------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes, *, byteorder: str = "little", validate: bool = True) -> Program:
        """Decode ``data`` (see :func:`pybpf.isa.codec.decode`)."""
        from .codec import decode

        return decode(data, byteorder=byteorder, validate=validate)

    def to_bytes(self, *, byteorder: str = "little") -> bytes:
        """Encode back to bytes, bit-exact with what was decoded."""
        from .codec import encode

        return encode(self, byteorder=byteorder)
