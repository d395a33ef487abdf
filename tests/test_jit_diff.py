"""Differential tests: the JIT against the interpreter on random programs.

* hypothesis programs from ``strategies.valid_programs`` (any instruction,
  jumps anywhere, so loops, faults, budget exhaustion, bad calls), run with
  memory, packets and helpers that read and write memory, fail or unwind;
* seeded verifiable programs from ``randprog`` (memory, stack, atomics,
  bpf-to-bpf calls), in checked and in trusted mode.

Both engines must agree on everything observable: load errors, r0, all
registers, the instruction count, the error (type, message, pc) and memory.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("llvmlite")

from jit_dual import compare_runs
from pybpf.errors import PyBpfError
from pybpf.interp import Interpreter
from pybpf.isa import OPCODES, CallSrc, Form, Program
from pybpf.jit import JitProgram
from pybpf.runtime import HelperContext, HelperRegistry, Memory
from randprog import generate
from strategies import valid_programs

N_HELPERS = 6


def _helpers() -> HelperRegistry:
    """Helpers 0-5: pure, memory read, memory write, a failing one, an unwinding one, a no-op."""
    reg = HelperRegistry()

    def add(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        return r1 + r2 * 3 + r5

    def load(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        return ctx.memory.load(r1, 8)  # may fault: a HelperError naming the call

    def store(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        ctx.memory.store(r1, 4, r2)
        return 1

    def fail(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        if r1 & 1:
            raise ValueError("odd r1")
        return r1

    reg.register(0, add, name="add")
    reg.register(1, load, name="load")
    reg.register(2, store, name="store")
    reg.register(3, fail, name="fail")
    reg.register(4, lambda ctx, r1, r2, r3, r4, r5: r1 & 1, name="unwind_even", unwind=True)
    reg.register(5, lambda ctx, r1, r2, r3, r4, r5: 0, name="nop")
    return reg


HELPERS = _helpers()


def _with_known_helpers(program: Program) -> Program:
    """Point most helper calls at registered ids, so calls run rather than fail to load."""
    out = []
    for insn in program:
        info = OPCODES[insn.opcode]
        if info.form is Form.CALL and insn.src == CallSrc.HELPER and insn.imm % 8 < N_HELPERS:
            insn = insn.replace(imm=insn.imm % 8)
        out.append(insn)
    return Program(out)


def _both(program: Program, **kw: object) -> tuple[Interpreter, JitProgram] | None:
    try:
        interp = Interpreter(program, **kw)  # type: ignore[arg-type]
    except PyBpfError as exc:
        with pytest.raises(type(exc)) as info:
            JitProgram(program, **kw)  # type: ignore[arg-type]
        assert str(info.value) == str(exc)
        return None
    return interp, JitProgram(program, **kw)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=valid_programs(max_size=20), mem=st.binary(min_size=0, max_size=48),
       packet=st.one_of(st.none(), st.binary(max_size=40)), budget=st.integers(1, 300),
       depth=st.integers(1, 8))
def test_random_programs_agree(prog: Program, mem: bytes, packet: bytes | None, budget: int,
                               depth: int) -> None:
    pair = _both(_with_known_helpers(prog), helpers=HELPERS, budget=budget, max_call_depth=depth)
    if pair is None:
        return
    memory = Memory()
    region = memory.add("mem", bytearray(mem))
    memory.add("ro", bytes(range(16)), writable=False)
    with contextlib.suppress(PyBpfError):  # the same error from both: compare_runs checked it
        # The reference is the interpreter's stepper: its generated code miscounts a run that
        # stops (LD_ABS out of bounds, unwinding helper) inside a segment it replays near the
        # budget (it reports the replay's count only).
        compare_runs(*pair, memory, stepper=True, r1=region.base, r2=len(mem), r3=region.base + 8, r4=2,
                     packet=packet)


SEEDS = range(50)


@pytest.mark.parametrize("mode", ["checked", "trusted"])
def test_seeded_verifiable_programs_agree(mode: str) -> None:
    for seed in SEEDS:
        rp = generate(seed)
        interp = Interpreter(rp.program)
        jit = JitProgram(rp.program, mode=mode)
        memory = Memory()
        region = memory.add("mem", bytearray(rp.mem))
        res = compare_runs(interp, jit, memory, r1=region.base, r2=len(rp.mem))
        assert res.insns > 0, seed


def _asm_pair(text: str) -> tuple[Interpreter, JitProgram]:
    from pybpf.asm import assemble

    program = assemble(text, syntax="ubpf")
    return Interpreter(program), JitProgram(program)


@pytest.mark.parametrize("offsets", [(0, 8, 16), (0, 8, 60), (56, 0, 64), (-8, 0, 8), (0, 4096, 8)])
def test_grouped_accesses_fault_in_order(offsets: tuple[int, ...]) -> None:
    """A run of stores through one register is checked as one hull; a fault keeps the order."""
    stores = "\n".join(f"stdw [%r1{off:+d}], {i + 1}" for i, off in enumerate(offsets))
    interp, jit = _asm_pair(f"mov %r0, 0\n{stores}\nldxdw %r0, [%r1]\nexit")
    memory = Memory()
    region = memory.add("mem", bytearray(64))
    with contextlib.suppress(PyBpfError):
        compare_runs(interp, jit, memory, r1=region.base)


def test_grouped_accesses_across_regions_and_read_only() -> None:
    """Base registers into different regions in one run, and a read-only target."""
    interp, jit = _asm_pair("ldxdw %r0, [%r1]\nstxdw [%r2], %r0\nldxdw %r4, [%r1+8]\nstxdw [%r2+8], %r4\n"
                            "stxdw [%r3], %r4\nexit")
    memory = Memory()
    a = memory.add("a", bytes(range(16)))
    b = memory.add("b", bytearray(16))
    ro = memory.add("ro", bytes(8), writable=False)
    compare_runs(interp, jit, memory, r1=a.base, r2=b.base, r3=b.base)
    assert bytes(b.buffer) == bytes(range(8, 16)) * 2
    with pytest.raises(PyBpfError):
        compare_runs(interp, jit, memory, r1=a.base, r2=b.base, r3=ro.base)
