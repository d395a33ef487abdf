"""The opcode tables and the 8-byte codec."""

from __future__ import annotations

import pytest
from cbpf_strategies import canonical_insn
from hypothesis import given
from hypothesis import strategies as st

from pybpf.cbpf import CODES, SKF_AD_OFF, Anc, SockFilter, decode, encode
from pybpf.cbpf.model import ancillary
from pybpf.errors import DecodeError, EncodeError, PyBpfError

# net/core/filter.c chk_code_allowed, written out independently of the table's construction.
KERNEL_CODES = {
    0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C, 0x94, 0x9C, 0x54, 0x5C, 0x44, 0x4C, 0xA4, 0xAC,
    0x64, 0x6C, 0x74, 0x7C, 0x84,
    0x20, 0x28, 0x30, 0x80, 0x40, 0x48, 0x50, 0x00, 0x60, 0x81, 0xB1, 0x01, 0x61,
    0x02, 0x03, 0x07, 0x87, 0x06, 0x16,
    0x05, 0x15, 0x1D, 0x35, 0x3D, 0x25, 0x2D, 0x45, 0x4D,
}


def test_table_is_the_kernels() -> None:
    assert set(CODES) == KERNEL_CODES


def test_every_class_and_mode_is_named() -> None:
    names = {i.name for i in CODES.values()}
    assert {"ld", "ldh", "ldb", "ldx", "ldxb", "st", "stx", "add", "neg", "mod", "xor", "ja", "jeq",
            "jgt", "jge", "jset", "ret", "tax", "txa"} <= names
    modes = {i.operand for i in CODES.values()}
    assert {"[k]", "[x+k]", "M[k]", "#k", "#len", "4*([k]&0xf)", "x", "a", ""} <= modes


def test_ancillary_offsets() -> None:
    assert [a.value for a in Anc] == list(range(0, 64, 4))
    for a in Anc:
        assert ancillary(a.k) is a
        assert a.k == (SKF_AD_OFF + a.value) & 0xFFFF_FFFF
    assert ancillary((SKF_AD_OFF + 64) & 0xFFFF_FFFF) is None
    assert ancillary((SKF_AD_OFF + 2) & 0xFFFF_FFFF) is None
    assert ancillary(12) is None


def test_sockfilter_fields() -> None:
    assert SockFilter(0x20, 0, 0, SKF_AD_OFF).k == 0xFFFFF000
    assert SockFilter(0x20, 0, 0, SKF_AD_OFF).k_signed == SKF_AD_OFF
    for bad in ({"code": 1 << 16}, {"code": 0, "jt": 256}, {"code": 0, "jf": -1}, {"code": 0, "k": 1 << 32}):
        with pytest.raises(ValueError):
            SockFilter(**bad)


@given(st.lists(canonical_insn(), max_size=20), st.sampled_from(["little", "big"]))
def test_codec_round_trip(prog: list[SockFilter], order: str) -> None:
    raw = encode(prog, order=order)  # type: ignore[arg-type]
    assert len(raw) == 8 * len(prog)
    assert decode(raw, order=order) == prog  # type: ignore[arg-type]


def test_codec_layout() -> None:
    f = SockFilter(0x15, 3, 4, 0x800)
    assert encode([f]) == bytes.fromhex("1500 03 04 00080000".replace(" ", ""))
    assert encode([f], order="big") == bytes.fromhex("0015 03 04 00000800".replace(" ", ""))


def test_codec_errors() -> None:
    with pytest.raises(DecodeError) as exc:
        decode(bytes(12))
    assert exc.value.pc == 1 and isinstance(exc.value, PyBpfError)
    with pytest.raises(DecodeError):
        decode(bytes(8), order="middle")  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        encode([], order="middle")  # type: ignore[arg-type]
