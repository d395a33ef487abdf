"""``pybpf bench``: the shared benchmark suite against native, in one run."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..bench.suite import SuiteRow, find_shared_bench, run_suite

__all__ = ["register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="time pybpf on ../shared/bench against the native gcc -O2 build",
        description="Build every program of shared/bench with clang (eBPF) and gcc (native), "
        "time both in the same run, and print ns per run, ns per instruction and the ratio to native.",
    )
    p.add_argument("--shared", type=Path, help="path to shared/bench (default: ../shared/bench)")
    p.add_argument("--only", help="comma-separated benchmark names")
    p.add_argument("--engine", default="interp", choices=["interp", "jit", "jit-trusted", "auto"])
    p.add_argument("--samples", type=int, default=11, help="samples per measurement (median taken)")
    p.add_argument("--rounds", type=int, default=1, help="measure each bench this many times")
    p.add_argument("--json", action="store_true", help="print the rows as JSON lines instead of a table")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    p.set_defaults(func=_bench)


def _fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "n/a"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def _cells(row: SuiteRow, engine: str) -> list[str]:
    t = row.pybpf
    ok = "" if row.correct else " ✗ret"
    if t is not None and engine != "auto" and t.engine != engine:
        ok += f" ({t.engine})"  # maphash runs with its maps on the interpreter whatever the engine
    return [
        row.bench.name,
        str(row.expected_insns or "?"),
        _fmt_ns(row.native_ns),
        (_fmt_ns(t.ns_median) + ok) if t else (row.error or "n/a"),
        f"{t.ns_per_insn:.1f}" if t and t.ns_per_insn else "n/a",
        (f"{row.ratio:.1f}x" if row.ratio < 10 else f"{row.ratio:.0f}x") if row.ratio else "n/a",
    ]


HEADERS = ["program", "insns/run", "native", "pybpf", "ns/insn", "x native"]


def _bench(args: argparse.Namespace) -> int:
    shared = find_shared_bench(args.shared)
    only = set(args.only.split(",")) if args.only else None
    rows = run_suite(shared, only=only, engine=args.engine, samples=args.samples, rounds=args.rounds)
    per_insn = [r.pybpf.ns_per_insn for r in rows
                if r.pybpf and r.pybpf.ns_per_insn and not r.bench.needs_maps]
    summary = f"median ns per executed instruction (benches without maps): " \
              f"{statistics.median(per_insn):.1f}" if per_insn else "no timings"
    if args.json:
        for r in rows:
            print(json.dumps({"bench": r.bench.name, "native_ns": r.native_ns, "error": r.error,
                              "correct": r.correct, **(r.pybpf.as_json() if r.pybpf else {})}))
    elif args.markdown:
        print("| " + " | ".join(HEADERS) + " |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in rows:
            print("| " + " | ".join(_cells(r, args.engine)) + " |")
        print(f"\n{summary}")
    else:
        table = Table(title=f"pybpf {args.engine} vs native (gcc -O2), same run")
        for h in HEADERS:
            table.add_column(h, justify="left" if h == "program" else "right")
        for r in rows:
            table.add_row(*_cells(r, args.engine))
        console = Console()
        console.print(table)
        console.print(summary)
    return 0 if all(r.correct for r in rows) else 1
