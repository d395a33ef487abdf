"""Benchmarks: time pybpf on the programs of ``../shared/bench`` beside native code.

``python -m pybpf.bench CODE MEM [--engine interp]`` times one program the way
``shared/bench/run_bench.py`` expects of an external runner (one JSON line with
``ret``, ``ns_median`` and ``insns``); ``pybpf bench`` builds the whole suite and
prints a table against the native gcc -O2 build measured in the same run.
"""

from .timing import TimingResult, time_program

__all__ = ["TimingResult", "time_program"]
