"""Assembly errors: AsmError with the 1-based line and column of the offending token."""

from __future__ import annotations

import pytest

from pybpf.asm import assemble
from pybpf.errors import AsmError, PyBpfError

CASES = [
    # (syntax, source, line, column, words in the reason)
    ("ubpf", "mov %r0, 1\nfoo %r1, 2\nexit", 2, 1, "unknown mnemonic"),
    ("ubpf", "mov %r0, %r16", 1, 10, "invalid register"),
    ("ubpf", "  mov %r0, 0x100000000", 1, 12, "out of range"),
    ("ubpf", "exit %r0", 1, 6, "takes 0 operands"),
    ("ubpf", "mov %r0", 1, 8, "takes 2 operands"),
    ("ubpf", "mov r0, 1", 1, 5, "expected a register"),
    ("ubpf", "ldxw %r0, %r1", 1, 11, "memory operand"),
    ("ubpf", "stw [%r1+70000], 1", 1, 5, "offset 70000 out of range"),
    ("ubpf", "mov %r0, 0\nja nowhere\nexit", 2, 4, "unknown label 'nowhere'"),
    ("ubpf", "jeq %r1, 0, ,", 1, 14, "takes 3 operands"),
    ("ubpf", "a:\nexit\na:\nexit", 3, 1, "defined twice"),
    ("ubpf", "lddw %r0, 0x10000000000000000", 1, 11, "out of range"),
    ("ubpf", "neg %r0, 1", 1, 10, "takes 1 operand"),
    ("ubpf", "movsx864 %r0, 5", 1, 15, "needs a register source"),
    ("ubpf", "call local", 1, 11, "needs a target"),
    ("llvm", "r0 = 1\nr11 = 2", 2, 1, "invalid register r11"),
    ("llvm", "r0 ?= 1", 1, 1, "cannot parse"),
    ("llvm", "r0 = *(u32 *)(r1 + 99999)", 1, 20, "offset 99999 out of range"),
    ("llvm", "if r1 > 3 goto +40000", 1, 16, "offset 40000 out of range"),
    ("llvm", "w0 = r1", 1, 6, "cannot mix"),
    ("llvm", "r0 = 4294967296", 1, 6, "out of range"),
    ("llvm", "r1 = be8 r1", 1, 8, "width must be 16, 32 or 64"),
    ("llvm", "r1 = -r2", 1, 7, "in place"),
    ("llvm", "lock *(u64 *)(r1 + 0) -= r2", 1, 23, "no atomic"),
    ("llvm", "r0 = *(u64 *)skb[1]", 1, 8, "invalid access type"),
    ("llvm", "   goto somewhere", 1, 9, "unknown label 'somewhere'"),
    ("kernel", "0: (85) call bpf_map_lookup_elem#2", 1, 34, "is #1, not #2"),
    ("kernel", "r2 = atomic64_fetch_add((u64 *)(r1 +0), r3)", 1, 41, "its source register"),
    ("kernel", "r0 = (s64)r1", 1, 1, "cannot parse"),
]


@pytest.mark.parametrize(("syntax", "source", "line", "column", "reason"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_error_position(syntax: str, source: str, line: int, column: int, reason: str) -> None:
    with pytest.raises(AsmError) as info:
        assemble(source, syntax=syntax)
    err = info.value
    assert reason in err.reason
    assert (err.line, err.column) == (line, column), str(err)
    assert err.text == source.splitlines()[line - 1]
    assert isinstance(err, PyBpfError) and isinstance(err, ValueError)
    # the message shows the line and a caret under the column
    shown = str(err).splitlines()
    assert shown[0].startswith(f"line {line}, column {column}: ")
    assert shown[2].index("^") - 4 == column - 1


def test_jump_to_label_beyond_16_bits() -> None:
    source = "ja far\n" + "mov %r0, 1\n" * 32768 + "far:\nexit\n"
    with pytest.raises(AsmError) as info:
        assemble(source, syntax="ubpf")
    assert (info.value.line, info.value.column) == (1, 4)
    assert "beyond a 16-bit offset" in info.value.reason
    # the same distance is fine for ja32 (32-bit offset in imm)
    assert assemble(source.replace("ja far", "ja32 far"), syntax="ubpf")[0].imm == 32768


def test_bad_syntax_name() -> None:
    with pytest.raises(ValueError, match="syntax must be one of"):
        assemble("exit", syntax="gas")


def test_empty_source_is_an_empty_program() -> None:
    assert len(assemble("  \n# nothing\n")) == 0
