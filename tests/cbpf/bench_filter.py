"""Benchmark: packets per second of ``pybpf filter`` against ``tcpdump -r IN -w OUT``.

    python tests/cbpf/bench_filter.py [--packets 1000000] [--expr "tcp port 80"] [--engine compiled]

Builds a capture of N packets (2,000 distinct generated packets repeated with
fresh timestamps), runs both tools once on it, checks they wrote the same
packets, and prints packets per second and the ratio.  Not a test: it is run
by hand (or by CI's benchmark job), never by pytest.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from packets import ethernet_capture

from pybpf.cli import main
from pybpf.pcap import PcapWriter, read_packets


def build(path: Path, count: int) -> None:
    base = ethernet_capture(99, 2000)
    with PcapWriter(str(path)) as w:
        for i in range(count):
            data, wire = base[i % len(base)]
            w.write(data, timestamp_ns=1_700_000_000_000_000_000 + i * 1000, orig_len=wire)


def main_() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--expr", default="tcp port 80 or (vlan and udp)")
    ap.add_argument("--engine", default="compiled")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cap, ours, theirs = Path(tmp, "in.pcap"), Path(tmp, "ours.pcap"), Path(tmp, "theirs.pcap")
        build(cap, args.packets)
        t0 = time.perf_counter()
        subprocess.run(["tcpdump", "-r", str(cap), "-w", str(theirs), args.expr], check=True,
                       capture_output=True)
        t_tcpdump = time.perf_counter() - t0
        t0 = time.perf_counter()
        main(["filter", args.expr, "-r", str(cap), "-w", str(ours), "--count", "--engine", args.engine])
        t_pybpf = time.perf_counter() - t0
        same = [p.data for p in read_packets(ours)] == [p.data for p in read_packets(theirs)]
    n = args.packets
    print(f"expression: {args.expr!r}, {n} packets, engine {args.engine}, same output: {same}")
    print(f"tcpdump : {t_tcpdump:7.2f} s  {n / t_tcpdump:12,.0f} packets/s")
    print(f"pybpf   : {t_pybpf:7.2f} s  {n / t_pybpf:12,.0f} packets/s")
    print(f"ratio pybpf/tcpdump (throughput): {t_tcpdump / t_pybpf:.3f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main_())
