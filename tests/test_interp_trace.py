"""The trace, and the generated code against the stepper on random programs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.errors import PyBpfError
from pybpf.interp import Interpreter, TraceStep
from pybpf.interp.compiler import generate_source
from pybpf.isa import OPCODES, AluOp, Class, Form, Insn, JmpOp, Program
from pybpf.runtime import Memory, ubpf_test_helpers
from test_interp_semantics import program, run_both


def test_trace_records_register_changes_and_stores() -> None:
    code = "mov %r0, 5\nmov %r2, 5\nstxdw [%r1+0], %r0\nadd %r0, 1\nexit"
    res, _, _ = run_both(code, bytes(8))
    interp = Interpreter(program(code))
    memory = Memory()
    region = memory.add("mem", 8)
    traced = interp.run(memory, r1=region.base, trace=True)
    assert traced.trace is not None
    steps = traced.trace
    assert [s.pc for s in steps] == [0, 1, 2, 3, 4]
    assert all(isinstance(s, TraceStep) for s in steps)
    assert steps[0].changes == (("r0", 5),)
    assert steps[1].changes == (("r2", 5),)
    assert steps[2].changes == ((f"mem[{region.base:#x}]/8", 5),)
    assert steps[3].changes == (("r0", 6),)
    assert steps[4].changes == () and steps[4].insn == Insn(0x95)
    assert res.r0 == traced.r0 == 6


def test_trace_of_a_local_call_shows_the_new_frame() -> None:
    code = "call local f\nexit\nf:\nmov %r0, 1\nexit"
    res = Interpreter(program(code)).run(Memory(), trace=True)
    assert res.trace is not None
    assert [s.pc for s in res.trace] == [0, 2, 3, 1]
    (name, value), = res.trace[0].changes
    assert name == "r10" and value != res.regs[10]
    assert ("r10", res.regs[10]) in res.trace[2].changes  # restored by the callee's exit


def test_generated_source_is_inspectable() -> None:
    interp = Interpreter(program("mov %r0, 1\nL:\nadd %r0, 1\njne %r0, 5, L\nexit"))
    src = generate_source(interp.loaded)
    assert src.startswith("def _sub0(") and "while True:" in src and "# block 1 at pc 1" in src


IF_THEN = "mov %r0, 1\njeq %r1, 0, +2\nmov %r0, 2\nadd %r0, 5\nadd %r0, 10\nexit"
IF_ELSE = ("mov %r0, 1\njgt %r1, 5, else\nmov %r0, 2\nlddw %r3, 0x100000000\nja join\n"
           "else:\nmov %r0, 3\nmov %r3, 7\njoin:\nadd %r0, %r3\nexit")


@pytest.mark.parametrize(("code", "r1", "r0", "insns"), [
    (IF_THEN, 0, 11, 4), (IF_THEN, 1, 17, 6),
    (IF_ELSE, 9, 10, 6), (IF_ELSE, 2, 0x1_0000_0002, 7),
])
def test_structured_ifs(code: str, r1: int, r0: int, insns: int) -> None:
    interp = Interpreter(program(code))
    src = generate_source(interp.loaded)
    assert "# block 1" not in src  # the shapes became Python ifs, no dispatch
    res, _, _ = run_both(code, r1=r1)
    assert (res.r0, res.insns) == (r0, insns)
    for budget in range(insns):  # the budget is still exact inside the nested parts
        with pytest.raises(PyBpfError):
            interp.run(Memory(), r1=r1, budget=budget)


# -- random programs: both engines must agree exactly ----------------------------------------
MEM_SIZE = 64
_ALU_OPS = [op for op in AluOp if op not in (AluOp.NEG, AluOp.END)]
_JMP_OPS = [op for op in JmpOp if op not in (JmpOp.JA, JmpOp.CALL, JmpOp.EXIT)]
_MEM_FORMS = [info for info in OPCODES.values() if info.form in (Form.LDX, Form.ST, Form.STX, Form.ATOMIC)]
_WRITABLE = list(range(9))  # r9 = memory pointer, r10 = frame pointer: never written


@st.composite
def _insn(draw: Any, n_left: int, allow_back: bool) -> Insn:
    kind = draw(st.sampled_from(["alu", "alu", "alu", "mem", "jmp", "misc"]))
    dst = draw(st.sampled_from(_WRITABLE))
    src = draw(st.integers(0, 10))
    imm = draw(st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, 1, -1, 31, 32, 63, 64])))
    if kind == "alu":
        cls = draw(st.sampled_from([Class.ALU, Class.ALU64]))
        op = draw(st.sampled_from(_ALU_OPS))
        reg = draw(st.booleans())
        off = 0
        if op in (AluOp.DIV, AluOp.MOD):
            off = draw(st.sampled_from([0, 1]))
        elif op == AluOp.MOV and reg:
            off = draw(st.sampled_from([0, 8, 16] + ([32] if cls == Class.ALU64 else [])))
        return Insn(cls | op | (0x08 if reg else 0), dst, src if reg else 0, off, 0 if reg else imm)
    if kind == "misc":
        which = draw(st.sampled_from(["neg", "end", "lddw"]))
        if which == "neg":
            return Insn(draw(st.sampled_from([0x84, 0x87])), dst)
        if which == "end":
            width = draw(st.sampled_from([16, 32, 64]))
            return Insn(draw(st.sampled_from([0xD4, 0xDC, 0xD7])), dst, imm=width)
        return Insn(0x18, dst, imm=draw(st.integers(0, 2**64 - 1)))
    if kind == "mem":
        info = draw(st.sampled_from(_MEM_FORMS))
        stack = draw(st.booleans())
        base = 10 if stack else 9
        size = info.nbytes
        if stack:
            wild = draw(st.integers(0, 9)) == 0
            off = draw(st.integers(-512 - 4, 2)) if wild else -8 * draw(st.integers(1, 64))
        else:
            off = draw(st.integers(-4, MEM_SIZE + 2)) if draw(st.integers(0, 9)) == 0 else \
                size * draw(st.integers(0, MEM_SIZE // size - 1))
        value_reg = draw(st.sampled_from(_WRITABLE))
        if info.form is Form.LDX:
            return Insn(info.opcode, dst, base, off)
        if info.form is Form.ST:
            return Insn(info.opcode, base, 0, off, imm)
        if info.form is Form.STX:
            return Insn(info.opcode, base, value_reg, off)
        atomic_op = draw(st.sampled_from(sorted(OPCODES[info.opcode].imms or [])))
        return Insn(info.opcode, base, value_reg, off, atomic_op)
    # jumps: mostly forward, sometimes backward (the budget then ends endless loops)
    cls = draw(st.sampled_from([Class.JMP, Class.JMP32]))
    op = draw(st.sampled_from(_JMP_OPS))
    reg = draw(st.booleans())
    lo = -3 if allow_back else 0
    off = draw(st.integers(lo, max(n_left - 1, 0)))
    if off == -1:
        off = 0
    return Insn(cls | op | (0x08 if reg else 0), dst, src if reg else 0, off, 0 if reg else imm)


def _no_jump(insn: Insn) -> bool:
    return OPCODES[insn.opcode].form is not Form.JCOND


@st.composite
def random_programs(draw: Any) -> Program:
    n = draw(st.integers(1, 30))
    allow_back = draw(st.booleans())
    insns = [Insn(0xBF, 9, 1)]  # r9 = memory pointer
    insns += [Insn(0x18, r, imm=draw(st.integers(0, 2**64 - 1))) for r in (0, 2, 3, 4, 5, 6, 7, 8)]
    for i in range(n):
        if draw(st.integers(0, 5)) == 0:  # the if-else shape the compiler turns into a Python if
            then = [draw(_insn(0, False).filter(_no_jump)) for _ in range(draw(st.integers(0, 3)))]
            other = [draw(_insn(0, False).filter(_no_jump)) for _ in range(draw(st.integers(1, 3)))]
            cond = draw(_insn(1, False).filter(lambda x: OPCODES[x.opcode].form is Form.JCOND))
            width = sum(x.width for x in then)
            insns.append(cond.replace(off=width + 1))
            insns += [*then, Insn(0x05, off=sum(x.width for x in other)), *other]
        insns.append(draw(_insn(n - i, allow_back)))
    insns.append(Insn(0x95))
    return Program(insns)


def _outcome(interp: Interpreter, mem: bytes, trace: bool) -> tuple[object, ...]:
    memory = Memory()
    region = memory.add("mem", bytearray(mem))
    try:
        res = interp.run(memory, r1=region.base, r2=len(mem), trace=trace)
    except PyBpfError as exc:
        return ("error", type(exc).__name__, exc.pc, str(exc), bytes(region.buffer))
    return ("ok", res.r0, res.regs[:10], res.insns, bytes(region.buffer))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_programs(), st.binary(min_size=MEM_SIZE, max_size=MEM_SIZE))
def test_generated_code_matches_stepper(prog: Program, mem: bytes) -> None:
    try:
        interp = Interpreter(prog, budget=300, helpers=ubpf_test_helpers())
    except PyBpfError:
        return  # e.g. a jump to itself: rejected at load, nothing to compare
    assert _outcome(interp, mem, False) == _outcome(interp, mem, True)


def test_random_programs_from_shared_strategies() -> None:
    strategies = pytest.importorskip("strategies", reason="tests/strategies.py not written yet")
    programs = getattr(strategies, "valid_programs", None)
    if programs is None:
        pytest.skip("tests/strategies.py has no `valid_programs` strategy")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(programs(), st.binary(min_size=MEM_SIZE, max_size=MEM_SIZE))
    def check(prog: Program, mem: bytes) -> None:
        try:
            interp = Interpreter(prog, budget=2000, helpers=ubpf_test_helpers())
        except PyBpfError:
            return
        assert _outcome(interp, mem, False) == _outcome(interp, mem, True)

    check()
