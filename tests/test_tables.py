"""Every table derived from the opcode table covers exactly the opcodes it should.

This stands in for a compiler's exhaustiveness check (design note 4): adding an
opcode to ``OPCODES`` without teaching a consumer fails here, not at run time.
"""

from __future__ import annotations

from pybpf.asm.syntax import ubpf_variants
from pybpf.interp.compiler import _EMIT
from pybpf.interp.semantics import ALU_OPS, JCOND_OPS
from pybpf.interp.stepper import _STEP
from pybpf.isa import OPCODES, AluOp, Form, JmpOp


def test_alu_semantics_cover_every_alu_op() -> None:
    ops = {AluOp(info.op) for info in OPCODES.values() if info.form in (Form.ALU, Form.NEG)}
    assert set(ALU_OPS) == ops


def test_jump_semantics_cover_every_condition() -> None:
    ops = {JmpOp(info.op) for info in OPCODES.values() if info.form is Form.JCOND}
    assert set(JCOND_OPS) == ops


def test_interpreter_form_tables_cover_every_form() -> None:
    forms = {info.form for info in OPCODES.values()}
    assert set(_EMIT) == forms  # code generator
    assert set(_STEP) == forms  # stepper


def test_every_opcode_has_a_ubpf_mnemonic() -> None:
    for opcode, info in OPCODES.items():
        assert list(ubpf_variants(info)), f"{opcode:#04x} has no uBPF spelling"


def test_opcode_table_is_self_consistent() -> None:
    for opcode, info in OPCODES.items():
        assert info.opcode == opcode
        assert opcode & 0x07 == info.cls
        if info.source is not None:
            assert opcode & 0x08 == info.source
        if info.size is not None:
            assert opcode & 0x18 == info.size
        if info.mode is not None:
            assert opcode & 0xE0 == info.mode
    assert len(OPCODES) == 126


def test_each_syntax_formats_every_form() -> None:
    from pybpf.asm import disasm

    forms = {info.form for info in OPCODES.values()}
    for table in (disasm._LLVM, disasm._KERNEL, disasm._UBPF):
        assert set(table) == forms
