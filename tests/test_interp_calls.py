"""Helper calls, bpf-to-bpf calls, callx, and what loading refuses."""

from __future__ import annotations

import pytest

from pybpf.errors import (
    CallDepthError,
    DecodeError,
    HelperError,
    MemoryAccessError,
    PyBpfError,
    UnknownHelperError,
)
from pybpf.interp import MAX_SLOTS, Interpreter
from pybpf.isa import Insn, Program
from pybpf.runtime import HelperContext, HelperRegistry, Memory, ubpf_test_helpers
from test_interp_semantics import M64, program, r0_of, run_both


def prog(*lines: str) -> str:
    return "\n".join(lines)


# -- the helper registry ---------------------------------------------------------------------
def test_registry_register_decorator_lookup() -> None:
    reg = HelperRegistry()

    @reg.helper(7, name="seven")
    def seven(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        return 7

    reg.register(8, lambda ctx, *a: 8)

    @reg.register(10, unwind=True)
    def ten(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        return r1

    assert reg[10].unwind and reg[10].name == "ten" and ten(HelperContext(Memory()), 3, 0, 0, 0, 0) == 3
    assert 7 in reg and 8 in reg and 9 not in reg
    assert reg[7].name == "seven" and reg.get(9) is None and list(reg) == [7, 8, 10] and len(reg) == 3
    with pytest.raises(UnknownHelperError, match="unknown helper 9"):
        reg.lookup(9)
    with pytest.raises(ValueError):
        reg.register(-1, seven)


def test_helper_args_result_and_caller_registers() -> None:
    reg = HelperRegistry()
    seen: list[tuple[int, ...]] = []

    def h(ctx: HelperContext, *args: int) -> int:
        seen.append((ctx.pc, *args))
        return -1  # masked to 64 bits

    reg.register(1, h)
    code = prog("mov %r1, 1", "mov %r2, 2", "mov %r3, 3", "mov %r4, 4", "mov %r5, -5", "mov %r6, 6",
                "call 1", "exit")
    res, _, _ = run_both(code, helpers=reg)
    assert seen == [(6, 1, 2, 3, 4, M64 - 4)] * 2  # once per engine
    assert res.r0 == M64
    # documented convention: r1-r5 keep their values (the verifier forbids reading them)
    assert res.regs[1:7] == (1, 2, 3, 4, M64 - 4, 6)


def test_helper_exception_becomes_helper_error() -> None:
    reg = HelperRegistry()

    def boom(ctx: HelperContext, *args: int) -> int:
        raise ZeroDivisionError("nope")

    reg.register(3, boom)
    interp = Interpreter(program(prog("mov %r0, 0", "call 3", "exit")), helpers=reg)
    for trace in (False, True):
        with pytest.raises(HelperError) as info:
            interp.run(Memory(), trace=trace)
        assert info.value.pc == 1 and isinstance(info.value.__cause__, ZeroDivisionError)
        assert "boom" in str(info.value)


def test_helper_memory_access_is_checked() -> None:
    reg = ubpf_test_helpers()
    with pytest.raises(HelperError) as info:
        run_both(prog("mov %r2, 16", "call 1", "exit"), bytes(8), helpers=reg)  # memfrob 16 of 8 bytes
    assert isinstance(info.value.__cause__, MemoryAccessError)


def test_ubpf_helpers() -> None:
    reg = ubpf_test_helpers()
    assert sorted(reg) == [0, 1, 2, 3, 4, 5] and reg[5].unwind
    ctx = HelperContext(memory=Memory())
    assert reg[0].fn(ctx, 0x101, 2, 3, 4, 0x105) == 0x0102030405
    assert reg[3].fn(ctx, 1764, 0, 0, 0, 0) == 42
    assert reg[3].fn(ctx, (1 << 32) + 16, 0, 0, 0, 0) == 4  # 32-bit argument, like uBPF's binary
    r = ctx.memory.add("s", b"abcx\0abcy\0")
    assert reg[4].fn(ctx, r.base, r.base, 0, 0, 0) == 0
    assert reg[4].fn(ctx, r.base, r.base + 5, 0, 0, 0) == (-1) & M64
    reg[1].fn(ctx, r.base, 2, 0, 0, 0)
    assert r.buffer[:3] == bytearray([ord("a") ^ 42, ord("b") ^ 42, ord("c")])
    assert reg[5].fn(ctx, 9, 0, 0, 0, 0) == 9 and reg[2].fn(ctx, 1, 2, 3, 4, 5) == 0


def test_unwind_helper_stops_at_once() -> None:
    code = prog("mov %r1, 0", "call 5", "mov %r0, 2", "exit")
    res, _, _ = run_both(code, helpers=ubpf_test_helpers())
    assert res.r0 == 0 and res.insns == 2
    assert r0_of(code.replace("mov %r1, 0", "mov %r1, -1"), helpers=ubpf_test_helpers()) == 2


def test_unwind_from_a_subprogram_ends_the_whole_run() -> None:
    code = prog("mov %r0, 7", "call local f", "mov %r0, 9", "exit", "f:", "mov %r1, 0", "call 5",
                "mov %r0, 3", "exit")
    res, _, _ = run_both(code, helpers=ubpf_test_helpers())
    assert res.r0 == 0 and res.insns == 4


def test_callx_calls_the_helper_id_in_dst() -> None:
    reg = ubpf_test_helpers()
    code = prog("mov %r1, 1", "mov %r2, 2", "mov %r3, 3", "mov %r4, 4", "mov %r5, 5", "mov %r7, 0",
                "call %r7", "exit")
    assert r0_of(code, helpers=reg) == 0x0102030405
    with pytest.raises(UnknownHelperError):
        run_both(code.replace("mov %r7, 0", "mov %r7, 42"), helpers=reg)
    with pytest.raises(HelperError):
        run_both(code.replace("mov %r7, 0", "lddw %r7, 0x100000000"), helpers=reg)


def test_callx_unwind() -> None:
    code = prog("mov %r1, 0", "mov %r2, 5", "call %r2", "mov %r0, 2", "exit")
    assert r0_of(code, helpers=ubpf_test_helpers()) == 0


# -- bpf-to-bpf calls ------------------------------------------------------------------------
def test_local_call_args_result_and_callee_saved() -> None:
    code = prog("mov %r6, 6", "mov %r1, 20", "mov %r2, 22", "call local add", "add %r0, %r6", "exit",
                "add:", "mov %r6, 100", "mov %r0, %r1", "add %r0, %r2", "exit")
    res, _, _ = run_both(code)
    assert res.r0 == 48 and res.regs[6] == 6 and res.insns == 10


def test_callee_gets_its_own_stack_frame() -> None:
    code = prog("mov %r0, 0x55", "stxw [%r10-4], %r0", "mov %r1, %r10", "call local f",
                "ldxw %r0, [%r10-4]", "exit",
                "f:", "mov %r0, 0x66", "stxw [%r10-4], %r0", "ldxw %r0, [%r1-4]", "exit")
    # the callee writes its own [r10-4] and reads the caller's through r1
    res, _, _ = run_both(code)
    assert res.r0 == 0x55


def test_callee_frame_is_unmapped_after_return() -> None:
    code = prog("call local f", "ldxb %r1, [%r0-1]", "exit", "f:", "mov %r0, %r10", "exit")
    with pytest.raises(MemoryAccessError) as info:
        run_both(code)
    assert info.value.pc == 1


@pytest.mark.parametrize(("depth", "ok"), [(7, True), (8, False)])
def test_call_depth(depth: int, ok: bool) -> None:
    # a chain of `depth` nested calls: depth + 1 frames
    lines = ["mov %r0, 0", "call local f1", "exit"]
    for i in range(1, depth + 1):
        lines += [f"f{i}:", "add %r0, 1"]
        lines += [f"call local f{i + 1}", "exit"] if i < depth else ["exit"]
    code = prog(*lines)
    if ok:
        assert r0_of(code) == depth
        return
    with pytest.raises(CallDepthError) as info:
        run_both(code)
    assert "8 frames" in str(info.value)


def test_max_call_depth_parameter() -> None:
    code = prog("call local f", "exit", "f:", "mov %r0, 1", "exit")
    with pytest.raises(CallDepthError):
        Interpreter(program(code), max_call_depth=1).run(Memory())


def test_ld_imm64_func_pointer_is_the_callee_pc() -> None:
    code = Program([Insn(0x18, dst=0, src=4, imm=2), Insn(0x95), Insn(0xB7, dst=0, imm=1), Insn(0x95)])
    assert r0_of(code) == 3  # like the kernel: target = pc + imm + 1


# -- load time -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "error", "pc", "text"), [
    (prog("mov %r0, 0", "call 63", "exit"), UnknownHelperError, 1, "unknown helper 63"),
    (prog("mov %r0, 0", "call local f", "f:", "exit"), DecodeError, 1, "last insn is not an exit or jmp"),
    (prog("call local f", "exit", "f:", "ja -3", "exit"), DecodeError, 2, "jump out of range"),
    (prog("ja -1", "exit"), DecodeError, 0, "infinite loop"),
    (prog("ja32 -1", "exit"), DecodeError, 0, "infinite loop"),
    (prog("mov %r0, 0"), DecodeError, 0, "last insn is not an exit or jmp"),
    (prog("call runtime 5", "exit"), DecodeError, 0, "kfunc"),
    (prog("ja +5", "exit"), DecodeError, 0, "out of range"),
])
def test_load_rejects(code: str, error: type[PyBpfError], pc: int, text: str) -> None:
    with pytest.raises(error) as info:
        Interpreter(program(code))
    assert info.value.pc == pc and text in str(info.value)


def test_load_rejects_map_pseudo_loads_and_huge_programs() -> None:
    with pytest.raises(DecodeError, match="map/BTF environment") as info:
        Interpreter(Program([Insn(0x18, dst=1, src=1, imm=3), Insn(0x95)]))
    assert info.value.pc == 0
    with pytest.raises(DecodeError, match="too large"):
        Interpreter(Program([Insn(0xB7)] * MAX_SLOTS + [Insn(0x95)]))
    with pytest.raises(DecodeError, match="empty"):
        Interpreter(Program([]))


def test_helpers_are_resolved_at_load_time() -> None:
    reg = HelperRegistry()
    reg.register(1, lambda ctx, *a: 1)
    interp = Interpreter(program(prog("call 1", "exit")), helpers=reg)
    reg.register(1, lambda ctx, *a: 2)  # later changes do not affect a loaded program
    assert interp.run(Memory()).r0 == 1
