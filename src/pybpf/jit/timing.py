"""Timing a JIT-compiled program the way the shared benchmark runners do.

Same method as :mod:`pybpf.bench.timing` (calibrate a batch to at least
``min_sample_ns``, take ``samples`` samples, median per-run time), but a batch
is one native call (:meth:`JitProgram.repeat`), so the time is the program's,
not Python's call overhead.  Returned as plain data so the bench layer can
wrap it in its own result type.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from ..errors import PyBpfError
from ..isa import Program
from ..runtime.memory import Memory
from .program import JitProgram

__all__ = ["JitTiming", "time_jit"]


@dataclass(frozen=True)
class JitTiming:
    ret: int
    ns_median: float
    ns_min: float
    insns: int
    batch: int
    samples: int
    compile_ms: float
    mode: str


def time_jit(program: Program, mem: bytes, *, mode: str = "checked", samples: int = 15,
             min_sample_ns: int = 20_000_000, max_batch: int = 1 << 24, opt: int = 3) -> JitTiming:
    """Run ``program`` with r1 = memory, r2 = its length, natively in batches, and time it."""
    jit = JitProgram(program, mode=mode, opt=opt)
    memory = Memory()
    region = memory.add("mem", bytearray(mem))
    r1, r2 = region.base, len(mem)
    first = jit.run(memory, r1=r1, r2=r2)

    def sample(batch: int) -> int:
        t0 = time.perf_counter_ns()
        jit.repeat(memory, batch, r1=r1, r2=r2)
        return time.perf_counter_ns() - t0

    batch = 1
    while batch < max_batch:
        if sample(batch) >= min_sample_ns:
            break
        batch *= 2
    per_run = sorted(sample(batch) / batch for _ in range(samples))
    again = jit.run(memory, r1=r1, r2=r2).r0
    if again != first.r0:
        raise PyBpfError(f"unstable result: {again:#x} after {first.r0:#x}")
    return JitTiming(first.r0, statistics.median(per_run), per_run[0], first.insns, batch, samples,
                     jit.compiled.compile_seconds * 1000, mode)
