"""The shared conformance suites, run in place through pybpf's interpreter and its JIT.

* ``bpf_conformance/*.data``: all 313 (CPU v4, callx included) must pass.
* ``ubpf/**/*.data``: every runnable test passes, with uBPF's test helpers
  0-5; ``errors/`` tests must be rejected (at load time, or at run time with a
  MemoryAccessError for the four whose result is 0xffffffffffffffff).

Files are parsed by :mod:`pybpf.testdata` and assembled by :mod:`pybpf.asm`.
Every file runs on each engine of :data:`ENGINES` (the JIT where llvmlite is
installed), with the same expectations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pybpf.errors import MemoryAccessError, PyBpfError, VmError
from pybpf.interp import MAX_SLOTS, Interpreter
from pybpf.isa import Program, decode
from pybpf.runtime import Memory, ubpf_test_helpers

try:
    from pybpf.jit import JitProgram
except ImportError:  # pragma: no cover - llvmlite missing: the JIT runs are skipped
    JitProgram = None  # type: ignore[assignment,misc]

testdata = pytest.importorskip("pybpf.testdata")
asm = pytest.importorskip("pybpf.asm")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CONF = SHARED / "conformance"
OWN_ERRORS = Path(__file__).resolve().parents[1] / "data" / "errors"  # pybpf's own error cases
RUNTIME_FAILURE = 0xFFFF_FFFF_FFFF_FFFF  # uBPF's harness prints this when the run (not the load) fails

XFAIL = {
    "ubpf/errors/err-unknown-opcode.data": (
        "stale test: opcode 0x06 is ja32 in RFC 9669 v4 (bpf_conformance/ja32.data); current uBPF "
        "runs it too (conformance README 6.2)"),
    "ubpf/reload.data": (
        "uBPF VM API semantics (a VM loads code once): pybpf's Interpreter is immutable and can be "
        "built from the same program any number of times, so there is nothing to refuse"),
}


def _files() -> list[object]:
    if not CONF.is_dir():
        skip = pytest.mark.skip(reason=f"shared conformance data not found at {CONF}")
        return [pytest.param(None, marks=skip)]
    paths = sorted((CONF / "bpf_conformance").glob("*.data")) + sorted((CONF / "ubpf").rglob("*.data"))
    params = []
    for p in paths:
        rel = p.relative_to(CONF).as_posix()
        marks = [pytest.mark.xfail(reason=XFAIL[rel], strict=True)] if rel in XFAIL else []
        params.append(pytest.param(p, id=rel, marks=marks))
    return params


# uBPF's own program size limit (UBPF_MAX_INSTS). Linux allows 1,000,000 slots as root, so
# pybpf's default follows the kernel; the uBPF files are run under uBPF's profile, as they
# are run with uBPF's helpers.
UBPF_MAX_INSNS = 65536


ENGINES = [
    pytest.param("interp", id="interp"),
    pytest.param("jit", id="jit",
                 marks=pytest.mark.skipif(JitProgram is None, reason="llvmlite is not installed")),
]


def _load(df: object, engine: str = "interp") -> Interpreter | JitProgram:
    """Assemble or decode, then load: every load-time rejection happens here."""
    ubpf = "/ubpf/" in Path(df.path).as_posix()  # type: ignore[attr-defined]
    if df.raw:  # type: ignore[attr-defined]
        program: Program = decode(df.raw_bytes())  # type: ignore[attr-defined]
    else:
        program = asm.assemble(df.asm, syntax="ubpf")  # type: ignore[attr-defined]
    engine_cls = JitProgram if engine == "jit" else Interpreter
    return engine_cls(program, helpers=ubpf_test_helpers(),
                      max_insns=UBPF_MAX_INSNS if ubpf else MAX_SLOTS)


def _run(interp: Interpreter | JitProgram, mem: bytes | None) -> int:
    memory = Memory()
    r1 = r2 = 0
    if mem:
        region = memory.add("mem", bytearray(mem))
        r1, r2 = region.base, len(mem)
    return interp.run(memory, r1=r1, r2=r2).r0


def test_suite_sizes() -> None:
    if not CONF.is_dir():
        pytest.skip(f"shared conformance data not found at {CONF}")
    assert len(list((CONF / "bpf_conformance").glob("*.data"))) == 313
    assert len(list((CONF / "ubpf").rglob("*.data"))) == 104


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", _files())
def test_data_file(path: Path, engine: str) -> None:
    df = testdata.parse_data_file(path)
    kind = df.kind
    if kind == "pyelf":
        pytest.skip("-- pyelf ELF-loader tests belong to the ELF issue")
    if kind == "asm-roundtrip":
        pytest.skip("assembler round-trip file (asm + raw, no result): the assembler's tests cover it")
    if kind == "none":
        pytest.skip("no program, or no result/error")
    if kind == "reload":  # load twice without unloading: the second load must fail
        _load(df, engine)
        with pytest.raises(PyBpfError):
            _load(df, engine)
        return
    if kind == "unload":  # load, unload, load again, run
        _load(df, engine)
        assert _run(_load(df, engine), df.mem) == (df.result or 0)
        return
    must_reject = path.parent.name == "errors"
    if not must_reject:
        assert df.error is None, "a non-error test with an expected error"
        assert _run(_load(df, engine), df.mem) == df.result
        return
    if df.result == RUNTIME_FAILURE:
        interp = _load(df, engine)  # loads fine; the run must fault
        with pytest.raises(MemoryAccessError):
            _run(interp, df.mem)
        return
    with pytest.raises(PyBpfError):
        _load(df, engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", sorted(OWN_ERRORS.glob("*.data")), ids=lambda p: p.name)
def test_pybpf_error_file(path: Path, engine: str) -> None:
    """pybpf's own error cases: the exact message (an ``error pattern`` regex) at load or run time.

    As in uBPF's harness, a result of 0xffffffffffffffff means the failure happens at run time.
    """
    df = testdata.parse_data_file(path)
    assert df.error is not None and df.error_is_pattern
    if df.result == RUNTIME_FAILURE:
        interp = _load(df, engine)
        with pytest.raises(VmError) as info:
            _run(interp, df.mem)
    else:
        with pytest.raises(PyBpfError) as info:
            _load(df, engine)
    assert re.search(df.error, str(info.value)), str(info.value)
