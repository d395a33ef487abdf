"""Every interpreter semantics and calls test, run again with the JIT checked against the interpreter.

The tests are the interpreter's own (imported, so pytest collects them here
too); an autouse fixture swaps ``Interpreter`` in their modules for
:class:`jit_dual.DualEngine`, which runs each program on both engines and
asserts they agree on results, registers, instruction counts, errors and memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("llvmlite")

import test_interp_calls
import test_interp_semantics
from jit_dual import DualEngine
from test_interp_calls import *  # noqa: F403
from test_interp_semantics import *  # noqa: F403


@pytest.fixture(autouse=True)
def _dual_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module in (test_interp_semantics, test_interp_calls):
        monkeypatch.setattr(module, "Interpreter", DualEngine)
    yield


# The interpreter's version counts helper invocations per engine (two); with the JIT
# alongside, every run happens twice more.  The same checks, counted for three engines:
del test_helper_args_result_and_caller_registers  # noqa: F821


def test_helper_args_result_and_caller_registers_jit() -> None:
    from pybpf.runtime import HelperContext, HelperRegistry

    reg = HelperRegistry()
    seen: list[tuple[int, ...]] = []

    def h(ctx: HelperContext, *args: int) -> int:
        seen.append((ctx.pc, *args))
        return -1  # masked to 64 bits

    reg.register(1, h)
    code = test_interp_semantics.prog("mov %r1, 1", "mov %r2, 2", "mov %r3, 3", "mov %r4, 4", "mov %r5, -5",
                                      "mov %r6, 6", "call 1", "exit")
    res, _, _ = test_interp_semantics.run_both(code, helpers=reg)
    assert seen == [(6, 1, 2, 3, 4, test_interp_semantics.M64 - 4)] * 3  # compiled, jit, traced
    assert res.r0 == test_interp_semantics.M64
    assert res.regs[1:7] == (1, 2, 3, 4, test_interp_semantics.M64 - 4, 6)


# The interpreter's version maps fresh memory per run, which the dual engine cannot
# replay (the helper swaps the region the first engine saw); the JIT gets its own.
del test_region_caches_forget_a_region_a_helper_unmapped  # noqa: F821


def test_region_caches_forget_a_region_a_helper_unmapped_jit() -> None:
    from pybpf.asm import assemble
    from pybpf.jit import JitProgram
    from pybpf.runtime import HelperContext, HelperRegistry, Memory

    helpers = HelperRegistry()

    @helpers.register(100, name="swap_memory")
    def swap_memory(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        old = ctx.memory.region_named("mem")
        assert old is not None
        ctx.memory.remove(old)
        assert ctx.memory.add("mem", bytes([7]) * len(old.buffer)).base == old.base
        return 0

    prog = assemble("r6 = r1\nr7 = 0\nr8 = 0\nloop:\nr0 = *(u8 *)(r6 + 0)\nr8 += r0\ncall 100\n"
                    "r7 += 1\nif r7 < 2 goto loop\nr0 = r8\nexit")
    memory = Memory()
    region = memory.add("mem", bytes([1, 0, 0, 0]))
    assert JitProgram(prog, helpers=helpers).run(memory, r1=region.base).r0 == 1 + 7
