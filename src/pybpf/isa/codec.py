"""Bytes <-> :class:`~pybpf.isa.insn.Insn`, and the structural checks of a program.

:func:`decode` pairs the two halves of LD_IMM64 and, unless told otherwise,
runs :func:`validate`: every opcode known, reserved fields zero, registers in
range, no write to r10, every jump landing on the start of an instruction in
the program.  Errors are :class:`~pybpf.errors.DecodeError` naming the pc, the
raw bytes and the reason.

Byte order matters for the 16-bit ``off``, the 32-bit ``imm`` and the nibble
order of the register byte: on little-endian targets ``dst`` is the low nibble,
on big-endian (``bpfeb``) the high one, as the kernel's bitfields lay it out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ..errors import DecodeError, EncodeError
from .insn import FP, MAX_REG, Insn, Program
from .opcodes import OPCODES, CallSrc, Form, PseudoSrc

__all__ = ["decode", "decode_insns", "encode", "encode_insn", "validate", "INSN_SIZE"]

INSN_SIZE = 8
_LD_IMM64 = 0x18

_STRUCTS = {"little": struct.Struct("<BBhi"), "big": struct.Struct(">BBhi")}


def _struct(byteorder: str) -> struct.Struct:
    try:
        return _STRUCTS[byteorder]
    except KeyError:
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}") from None


def _split_regs(regs: int, byteorder: str) -> tuple[int, int]:
    """(dst, src) from the register byte."""
    if byteorder == "little":
        return regs & 0x0F, regs >> 4
    return regs >> 4, regs & 0x0F


def _join_regs(dst: int, src: int, byteorder: str) -> int:
    return (src << 4 | dst) if byteorder == "little" else (dst << 4 | src)


def decode_insns(data: bytes, *, byteorder: str = "little") -> list[Insn]:
    """Split ``data`` into instructions, joining LD_IMM64 pairs; no other checks.

    Raises DecodeError for a length that is not a multiple of 8, a lone
    LD_IMM64 half, or a second half whose reserved fields are set.
    """
    st = _struct(byteorder)
    if len(data) % INSN_SIZE:
        raise DecodeError(
            f"program length {len(data)} is not a multiple of {INSN_SIZE} bytes",
            pc=len(data) // INSN_SIZE,
            raw=bytes(data[len(data) - len(data) % INSN_SIZE :]),
        )
    insns: list[Insn] = []
    n = len(data) // INSN_SIZE
    pc = 0
    while pc < n:
        opcode, regs, off, imm = st.unpack_from(data, pc * INSN_SIZE)
        dst, src = _split_regs(regs, byteorder)
        if opcode == _LD_IMM64:
            raw = bytes(data[pc * 8 : pc * 8 + 16])
            if pc + 1 >= n:
                raise DecodeError("incomplete LD_IMM64: the second half is missing", pc=pc, raw=raw)
            op2, regs2, off2, imm2 = st.unpack_from(data, (pc + 1) * INSN_SIZE)
            if op2 or regs2 or off2:
                raise DecodeError(
                    "invalid LD_IMM64: reserved fields of the second half are set", pc=pc, raw=raw
                )
            value = (imm & 0xFFFF_FFFF) | (imm2 & 0xFFFF_FFFF) << 32
            insns.append(Insn(opcode, dst, src, off, value))
            pc += 2
        else:
            insns.append(Insn(opcode, dst, src, off, imm))
            pc += 1
    return insns


def decode(data: bytes, *, byteorder: str = "little", validate: bool = True) -> Program:
    """Decode raw instruction bytes into a :class:`Program`.

    >>> decode(bytes.fromhex("b700000003000000" "9500000000000000"))[0].imm
    3
    """
    program = Program(decode_insns(data, byteorder=byteorder))
    if validate:
        _validate(program, byteorder)
    return program


def encode_insn(insn: Insn, *, byteorder: str = "little") -> bytes:
    """Encode one instruction (16 bytes for LD_IMM64)."""
    st = _struct(byteorder)
    if insn.dst > 15 or insn.src > 15:
        raise EncodeError(f"register out of range in {insn!r}")
    regs = _join_regs(insn.dst, insn.src, byteorder)
    if insn.opcode == _LD_IMM64:
        lo = insn.imm & 0xFFFF_FFFF
        hi = insn.imm >> 32
        return st.pack(insn.opcode, regs, insn.off, _s32(lo)) + st.pack(0, 0, 0, _s32(hi))
    return st.pack(insn.opcode, regs, insn.off, insn.imm)


def _s32(v: int) -> int:
    return v - (1 << 32) if v >> 31 else v


def encode(program: Iterable[Insn], *, byteorder: str = "little") -> bytes:
    """Encode a program (or any iterable of instructions) to bytes."""
    return b"".join(encode_insn(i, byteorder=byteorder) for i in program)


def _reject(program: Program, index: int, reason: str, byteorder: str) -> DecodeError:
    insn = program[index]
    return DecodeError(reason, pc=program.slot_of(index), raw=encode_insn(insn, byteorder=byteorder))


def validate(program: Program, *, byteorder: str = "little") -> None:
    """Check a program's structure; raise DecodeError at the first problem.

    These are the checks every consumer relies on (the kernel makes the same
    ones before its verifier runs): valid opcode and fields, registers r0-r10,
    no write to r10, jumps and local calls landing inside the program on the
    first slot of an instruction.
    """
    _validate(program, byteorder)


def _validate(program: Program, byteorder: str) -> None:
    n_slots = program.slot_count
    for index, (pc, insn) in enumerate(program.items()):
        info = OPCODES.get(insn.opcode)
        if info is None:
            raise _reject(program, index, f"unknown opcode {insn.opcode:#04x}", byteorder)
        if insn.dst > MAX_REG:
            raise _reject(program, index, f"invalid register r{insn.dst}", byteorder)
        if insn.src > MAX_REG:
            raise _reject(program, index, f"invalid register r{insn.src}", byteorder)
        for name, allowed in (("src", info.srcs), ("off", info.offs), ("imm", info.imms),
                              ("dst", info.dsts)):
            if allowed is not None and getattr(insn, name) not in allowed:
                raise _reject(program, index, f"reserved or invalid field {name}={getattr(insn, name)}",
                              byteorder)
        if info.form is Form.CALL and insn.src != CallSrc.KFUNC and insn.off != 0:
            raise _reject(program, index, f"reserved or invalid field off={insn.off}", byteorder)
        if info.writes_dst and insn.dst == FP:
            raise _reject(program, index, "write to r10 (the frame pointer is read only)", byteorder)
        if info.form is Form.ATOMIC and insn.imm & 0x01 and insn.imm != 0xF1 and insn.src == FP:
            raise _reject(program, index, "write to r10 (the frame pointer is read only)", byteorder)
        target = insn.jump_target(pc)
        if target is None or (info.form is Form.LD_IMM64 and insn.src != PseudoSrc.FUNC):
            continue
        what = "call" if info.form is Form.CALL or info.form is Form.LD_IMM64 else "jump"
        if not 0 <= target < n_slots:
            raise _reject(program, index, f"{what} out of range to pc {target}", byteorder)
        if program.index_of(target) is None:
            raise _reject(program, index, f"{what} into the middle of LD_IMM64 at pc {target}", byteorder)
