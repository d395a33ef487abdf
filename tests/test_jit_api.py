"""The JIT's own surface: compile cache, IR/asm texts, modes, resolver, batches, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llvmlite")

from pybpf.asm import assemble
from pybpf.cli import main
from pybpf.errors import BudgetExceededError, DecodeError, PyBpfError
from pybpf.interp import Interpreter
from pybpf.isa import Insn, Program, PseudoSrc
from pybpf.jit import JitProgram, compile_program
from pybpf.runtime import Memory

SUM = """
mov %r0, 0
mov %r3, 0
loop:
ldxb %r4, [%r1]
add %r0, %r4
add %r1, 1
add %r3, 1
jlt %r3, %r2, loop
exit
"""


def test_compile_cache_and_texts() -> None:
    program = assemble(SUM, syntax="ubpf")
    first = compile_program(program)
    assert compile_program(program) is first  # same bytes, same options: one compile
    assert compile_program(program, checked=False) is not first
    assert "define" in first.llvm_ir and "region_lookup" in first.llvm_ir
    assert "bpf_run" in first.optimized_ir
    assert "bpf_run:" in first.asm


@pytest.mark.parametrize("mode", ["checked", "trusted"])
def test_modes_agree_and_repeat_runs_in_one_call(mode: str) -> None:
    program = assemble(SUM, syntax="ubpf")
    memory = Memory()
    region = memory.add("mem", bytes(range(1, 33)))
    jit = JitProgram(program, mode=mode)
    want = Interpreter(program).run(memory, r1=region.base, r2=32)
    got = jit.run(memory, r1=region.base, r2=32)
    assert (got.r0, got.insns, got.regs) == (want.r0, want.insns, want.regs)
    assert jit.repeat(memory, 1000, r1=region.base, r2=32).r0 == want.r0
    assert [r.name for r in memory.regions] == ["mem"]


def test_budget_in_checked_mode_only() -> None:
    program = assemble(SUM, syntax="ubpf")
    memory = Memory()
    region = memory.add("mem", bytes(64))
    with pytest.raises(BudgetExceededError) as info:
        JitProgram(program, budget=50).run(memory, r1=region.base, r2=64)
    with pytest.raises(BudgetExceededError) as want:
        Interpreter(program, budget=50).run(memory, r1=region.base, r2=64)
    assert str(info.value) == str(want.value)
    res = JitProgram(program, budget=50, mode="trusted").run(memory, r1=region.base, r2=64)
    assert res.insns == 2 + 64 * 5 + 1  # trusted: no limit, but the count is exact


def test_resolver_constants_like_the_interpreter() -> None:
    program = Program([Insn(0x18, dst=0, src=PseudoSrc.MAP_FD, imm=7), Insn(0x95)])
    with pytest.raises(DecodeError):
        JitProgram(program)
    got = JitProgram(program, resolver=lambda pc, insn: 0x1234_5678_9ABC).run(Memory())
    assert got.r0 == Interpreter(program, resolver=lambda pc, insn: 0x1234_5678_9ABC).run(Memory()).r0
    with pytest.raises(PyBpfError, match="trusted mode"):
        JitProgram(program, resolver=lambda pc, insn: 1, mode="trusted")


def test_unknown_mode() -> None:
    with pytest.raises(PyBpfError, match="unknown JIT mode"):
        JitProgram(Program([Insn(0x95)]), mode="fast")


@pytest.mark.parametrize(("emit", "needle"), [("llvm-ir", "define"), ("optimized-ir", "bpf_run"),
                                               ("asm", "bpf_run:")])
def test_cli_emits(emit: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "sum.s"
    src.write_text(SUM)
    assert main(["jit", str(src), "--emit", emit]) == 0
    assert needle in capsys.readouterr().out


def test_helpers_call_back_into_the_program() -> None:
    """``call_subprog`` (bpf_loop's callback path): a fresh frame, its own budget, the same result."""
    from jit_dual import compare_runs
    from pybpf.runtime import HelperContext, HelperRegistry

    reg = HelperRegistry()

    def loop(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        call = ctx.state["call_subprog"]
        for i in range(r1):
            if call(r2, i, r3):
                return i + 1
        return r1

    reg.register(1, loop, name="loop")
    fn = Insn(0x18, dst=2, src=PseudoSrc.FUNC, imm=7)  # callback at pc 1 + 1 + 7 = 9
    program = Program([
        Insn(0x7A, dst=10, off=-8, imm=0),      # 0: *(u64 *)(r10 - 8) = 0
        fn,                                     # 1-2: r2 = callback
        Insn(0xB7, dst=1, imm=5),               # 3: r1 = 5
        Insn(0xBF, dst=3, src=10),              # 4: r3 = r10
        Insn(0x07, dst=3, imm=-8),              # 5: r3 -= 8
        Insn(0x85, imm=1),                      # 6: call loop
        Insn(0x79, dst=0, src=10, off=-8),      # 7: r0 = *(u64 *)(r10 - 8)
        Insn(0x95),                             # 8: exit
        Insn(0x79, dst=0, src=2, off=0),        # 9: callback: r0 = *(u64 *)r2
        Insn(0x0F, dst=0, src=1),               # 10: r0 += r1 (i)
        Insn(0x7B, dst=2, src=0, off=0),        # 11: *(u64 *)r2 = r0
        Insn(0xB7, dst=0, imm=0),               # 12: r0 = 0
        Insn(0x95),                             # 13: exit
    ])
    res = compare_runs(Interpreter(program, helpers=reg), JitProgram(program, helpers=reg), Memory())
    assert res.r0 == 0 + 1 + 2 + 3 + 4
