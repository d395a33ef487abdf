"""Verification time and processed instructions over the verifier corpus.

Run: ``python tests/verifier/bench_verifier.py [--kernel]``.  Prints one line
per program (time, pybpf's processed insns, and the kernel's with --kernel),
then totals.  Cases that hit the 1M instruction limit are explored to their
full limit here, so they show the real cost.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from vcases import load_all  # noqa: E402

from pybpf.asm import assemble  # noqa: E402
from pybpf.verifier import verify  # noqa: E402


def main() -> int:
    with_kernel = "--kernel" in sys.argv
    skip_huge = "--skip-huge" in sys.argv
    rows = []
    for case in load_all():
        if skip_huge and (case.error or "").startswith("BPF program is too large"):
            continue
        prog = assemble(case.asm)
        t0 = time.perf_counter()
        report = verify(prog, prog_type=case.prog_type, maps=case.maps, unprivileged=case.unprivileged,
                        strict_alignment=case.strict)
        dt = time.perf_counter() - t0
        kernel_n = ""
        if with_kernel and case.kernel != "skip":
            import oracle

            v = oracle.load(prog, case.prog_type, case.maps, strict=case.strict)
            m = re.search(r"processed (\d+) insns", v.log)
            kernel_n = m.group(1) if m else "?"
        rows.append((dt, case.id, report.processed_insns, kernel_n))
        print(f"{dt * 1000:9.2f} ms  {report.processed_insns:8d} insns  {kernel_n:>8}  {case.id}")
    total = sum(r[0] for r in rows)
    worst = max(rows)
    print(f"{len(rows)} programs, {total:.2f} s total, slowest {worst[0]:.2f} s ({worst[1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
