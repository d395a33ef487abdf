"""Instruction semantics, edge case by edge case (Linux / RFC 9669).

Every program runs on both engines (generated code and the stepper), which
must agree on r0, all registers, the instruction count and memory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.asm import assemble
from pybpf.errors import BudgetExceededError, MemoryAccessError, PyBpfError
from pybpf.interp import ExecResult, Interpreter
from pybpf.isa import Insn, Program, decode
from pybpf.runtime import HelperRegistry, Memory
from pybpf.runtime.helpers import HelperContext

M64 = (1 << 64) - 1
INT64_MIN = 1 << 63
INT32_MIN = 1 << 31


# -- helpers shared with test_interp_calls / test_interp_trace ----------------------------------

def program(code: str | list[Insn] | Program) -> Program:
    if isinstance(code, Program):
        return code
    if isinstance(code, list):
        return Program(code)
    return assemble(code, syntax="ubpf")


def run_both(code: str | list[Insn] | Program, mem: bytes | None = None, *,
             helpers: HelperRegistry | None = None, packet: bytes | None = None,
             budget: int | None = None, **regs: int) -> tuple[ExecResult, Memory, bytes | None]:
    """Run compiled and traced on fresh memories; assert they agree; return the compiled run.

    Returns (result, memory, final bytes of the ``mem`` region).
    """
    interp = Interpreter(program(code), helpers=helpers)
    outs = []
    for trace in (False, True):
        memory = Memory()
        region = None
        args = dict(regs)
        if mem is not None:
            region = memory.add("mem", bytearray(mem))
            args.setdefault("r1", region.base)
            args.setdefault("r2", len(mem))
        res = interp.run(memory, trace=trace, packet=packet, budget=budget, **args)
        assert [r.name for r in memory.regions] == (["mem"] if mem is not None else [])  # frames gone
        outs.append((res, memory, bytes(region.buffer) if region is not None else None))
    (fast, memory, final), (slow, _, slow_final) = outs
    assert (fast.r0, fast.regs, fast.insns) == (slow.r0, slow.regs, slow.insns)
    assert final == slow_final
    assert fast.trace is None and slow.trace is not None and len(slow.trace) == slow.insns
    return fast, memory, final


def r0_of(code: str | list[Insn] | Program, mem: bytes | None = None, **kw: object) -> int:
    return run_both(code, mem, **kw)[0].r0  # type: ignore[arg-type]


def lddw(reg: int, value: int) -> str:
    return f"lddw %r{reg}, {value & M64:#x}"


def prog(*lines: str) -> str:
    return "\n".join([*lines, "exit"])


# -- ALU -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("lines", "expect"), [
    (["mov %r0, -10"], 0xFFFF_FFFF_FFFF_FFF6),                       # imm sign-extended to 64
    (["mov32 %r0, -10"], 0xFFFF_FFF6),                               # 32-bit: zero-extended
    (["mov %r0, 0xffffffff"], M64),
    ([lddw(0, M64), "add %r0, 1"], 0),                               # wraps
    ([lddw(0, M64), "add32 %r0, 2"], 1),
    (["mov %r0, 0", "sub %r0, 1"], M64),
    (["mov %r0, 0", "sub32 %r0, 1"], 0xFFFF_FFFF),
    ([lddw(0, 1 << 63), "mul %r0, 2"], 0),
    (["mov %r0, 0x10000", "mul32 %r0, 0x10000"], 0),
    ([lddw(0, 0x1_0000_0003), "mul32 %r0, 3"], 9),                   # low 32 bits only
    ([lddw(0, INT64_MIN), "mul %r0, -1"], INT64_MIN),
    (["mov %r0, 7", "div %r0, 0"], 0),                               # division by zero: 0
    (["mov %r0, 7", "mov %r1, 0", "div %r0, %r1"], 0),
    (["mov %r0, 7", "mov %r1, 0", "div32 %r0, %r1"], 0),
    (["mov %r0, -1", "div %r0, 2"], M64 // 2),                       # unsigned
    (["mov %r0, 10", "div %r0, -1"], 0),                             # imm -1 = 2**64-1 unsigned
    (["mov32 %r0, -1", "div32 %r0, -1"], 1),
    ([lddw(0, 0x1_0000_0006), lddw(1, 0x1_0000_0002), "div32 %r0, %r1"], 3),
    (["mov %r0, 7", "mod %r0, 0"], 7),                               # modulo by zero: unchanged
    ([lddw(0, 0x1_0000_0007), "mov %r1, 0", "mod %r0, %r1"], 0x1_0000_0007),
    ([lddw(0, 0x1_0000_0007), "mov %r1, 0", "mod32 %r0, %r1"], 7),  # ...low 32 bits, zero-extended
    ([lddw(0, 0x1_0000_0007), "mod32 %r0, 0"], 7),
    (["mov %r0, 17", "mod %r0, 5"], 2),
    (["mov %r0, -7", "mod32 %r0, 5"], (2**32 - 7) % 5),
    ([lddw(0, INT64_MIN), "sdiv %r0, -1"], INT64_MIN),               # INT_MIN sdiv -1 = INT_MIN
    ([lddw(0, INT64_MIN), "smod %r0, -1"], 0),
    (["mov32 %r0, 0x80000000", "sdiv32 %r0, -1"], INT32_MIN),
    (["mov32 %r0, 0x80000000", "smod32 %r0, -1"], 0),
    (["mov %r0, -7", "sdiv %r0, 2"], (-3) & M64),                    # truncates toward zero
    (["mov %r0, -7", "smod %r0, 2"], (-1) & M64),                    # sign of the dividend
    (["mov %r0, 7", "smod %r0, -2"], 1),
    (["mov %r0, -7", "mov %r1, -2", "smod %r0, %r1"], (-1) & M64),
    (["mov %r0, -7", "sdiv32 %r0, 2"], (-3) & 0xFFFF_FFFF),
    (["mov %r0, -7", "smod32 %r0, 2"], (-1) & 0xFFFF_FFFF),
    (["mov %r0, -7", "sdiv %r0, 0"], 0),
    (["mov %r0, -7", "smod %r0, 0"], (-7) & M64),
    (["mov %r0, -7", "mov %r1, 0", "smod32 %r0, %r1"], (-7) & 0xFFFF_FFFF),
    (["mov %r0, 1", "mov %r1, 65", "lsh %r0, %r1"], 2),
    (["mov %r0, 1", "lsh %r0, 65"], 2),                              # imm too (conformance *-imm-high)
    (["mov %r0, 1", "lsh32 %r0, -31"], 2),                           # -31 & 31 = 1 (*-imm-neg)
    (["mov %r0, 1", "mov %r1, 33", "lsh32 %r0, %r1"], 2),            # shift counts masked
    (["mov %r0, 1", "lsh %r0, 63"], 1 << 63),
    (["mov %r0, -1", "rsh32 %r0, 4"], 0x0FFF_FFFF),
    (["mov %r0, -1", "mov %r1, -1", "rsh %r0, %r1"], 1),             # -1 & 63 = 63
    (["mov %r0, -16", "arsh %r0, 2"], (-4) & M64),
    (["mov32 %r0, -16", "arsh32 %r0, 2"], 0xFFFF_FFFC),
    (["mov %r0, -16", "mov %r1, 66", "arsh %r0, %r1"], (-4) & M64),
    (["mov %r0, 5", "neg %r0"], (-5) & M64),
    (["mov %r0, 5", "neg32 %r0"], 0xFFFF_FFFB),
    (["mov %r0, 0", "neg %r0"], 0),
    ([lddw(0, 0xF0F0_0000_0000_00F0), "or32 %r0, 1"], 0xF1),
    ([lddw(0, 0xF0F0_0000_0000_00F0), "and %r0, -1"], 0xF0F0_0000_0000_00F0),
    ([lddw(0, 0xF0F0_0000_0000_00F0), "xor %r0, -1"], 0x0F0F_FFFF_FFFF_FF0F),
    ([lddw(1, 0x1_2345_6789), "mov32 %r0, %r1"], 0x2345_6789),
    ([lddw(1, 0x80), "movsx864 %r0, %r1"], (-128) & M64),
    ([lddw(1, 0x8000), "movsx1664 %r0, %r1"], (-32768) & M64),
    ([lddw(1, 0x1_8000_0000), "movsx3264 %r0, %r1"], (-INT32_MIN) & M64),
    ([lddw(1, 0x80), "movsx832 %r0, %r1"], 0xFFFF_FF80),
    ([lddw(1, 0x7F_8000), "movsx1632 %r0, %r1"], 0xFFFF_8000),
    ([lddw(1, 0x7F), "movsx864 %r0, %r1"], 0x7F),
])
def test_alu(lines: list[str], expect: int) -> None:
    assert r0_of(prog(*lines)) == expect


@pytest.mark.parametrize(("op", "value", "expect"), [
    ("le16", 0x1122_3344_5566_7788, 0x7788),
    ("le32", 0x1122_3344_5566_7788, 0x5566_7788),
    ("le64", 0x1122_3344_5566_7788, 0x1122_3344_5566_7788),
    ("be16", 0x1122_3344_5566_7788, 0x8877),
    ("be32", 0x1122_3344_5566_7788, 0x8877_6655),
    ("be64", 0x1122_3344_5566_7788, 0x8877_6655_4433_2211),
    ("bswap16", 0x1122_3344_5566_7788, 0x8877),
    ("bswap32", 0x1122_3344_5566_7788, 0x8877_6655),
    ("bswap64", 0x1122_3344_5566_7788, 0x8877_6655_4433_2211),
])
def test_byte_order(op: str, value: int, expect: int) -> None:
    assert r0_of(prog(lddw(0, value), f"{op} %r0")) == expect


# -- jumps ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "cond", "b", "taken"), [
    (-1, "jgt", 1, True), (-1, "jsgt", 1, False), (-1, "jslt", 1, True), (-1, "jlt", 1, False),
    (5, "jge", 5, True), (5, "jle", 5, True), (5, "jsge", 6, False), (5, "jsle", 4, False),
    (6, "jset", 2, True), (6, "jset", 1, False), (3, "jeq", 3, True), (3, "jne", 3, False),
    (INT64_MIN, "jslt", 0, True), (INT64_MIN, "jsgt", M64 >> 1, False),
])
@pytest.mark.parametrize("form", ["imm", "reg"])
def test_jmp64(a: int, cond: str, b: int, taken: bool, form: str) -> None:
    operand = f"{b}" if form == "imm" and -(2**31) <= b < 2**31 else "%r2"
    code = prog(lddw(1, a), lddw(2, b), "mov %r0, 0", f"{cond} %r1, {operand}, +1", "exit",
                "mov %r0, 1")
    assert r0_of(code) == int(taken)


@pytest.mark.parametrize(("a", "cond", "b", "taken"), [
    (0x1_0000_0001, "jeq32", 1, True),          # only the low 32 bits count
    (0xFFFF_FFFF, "jslt32", 0, True),
    (0x1_0000_0000, "jsgt32", -1, True),       # low half is 0 > -1
    (0x1_0000_0000, "jgt32", 0, False),
    (0x8000_0000, "jset32", 0x8000_0000, True),
    (0xF_0000_0000, "jset32", -1, False),
])
@pytest.mark.parametrize("form", ["imm", "reg"])
def test_jmp32(a: int, cond: str, b: int, taken: bool, form: str) -> None:
    operand = f"{b}" if form == "imm" else "%r2"
    code = prog(lddw(1, a), lddw(2, b), "mov %r0, 0", f"{cond} %r1, {operand}, +1", "exit",
                "mov %r0, 1")
    assert r0_of(code) == int(taken)


def test_jump_imm_is_sign_extended() -> None:
    # jeq against imm -1 compares with 0xffff_ffff_ffff_ffff
    assert r0_of(prog("mov %r1, -1", "mov %r0, 0", "jeq %r1, -1, +1", "exit", "mov %r0, 1")) == 1


def test_gotol_uses_imm() -> None:
    code = prog("mov %r0, 1", "ja32 L", "mov %r0, 2", "exit", "L:", "mov %r0, 3")
    assert r0_of(code) == 3


def test_backward_loop_counts_instructions() -> None:
    res, _, _ = run_both(prog("mov %r0, 0", "mov %r1, 10", "L:", "add %r0, 3", "sub %r1, 1",
                              "jne %r1, 0, L"))
    assert res.r0 == 30
    assert res.insns == 2 + 10 * 3 + 1


# -- memory --------------------------------------------------------------------------------
def test_loads_zero_and_sign_extend() -> None:
    mem = bytes.fromhex("80 ff 00 80 ff ff ff ff".replace(" ", ""))
    assert r0_of(prog("ldxb %r0, [%r1]"), mem) == 0x80
    assert r0_of(prog("ldxsb %r0, [%r1]"), mem) == (-128) & M64
    assert r0_of(prog("ldxh %r0, [%r1+2]"), mem) == 0x8000
    assert r0_of(prog("ldxsh %r0, [%r1+2]"), mem) == (-32768) & M64
    assert r0_of(prog("ldxw %r0, [%r1+4]"), mem) == 0xFFFF_FFFF
    assert r0_of(prog("ldxsw %r0, [%r1+4]"), mem) == M64
    assert r0_of(prog("ldxdw %r0, [%r1]"), mem) == int.from_bytes(mem, "little")


def test_stores() -> None:
    _, _, final = run_both(prog("stdw [%r1], -2", "stw [%r1+8], -1", "sth [%r1+12], 0x1234",
                                "stb [%r1+14], 0xab",
                                "mov %r2, -1", "stxb [%r1+15], %r2", "mov %r0, 0"), bytes(16))
    assert final == (((-2) & M64).to_bytes(8, "little") + b"\xff" * 4 + bytes.fromhex("3412")
                     + b"\xab\xff")


def test_stack_is_512_bytes_and_r10_points_past_it() -> None:
    res, _, _ = run_both(prog("stdw [%r10-512], 7", "ldxdw %r0, [%r10-512]"))
    assert res.r0 == 7
    with pytest.raises(MemoryAccessError, match="1 bytes before the start of region 'stack'"):
        run_both(prog("stb [%r10-513], 1", "mov %r0, 0"))


def test_fault_names_pc_and_writes_nothing() -> None:
    interp = Interpreter(program(prog("mov %r0, 0", "stw [%r1+6], 0x11223344", "mov %r0, 1")))
    for trace in (False, True):
        memory = Memory()
        region = memory.add("mem", bytearray(8))
        with pytest.raises(MemoryAccessError) as info:
            interp.run(memory, r1=region.base, trace=trace)
        err = info.value
        assert err.pc == 1 and err.addr == region.base + 6 and err.size == 4 and err.write
        assert "out of bounds memory store at pc 1" in str(err)
        assert "2 bytes past the end of region 'mem'" in str(err)
        assert region.buffer == bytes(8)
        assert [r.name for r in memory.regions] == ["mem"]  # the stack frame is released on error


def test_address_wraparound_faults() -> None:
    with pytest.raises(MemoryAccessError) as info:
        run_both(prog("mov %r6, -16", "stb [%r6+16], 0", "mov %r0, 0"))
    assert info.value.addr == 0 and info.value.pc == 1
    with pytest.raises(MemoryAccessError) as info:
        run_both(prog("mov %r6, 0", "ldxb %r0, [%r6-1]"))
    assert info.value.addr == M64


def test_read_only_region_store_faults() -> None:
    interp = Interpreter(program(prog("stb [%r1], 1", "mov %r0, 0")))
    memory = Memory()
    region = memory.add("ro", b"\0", writable=False)
    with pytest.raises(MemoryAccessError, match="read-only"):
        interp.run(memory, r1=region.base)


def test_inline_cache_follows_region_changes() -> None:
    # one load instruction alternating between two regions must use the right one each time
    code = prog("mov %r0, 0", "mov %r3, 4", "L:", "ldxb %r4, [%r1]", "add %r0, %r4", "mov %r5, %r1",
                "mov %r1, %r2", "mov %r2, %r5", "sub %r3, 1", "jne %r3, 0, L")
    interp = Interpreter(program(code))
    memory = Memory()
    a = memory.add("a", b"\x01")
    b = memory.add("b", b"\x10")
    assert interp.run(memory, r1=a.base, r2=b.base).r0 == 0x22
    assert interp.run(memory, r1=a.base, r2=b.base, trace=True).r0 == 0x22


# -- atomics -------------------------------------------------------------------------------
@pytest.mark.parametrize(("op", "old", "src", "new", "fetched"), [
    ("add", 0x1_0000_0001, 0xFFFF_FFFF, 0x2_0000_0000, None),
    ("fetch add", 5, 3, 8, 5),
    ("or", 0xF0, 0x0F, 0xFF, None),
    ("fetch or", 0xF0, 0x0F, 0xFF, 0xF0),
    ("and", 0xF0, 0x3C, 0x30, None),
    ("fetch and", 0xF0, 0x3C, 0x30, 0xF0),
    ("xor", 0xFF, 0x0F, 0xF0, None),
    ("fetch xor", 0xFF, 0x0F, 0xF0, 0xFF),
    ("xchg", 0x1234, 0x5678, 0x5678, 0x1234),
])
def test_atomic64(op: str, old: int, src: int, new: int, fetched: int | None) -> None:
    res, _, final = run_both(prog(lddw(2, src), f"lock {op} [%r1], %r2", "mov %r0, %r2"),
                             old.to_bytes(8, "little"))
    assert final == new.to_bytes(8, "little")
    assert res.r0 == (src if fetched is None else fetched)


@pytest.mark.parametrize(("op", "old", "src", "new", "fetched"), [
    ("add32", 0xFFFF_FFFF, 0x1_0000_0002, 1, None),      # only the low 32 bits of src
    ("fetch add32", 0xFFFF_FFFF, 2, 1, 0xFFFF_FFFF),     # fetched value zero-extended
    ("fetch or32", 0x8000_0000, 1, 0x8000_0001, 0x8000_0000),
    ("fetch and32", 0xFFFF_FFFF, 0xF, 0xF, 0xFFFF_FFFF),
    ("fetch xor32", 0xFFFF_FFFF, 0xF, 0xFFFF_FFF0, 0xFFFF_FFFF),
    ("xchg32", 0x8765_4321, 0xAAAA_1234_5678, 0x1234_5678, 0x8765_4321),
])
def test_atomic32(op: str, old: int, src: int, new: int, fetched: int | None) -> None:
    res, _, final = run_both(prog(lddw(2, src), f"lock {op} [%r1], %r2", "mov %r0, %r2"),
                             old.to_bytes(4, "little") + b"\xee" * 4)
    assert final == new.to_bytes(4, "little") + b"\xee" * 4  # neighbouring bytes untouched
    assert res.r0 == (src if fetched is None else fetched)


@pytest.mark.parametrize("width", [32, 64])
@pytest.mark.parametrize("match", [True, False])
def test_cmpxchg(width: int, match: bool) -> None:
    size = width // 8
    old = 0x1_2345_6789 & ((1 << width) - 1)
    r0 = (0xFFFF_FFFF_0000_0000 | old) if match else old + 1  # upper bits ignored in the 32-bit compare
    if width == 64:
        r0 = old if match else old + 1
    suffix = "32" if width == 32 else ""
    res, _, final = run_both(prog(lddw(0, r0), "mov %r2, 0x55", f"lock cmpxchg{suffix} [%r1], %r2"),
                             old.to_bytes(size, "little"))
    assert res.r0 == old  # always the old value, zero-extended
    assert final == (0x55 if match else old).to_bytes(size, "little")


def test_atomic_faults_before_writing() -> None:
    with pytest.raises(MemoryAccessError) as info:
        run_both(prog("mov %r2, 1", "lock fetch add [%r1+4], %r2", "mov %r0, 0"), bytes(8))
    assert info.value.write and info.value.pc == 1


# -- LD_IMM64 and legacy packet loads --------------------------------------------------------
def test_lddw_counts_as_one_instruction() -> None:
    res, _, _ = run_both(prog(lddw(0, 0x1122_3344_5566_7788)))
    assert res.r0 == 0x1122_3344_5566_7788 and res.insns == 2


PACKET = bytes.fromhex("0102030405060708")


@pytest.mark.parametrize(("insns", "expect"), [
    ([Insn(0x30, imm=1)], 0x02),                      # ldabsb
    ([Insn(0x28, imm=2)], 0x0304),                    # ldabsh, big-endian like ntohs
    ([Insn(0x20, imm=4)], 0x05060708),                # ldabsw
    ([Insn(0xB7, dst=3, imm=2), Insn(0x48, src=3, imm=1)], 0x0405),  # ldindh: src + imm
    ([Insn(0x20, imm=5)], 0),                          # out of bounds: r0 = 0, program ends
    ([Insn(0xB7, dst=3, imm=-8), Insn(0x50, src=3, imm=1)], 0),
])
def test_legacy_packet_loads(insns: list[Insn], expect: int) -> None:
    code = [Insn(0xB7, dst=0, imm=77), *insns, Insn(0x07, dst=0, imm=0x1000), Insn(0x95)]
    res, _, _ = run_both(code, packet=PACKET)
    if expect == 0:
        assert res.r0 == 0 and res.insns == len(insns) + 1  # ended at the failed load
    else:
        assert res.r0 == expect + 0x1000


def test_legacy_load_without_packet_ends_with_zero() -> None:
    assert r0_of([Insn(0xB7, dst=0, imm=5), Insn(0x30, imm=0), Insn(0x95)]) == 0


# -- entry state and the budget ------------------------------------------------------------
def test_entry_registers() -> None:
    res, _memory, _ = run_both(prog("mov %r0, 0"), r1=1, r2=2, r3=3, r4=4, r5=-1)
    assert res.regs[:10] == (0, 1, 2, 3, 4, M64, 0, 0, 0, 0)
    assert res.regs[10] % 8 == 0 and res.regs[10] > 0x10_0000


@pytest.mark.parametrize("budget", [0, 1, 5, 9, 31, 32, 33])
def test_budget_is_exact(budget: int) -> None:
    # 2 + 10*3 + 1 = 33 instructions
    code = prog("mov %r0, 0", "mov %r1, 10", "L:", "add %r0, 3", "sub %r1, 1", "jne %r1, 0, L")
    interp = Interpreter(program(code), budget=budget)
    for trace in (False, True):
        if budget >= 33:
            assert interp.run(Memory(), trace=trace).insns == 33
            continue
        with pytest.raises(BudgetExceededError) as info:
            interp.run(Memory(), trace=trace)
        # the (budget+1)-th instruction is the one that would not run
        pcs = [0, 1] + [2, 3, 4] * 10 + [5]
        assert info.value.pc == pcs[budget]


def test_fault_before_budget_wins_and_budget_argument_overrides() -> None:
    code = prog("mov %r0, 0", "stb [%r0], 1", "mov %r0, 1", "mov %r0, 2")
    interp = Interpreter(program(code), budget=1000)
    with pytest.raises(MemoryAccessError):
        interp.run(Memory(), budget=3)
    with pytest.raises(BudgetExceededError):
        interp.run(Memory(), budget=1)


def test_errors_are_pybpf_errors() -> None:
    assert issubclass(BudgetExceededError, PyBpfError) and issubclass(MemoryAccessError, PyBpfError)


# -- the shared benchmark programs: exact result and instruction count ----------------------
BENCH = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench"


@pytest.mark.clang
@pytest.mark.parametrize("name", ["nop", "primes", "log2", "memops", "fsm", "fsm128", "pktparse"])
def test_bench_programs(name: str, tmp_path: Path) -> None:
    clang, objcopy = shutil.which("clang"), shutil.which("llvm-objcopy")
    if clang is None or objcopy is None:
        pytest.skip("clang / llvm-objcopy not installed")
    if not BENCH.is_dir():
        pytest.skip(f"shared bench programs not found at {BENCH}")
    expected = json.loads((BENCH / "expected.json").read_text())[name]
    source = "fsm" if name == "fsm128" else name
    obj, text = tmp_path / f"{name}.o", tmp_path / f"{name}.bin"
    defines = ["-DFSM_LEN=128"] if name == "fsm128" else []
    subprocess.run([clang, "-O2", "-target", "bpf", *defines, "-c", str(BENCH / f"{source}.c"),
                    "-o", str(obj)], check=True)
    subprocess.run([objcopy, "-O", "binary", "--only-section=.text", str(obj), str(text)], check=True)
    mem = (BENCH / "inputs" / f"{source}.mem").read_bytes()
    interp = Interpreter(decode(text.read_bytes()))
    memory = Memory()
    region = memory.add("mem", bytearray(mem))
    res = interp.run(memory, r1=region.base, r2=len(mem))
    assert (res.r0, res.insns) == (int(expected["ret"], 16), expected["insns"])
    again = interp.run(memory, r1=region.base, r2=len(mem))  # repeated runs give the same value
    assert (again.r0, again.insns) == (res.r0, res.insns)


def test_run_ending_inside_the_budget_replay_counts_every_instruction() -> None:
    # The generated code replays the last segment step by step when the budget is
    # nearly spent; a run that ends there (LD_ABS without a packet) must still count
    # the instructions executed before the replay.
    prog = Program([Insn(0x4D, 0, 0, -1), Insn(0xAF), Insn(0x30), Insn(0x95)])
    interp = Interpreter(prog, budget=3)
    assert interp.run(Memory()).insns == interp.run(Memory(), trace=True).insns == 3


def test_region_caches_forget_a_region_a_helper_unmapped() -> None:
    # A helper unmaps the input and maps new memory at the same address (as a map
    # delete followed by an insert can): the next load must see the new buffer, not
    # the dead one a per-instruction cache remembered.
    helpers = HelperRegistry()

    @helpers.register(100, name="swap_memory")
    def swap_memory(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        old = ctx.memory.region_named("mem")
        assert old is not None
        ctx.memory.remove(old)
        new = ctx.memory.add("mem", bytes([7]) * len(old.buffer))
        assert new.base == old.base  # the freed addresses are reused
        return 0

    prog = assemble("""
        r6 = r1
        r7 = 0
        r8 = 0
    loop:
        r0 = *(u8 *)(r6 + 0)
        r8 += r0
        call 100
        r7 += 1
        if r7 < 2 goto loop
        r0 = r8
        exit
    """)
    for trace in (False, True):
        memory = Memory()
        region = memory.add("mem", bytes([1, 0, 0, 0]))
        result = Interpreter(prog, helpers=helpers).run(memory, r1=region.base, trace=trace)
        assert result.r0 == 1 + 7
