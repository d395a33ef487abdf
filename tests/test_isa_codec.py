"""The codec: bit-exact round trips, and every malformed program rejected with pc, raw and reason."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.errors import DecodeError
from pybpf.isa import OPCODES, Insn, Program, decode, decode_insns, encode, validate
from strategies import insns_for, opcode_infos, retarget, valid_insns, valid_programs

BYTEORDERS = ("little", "big")


def _slot(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0,
          order: str = "little") -> bytes:
    regs = (src << 4 | dst) if order == "little" else (dst << 4 | src)
    return struct.pack("<BBhi" if order == "little" else ">BBhi", opcode, regs, off, imm)


EXIT = _slot(0x95)


@pytest.mark.parametrize("order", BYTEORDERS)
@given(prog=valid_programs())
@settings(max_examples=150, deadline=None)
def test_program_round_trip_bit_exact(order: str, prog: Program) -> None:
    data = encode(prog, byteorder=order)
    assert len(data) == 8 * prog.slot_count
    back = decode(data, byteorder=order)
    assert back == prog
    assert encode(back, byteorder=order) == data


@pytest.mark.parametrize("order", BYTEORDERS)
@given(data=st.lists(st.binary(min_size=8, max_size=8), max_size=12).map(b"".join))
@settings(max_examples=150, deadline=None)
def test_any_bytes_decode_or_raise_then_reencode(order: str, data: bytes) -> None:
    """Whatever decode_insns accepts re-encodes to the same bytes."""
    try:
        insns = decode_insns(data, byteorder=order)
    except DecodeError as e:
        assert e.pc is not None and e.raw is not None and e.reason
        return
    assert encode(insns, byteorder=order) == data


@given(insn=valid_insns())
@settings(max_examples=300, deadline=None)
def test_every_strategy_insn_is_valid(insn: Insn) -> None:
    validate(Program([retarget(insn, 0, insn.width), Insn(0x95)]))


def test_strategies_cover_every_opcode() -> None:
    assert {i.opcode for i in opcode_infos()} == set(OPCODES)
    assert {i.opcode for i in opcode_infos(max_cpu=1)} < set(OPCODES)


@pytest.mark.parametrize("opcode", sorted(OPCODES), ids=lambda op: f"{op:#04x}")
@given(data=st.data())
@settings(max_examples=5, deadline=None)
def test_each_opcode_strategy_is_valid(opcode: int, data: st.DataObject) -> None:
    insn = data.draw(insns_for(OPCODES[opcode]))
    assert insn.opcode == opcode
    insn = retarget(insn, 0, insn.width)  # jumps, calls, callbacks: to the exit
    validate(Program([insn, Insn(0x95)]))
    assert decode(encode([insn, Insn(0x95)])) == Program([insn, Insn(0x95)])


def test_register_nibbles_follow_byte_order() -> None:
    insn = Insn(0xBF, dst=1, src=2)
    assert encode([insn], byteorder="little")[1] == 0x21
    assert encode([insn], byteorder="big")[1] == 0x12
    assert decode(_slot(0xBF, 1, 2, order="big") + _slot(0x95, order="big"), byteorder="big")[0] == insn


def test_ld_imm64_is_one_insn_two_slots() -> None:
    data = _slot(0x18, 1, 0, 0, 0x55667788) + _slot(0, 0, 0, 0, 0x11223344) + EXIT
    prog = decode(data)
    assert len(prog) == 2 and prog.slot_count == 3
    assert prog[0].imm == 0x1122334455667788
    assert prog.slot_of(1) == 2
    assert encode(prog) == data


def _reject(data: bytes, pc: int, reason: str, order: str = "little") -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(data, byteorder=order)
    err = info.value
    assert err.pc == pc
    assert err.raw is not None and len(err.raw) in (8, 16)
    assert reason in err.reason
    assert f"pc {pc}" in str(err)
    return err


@pytest.mark.parametrize("order", BYTEORDERS)
def test_unknown_opcode(order: str) -> None:
    err = _reject(_slot(0xB7, order=order) + _slot(0xFF, order=order), 1, "unknown opcode", order)
    assert err.raw == _slot(0xFF, order=order)


@pytest.mark.parametrize(("slot", "field"), [
    (_slot(0xB7, src=1), "src"),  # mov imm with src set
    (_slot(0xBF, 0, 1, 0, 5), "imm"),  # mov reg with imm set
    (_slot(0x07, 0, 0, 3, 1), "off"),  # add imm with off set
    (_slot(0x95, 0, 0, 0, 1), "imm"),  # exit with imm
    (_slot(0x05, 1, 0, 0, 0), "dst"),  # ja with dst
    (_slot(0xD4, 1, 0, 0, 8), "imm"),  # le8 does not exist
    (_slot(0xDB, 0, 1, 0, 0x02), "imm"),  # unknown atomic op
    (_slot(0x85, 0, 0, 1, 1), "off"),  # helper call with off
    (_slot(0x8D, 1, 0, 0, 1), "imm"),  # callx with imm
])
def test_reserved_field_set(slot: bytes, field: str) -> None:
    _reject(slot + EXIT, 0, f"field {field}=")


def test_lone_ld_imm64_half() -> None:
    err = _reject(_slot(0xB7) + _slot(0x18, imm=1), 1, "incomplete LD_IMM64")
    assert err.raw == _slot(0x18, imm=1)


def test_ld_imm64_second_half_reserved_fields() -> None:
    _reject(_slot(0x18) + _slot(0, 1, 0, 0, 0) + EXIT, 0, "reserved fields of the second half")
    _reject(_slot(0x18) + _slot(0x18, 0, 0, 0, 0) + EXIT, 0, "reserved fields of the second half")


@pytest.mark.parametrize("order", BYTEORDERS)
def test_jump_out_of_program(order: str) -> None:
    _reject(_slot(0x05, off=2, order=order) + _slot(0x95, order=order), 0, "jump out of range", order)
    _reject(_slot(0x05, off=-2, order=order) + _slot(0x95, order=order), 0, "jump out of range", order)
    _reject(_slot(0x06, imm=5, order=order) + _slot(0x95, order=order), 0, "jump out of range", order)
    _reject(_slot(0x85, 0, 1, 0, 7, order=order) + _slot(0x95, order=order), 0, "call out of range", order)


def test_jump_into_second_ld_imm64_slot() -> None:
    data = _slot(0x15, 1, 0, 1, 0) + _slot(0x18, 0, 0, 0, 1) + _slot(0) + EXIT
    _reject(data, 0, "into the middle of LD_IMM64")


@pytest.mark.parametrize(("slot", "pc"), [
    (_slot(0xB7, 11, 0, 0, 1), 0),
    (_slot(0xBF, 0, 12), 0),
    (_slot(0x61, 15, 1), 0),
])
def test_register_above_r10(slot: bytes, pc: int) -> None:
    _reject(slot + EXIT, pc, "invalid register")


@pytest.mark.parametrize("slot", [
    _slot(0xB7, 10, 0, 0, 1),  # mov r10, 1
    _slot(0x07, 10, 0, 0, 8),  # add r10, 8
    _slot(0x61, 10, 1),  # ldxw r10
    _slot(0xDB, 1, 10, 0, 0x01),  # fetch-add loads into src=r10
])
def test_write_to_r10(slot: bytes) -> None:
    _reject(slot + EXIT, 0, "write to r10")


def test_read_of_r10_is_fine() -> None:
    decode(_slot(0xBF, 1, 10) + _slot(0x7B, 10, 1, -8) + _slot(0xDB, 10, 1, -8, 0) + EXIT)


def test_length_not_multiple_of_8() -> None:
    with pytest.raises(DecodeError) as info:
        decode(EXIT + b"\x00\x01")
    assert info.value.pc == 1 and "multiple of 8" in info.value.reason
