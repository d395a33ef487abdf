"""Timing one program the way the shared benchmark runners do.

The method matches ``shared/bench/bench_timer.h``: calibrate a batch so that
one sample takes at least ``min_sample_ns``, take ``samples`` samples, and
report the median of the per-run times.  Every run starts from the same
memory (the benchmark programs leave it as they found it).  One function
(:func:`_measure`) does this for every engine; an engine only says how to run
a batch: a Python loop for the interpreter, one native call
(:meth:`~pybpf.jit.JitProgram.repeat`) for the JIT, ``repeat`` test runs for
an object with maps.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PyBpfError
from ..isa import Program

__all__ = ["TimingResult", "time_object_program", "time_program"]


@dataclass(frozen=True)
class TimingResult:
    ret: int
    ns_median: float
    ns_min: float
    insns: int | None
    batch: int
    samples: int
    engine: str
    compile_ms: float | None = None

    @property
    def ns_per_insn(self) -> float | None:
        return self.ns_median / self.insns if self.insns else None

    def as_json(self) -> dict[str, object]:
        return {
            "runtime": f"pybpf-{self.engine}",
            "ret": f"0x{self.ret:016x}",
            "ns_median": round(self.ns_median, 2),
            "ns_min": round(self.ns_min, 2),
            "insns": self.insns,
            "batch": self.batch,
            "samples": self.samples,
            **({"compile_ms": round(self.compile_ms, 1)} if self.compile_ms is not None else {}),
        }


def _measure(run_batch: Callable[[int], object], run_once: Callable[[], tuple[int, int | None]], *,
             engine: str, samples: int, min_sample_ns: int, max_batch: int,
             compile_ms: float | None = None) -> TimingResult:
    """Calibrate, sample, and check the result is the same before and after.

    ``run_batch(n)`` runs the program n times; ``run_once()`` runs it once and
    gives (r0, instructions executed).
    """
    ret, insns = run_once()

    def sample(batch: int) -> int:
        t0 = time.perf_counter_ns()
        run_batch(batch)
        return time.perf_counter_ns() - t0

    batch = 1
    while batch < max_batch:
        if sample(batch) >= min_sample_ns:
            break
        batch *= 2
    per_run = sorted(sample(batch) / batch for _ in range(samples))
    again, _ = run_once()
    if again != ret:
        raise PyBpfError(f"unstable result: {again:#x} after {ret:#x}")
    return TimingResult(ret=ret, ns_median=statistics.median(per_run), ns_min=per_run[0], insns=insns,
                        batch=batch, samples=samples, engine=engine, compile_ms=compile_ms)


def time_program(program: Program, mem: bytes, *, engine: str = "interp", samples: int = 15,
                 min_sample_ns: int = 20_000_000, max_batch: int = 1 << 20) -> TimingResult:
    """Run ``program`` with r1 = memory, r2 = its length, and time it.

    ``engine``: ``interp``, ``jit`` (checked), ``jit-trusted`` (no access
    checks, as for a verified program) or ``auto`` (the JIT when available).
    """
    from ..runtime.memory import Memory

    if engine == "auto":
        from ..jit import available

        engine = "jit" if available() else "interp"
    memory = Memory()
    region = memory.add("mem", bytearray(mem))
    r1, r2 = region.base, len(mem)
    if engine in ("jit", "jit-trusted"):
        from ..jit import JitProgram

        jit = JitProgram(program, mode="trusted" if engine == "jit-trusted" else "checked")

        def jit_once() -> tuple[int, int | None]:
            res = jit.run(memory, r1=r1, r2=r2)
            return res.r0, res.insns

        # a batch is one native call: the time is the program's, not Python's loop
        return _measure(lambda n: jit.repeat(memory, n, r1=r1, r2=r2), jit_once, engine=engine,
                        samples=samples, min_sample_ns=min_sample_ns, max_batch=max(max_batch, 1 << 24),
                        compile_ms=jit.compiled.compile_seconds * 1000)
    if engine != "interp":
        raise PyBpfError(f"unknown engine {engine!r} (interp, jit, jit-trusted, auto)")
    from ..interp import Interpreter

    run = Interpreter(program).run

    def interp_once() -> tuple[int, int | None]:
        res = run(memory, r1=r1, r2=r2)
        return res.r0, res.insns

    def interp_batch(n: int) -> None:
        for _ in range(n):
            run(memory, r1=r1, r2=r2)

    return _measure(interp_batch, interp_once, engine="interp", samples=samples,
                    min_sample_ns=min_sample_ns, max_batch=max_batch)


def time_object_program(obj: bytes, mem: bytes, *, samples: int = 15,
                        min_sample_ns: int = 20_000_000, max_batch: int = 1 << 20) -> TimingResult:
    """Time the ``.text`` function of an ELF object that uses maps, uBPF style (r1 = mem, r2 = len).

    The object's maps are created once (pybpf.objects); the program runs through
    the object's test run, ``repeat`` times per sample, on the interpreter.
    """
    from ..elf import load_spec
    from ..objects import load_object

    spec = load_spec(obj, prog_types={".text": "syscall"})
    names = list(spec.programs)
    if len(names) != 1:
        raise PyBpfError(f"expected one function in .text, found {len(names)}")
    prog = load_object(spec, prog_types={names[0]: None}).programs[names[0]]

    def once() -> tuple[int, int | None]:
        res = prog.test_run(mem)
        return res.retval, res.insns

    return _measure(lambda n: prog.test_run(mem, repeat=n), once, engine="interp", samples=samples,
                    min_sample_ns=min_sample_ns, max_batch=max_batch)
