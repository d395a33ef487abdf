"""Mutated fixtures: load_spec either succeeds or raises a PyBpfError, nothing else."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf.loader import load_spec
from pybpf.errors import PyBpfError

DATA = Path(__file__).resolve().parents[1] / "data" / "elf"
OBJECTS = sorted(p.read_bytes() for p in DATA.glob("*.o"))


def _check(data: bytes) -> None:
    with contextlib.suppress(PyBpfError):
        load_spec(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(OBJECTS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "byte", "word", "truncate", "zero"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "word":
            value = draw(st.sampled_from([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000,
                                          draw(st.integers(0, 2**32 - 1))]))
            data[pos : pos + 4] = value.to_bytes(4, "little")
        elif op == "truncate":
            del data[pos:]
        elif op == "zero":
            n = draw(st.integers(1, 64))
            data[pos : pos + n] = bytes(len(data[pos : pos + n]))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_objects_raise_only_pybpf_errors(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(OBJECTS), st.data())
def test_mutations_in_headers_and_tables(obj: bytes, data: st.DataObject) -> None:
    """Concentrate on the ELF header, section headers and the end of the file (symbols, relocations)."""
    buf = bytearray(obj)
    shoff = int.from_bytes(buf[0x28:0x30], "little" if buf[5] == 1 else "big")
    region = data.draw(st.sampled_from([(0, 64), (shoff, len(buf)), (len(buf) * 3 // 4, len(buf))]))
    lo, hi = region
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(lo, max(lo, hi - 1)))
        if pos < len(buf):
            buf[pos] = data.draw(st.integers(0, 255))
    _check(bytes(buf))


def test_every_prefix_of_one_object() -> None:
    obj = (DATA / "subprog-eb.o").read_bytes()
    for cut in range(0, len(obj), 97):
        _check(obj[:cut])
