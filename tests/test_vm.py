"""pybpf.Vm / pybpf.run: loading from every source, engines, and the kernel as a backend."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

import pybpf
from pybpf import kernel
from pybpf.errors import PyBpfError

ROOT = Path(__file__).resolve().parents[1]
ELF_DATA = ROOT / "tests" / "data" / "elf"

SUM_BYTES = """
    r0 = 0
    r3 = 0
loop:
    if r3 >= r2 goto done
    r4 = r1
    r4 += r3
    r5 = *(u8 *)(r4 + 0)
    r0 += r5
    r3 += 1
    goto loop
done:
    exit
"""


def test_sources_assembly_bytes_program_and_path(tmp_path: Path) -> None:
    prog = pybpf.assemble(SUM_BYTES)
    data = bytes(range(1, 11))
    assert pybpf.run(prog, data).r0 == 55
    assert pybpf.run(SUM_BYTES, data).r0 == 55
    assert pybpf.run(pybpf.encode(prog), data).r0 == 55
    path = tmp_path / "sum.bin"
    path.write_bytes(pybpf.encode(prog))
    assert pybpf.run(path, data).r0 == 55
    src = tmp_path / "sum.s"
    src.write_text(SUM_BYTES)
    assert pybpf.run(str(src), data).r0 == 55


def test_elf_object_program_by_name_or_section() -> None:
    data = (ROOT / "examples" / "hello.txt").read_bytes()
    result = pybpf.run(ROOT / "examples" / "crc32.o", data)
    assert result.r0 == zlib.crc32(data)
    vm = pybpf.Vm(ROOT / "examples" / "crc32.o", section="crc32")
    assert vm.run(data).r0 == zlib.crc32(data)
    with pytest.raises(PyBpfError, match="no program or section 'nope'"):
        pybpf.Vm(ROOT / "examples" / "crc32.o", section="nope")


def test_elf_program_with_maps_needs_its_maps() -> None:
    objects = sorted(ELF_DATA.glob("xdp*-el.o"))
    if not objects:
        pytest.skip("no XDP fixture object")
    with pytest.raises(PyBpfError, match="uses maps"):
        pybpf.Vm(objects[0])


def test_memory_is_a_private_copy_and_comes_back() -> None:
    mem = bytearray(b"\x00" * 8)
    result = pybpf.run("*(u32 *)(r1 + 4) = 7\nr0 = 0\nexit", mem)
    assert mem == bytearray(8)  # the caller's buffer is untouched
    assert result.mem == b"\x00" * 4 + b"\x07\x00\x00\x00"


def test_unknown_engine_and_helpers_for_the_kernel_are_errors() -> None:
    with pytest.raises(PyBpfError, match="unknown engine"):
        pybpf.Vm("r0 = 0\nexit", engine="gpu")
    with pytest.raises(PyBpfError, match="kernel's own helpers"):
        pybpf.Vm("r0 = 0\nexit", engine="kernel", helpers=pybpf.HelperRegistry())


def test_budget_is_configurable() -> None:
    loop = "r0 = 0\nl:\nr0 += 1\nif r0 < 1000 goto l\nexit"
    # 1 + 1000 * 2 + 1 = 2002 instructions: the budget allows exactly that many
    assert pybpf.run(loop, budget=2002).r0 == 1000
    with pytest.raises(pybpf.BudgetExceededError):
        pybpf.run(loop, budget=2001)


@pytest.mark.kernel
def test_kernel_engine_gives_the_interpreters_answer() -> None:
    if not kernel.available():
        pytest.skip(f"bpf() unavailable: {kernel.unavailable_reason()}")
    data = bytes(range(1, 11))
    prog = "r0 = 0x1122334455667788 ll\nr3 = *(u8 *)(r1 + 9)\nr0 += r3\n*(u8 *)(r1 + 0) = 99\nexit"
    mine = pybpf.run(prog, data)
    theirs = pybpf.run(prog, data, engine="kernel")
    assert theirs.engine == "kernel"
    assert (theirs.r0, theirs.mem) == (mine.r0, mine.mem) == (0x1122334455667788 + 10, b"\x63" + data[1:])
    with pytest.raises(pybpf.PyBpfError):
        pybpf.run(prog, data, engine="kernel", trace=True)


def test_jit_engine_gives_the_interpreters_answer() -> None:
    from pybpf.jit import available

    if not available():
        pytest.skip("llvmlite is not installed")
    data = bytes(range(1, 11))
    mine = pybpf.run(SUM_BYTES, data, engine="interp")
    jitted = pybpf.run(SUM_BYTES, data, engine="jit")
    assert jitted.engine == "jit"
    assert (jitted.r0, jitted.mem, jitted.regs, jitted.insns) == (mine.r0, mine.mem, mine.regs, mine.insns)
    assert pybpf.Vm(SUM_BYTES).engine == "jit"  # auto prefers the JIT
    traced = pybpf.Vm(SUM_BYTES, engine="jit").run(data, trace=True)
    assert traced.engine == "interp" and traced.trace is not None  # traces come from the interpreter
    with pytest.raises(pybpf.MemoryAccessError) as exc:
        pybpf.run("r0 = *(u64 *)(r1 + 8)\nexit", b"1234", engine="jit")
    assert exc.value.pc == 0
