"""The whole ``shared/bench`` suite: build, time native and pybpf in one run, tabulate.

The programs and their inputs are read in place from ``../shared/bench``
(relative to the repository root); nothing is copied.  Building needs clang
with the BPF target and a host C compiler for the native baseline.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyBpfError
from ..isa import Program, decode
from .timing import TimingResult, time_object_program, time_program

__all__ = ["BENCHES", "Bench", "SuiteRow", "build_bench", "find_shared_bench", "run_suite"]


@dataclass(frozen=True)
class Bench:
    name: str
    source: str
    defines: tuple[str, ...]
    mem: str
    needs_maps: bool = False


# The table of shared/bench/README.md.
BENCHES: tuple[Bench, ...] = (
    Bench("nop", "nop.c", (), "nop.mem"),
    Bench("primes", "primes.c", (), "primes.mem"),
    Bench("log2", "log2.c", (), "log2.mem"),
    Bench("memops", "memops.c", (), "memops.mem"),
    Bench("fsm", "fsm.c", (), "fsm.mem"),
    Bench("fsm128", "fsm.c", ("FSM_LEN=128",), "fsm.mem"),
    Bench("pktparse", "pktparse.c", (), "pktparse.mem"),
    Bench("maphash", "maphash.c", (), "maphash.mem", needs_maps=True),
)


def find_shared_bench(explicit: Path | None = None) -> Path:
    """``shared/bench``: given, or ``../shared/bench`` from the repository root or the cwd."""
    candidates = [explicit] if explicit else []
    repo_root = Path(__file__).resolve().parents[3]
    candidates += [repo_root / ".." / "shared" / "bench", Path.cwd() / ".." / "shared" / "bench"]
    for c in candidates:
        if c is not None and (c / "expected.json").is_file():
            return c.resolve()
    raise PyBpfError("shared/bench not found (looked for ../shared/bench beside the repository); "
                     "pass --shared PATH")


def _tool(names: Iterable[str]) -> str:
    for n in names:
        found = shutil.which(n)
        if found:
            return found
    raise PyBpfError(f"none of {', '.join(names)} is installed")


def _sh(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PyBpfError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def build_bench(bench: Bench, shared: Path, out: Path) -> tuple[Program, Path, bytes]:
    """Compile ``bench`` for eBPF and natively; return (its ``.text``, native binary, the object)."""
    from ..elf.sections import read_code_sections

    clang = _tool(["clang-14", "clang"])
    cc = _tool(["gcc", "cc"])
    dflags = [f"-D{d}" for d in bench.defines]
    obj = out / f"{bench.name}.o"
    _sh([clang, "-O2", "-target", "bpf", *dflags, "-c", bench.source, "-o", str(obj)], shared)
    text = [s for s in read_code_sections(obj.read_bytes()) if s.name == ".text"]
    if not text:
        raise PyBpfError(f"{obj}: no .text section")
    native = out / f"native_{bench.name}"
    _sh([cc, "-O2", "-o", str(native), f'-DBENCH_SRC="{bench.source}"', *dflags, "native_runner.c"], shared)
    return decode(text[0].data), native, obj.read_bytes()


@dataclass(frozen=True)
class SuiteRow:
    bench: Bench
    expected_ret: int | None
    expected_insns: int | None
    native_ns: float | None
    pybpf: TimingResult | None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.pybpf is None or not self.native_ns:
            return None
        return self.pybpf.ns_median / self.native_ns

    @property
    def correct(self) -> bool:
        return self.pybpf is not None and (self.expected_ret is None or self.pybpf.ret == self.expected_ret)


def run_suite(shared: Path, *, only: set[str] | None = None, engine: str = "interp",
              samples: int = 11, rounds: int = 1) -> list[SuiteRow]:
    """Build and time every bench; native and pybpf back to back, bench by bench."""
    expected = json.loads((shared / "expected.json").read_text())
    rows: list[SuiteRow] = []
    with tempfile.TemporaryDirectory(prefix="pybpf-bench-") as tmp:
        for bench in BENCHES:
            if only and bench.name not in only:
                continue
            exp = expected.get(bench.name, {})
            want = int(exp["ret"], 16) if "ret" in exp else None
            insns = exp.get("insns")
            mem = (shared / "inputs" / bench.mem).read_bytes()
            try:
                program, native, obj = build_bench(bench, shared, Path(tmp))
            except PyBpfError as exc:
                rows.append(SuiteRow(bench, want, insns, None, None, f"build failed: {exc}"))
                continue
            natives: list[float] = []
            timings: list[TimingResult] = []
            error = None
            for _ in range(rounds):
                natives.append(float(json.loads(_sh([str(native), str(shared / "inputs" / bench.mem)],
                                                    shared).strip().splitlines()[-1])["ns_median"]))
                try:
                    if bench.needs_maps:  # the object's maps, through pybpf.objects (interpreter)
                        timings.append(time_object_program(obj, mem, samples=samples))
                    else:
                        timings.append(time_program(program, mem, engine=engine, samples=samples))
                except PyBpfError as exc:
                    error = str(exc)
                    break
            # the round whose time is the median (upper median for an even count)
            ranked = sorted(timings, key=lambda t: t.ns_median)
            best = ranked[len(ranked) // 2] if ranked else None
            rows.append(SuiteRow(bench, want, insns, statistics.median(natives), best, error))
    return rows
