"""``python -m pybpf.bench.testrun``: packets per second of ``pybpf test-run``.

Writes a capture of ``--packets`` packets (100,000 by default: a fixed mix of
IPv4 TCP/UDP/ICMP frames) into a temporary directory, builds a simple XDP
filter (drop UDP to port 53, pass the rest) with clang, and times the real
command, ``pybpf test-run OBJ --pcap IN``, end to end in a child process, once
per engine.  The table gives wall-clock seconds (interpreter start-up
included, as a user would see it) and packets per second.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..pcap import PcapWriter

__all__ = ["FILTER_C", "main", "write_capture"]

FILTER_C = r"""
/* Drop IPv4 UDP to port 53, pass everything else. */
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *end = (void *)(long)ctx->data_end;

    if (data + 14 + 20 + 4 > end)
        return XDP_PASS;
    if (data[12] != 0x08 || data[13] != 0x00 || data[23] != 17)
        return XDP_PASS;
    unsigned int ihl = (data[14] & 15) * 4;
    unsigned char *udp = data + 14 + ihl;
    if (udp + 4 > end)
        return XDP_PASS;
    return udp[2] == 0 && udp[3] == 53 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def _frame(proto: int, sport: int, dport: int, payload: int) -> bytes:
    l4 = (struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0) if proto == 6
          else struct.pack("!HHHH", sport, dport, 8 + payload, 0) if proto == 17
          else struct.pack("!BBHHH", 8, 0, 0, 1, 1)) + bytes(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                     bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]))
    return bytes.fromhex("020000000001" "020000000002" "0800") + ip + l4


def write_capture(path: Path, packets: int) -> None:
    """``packets`` frames cycling over a fixed TCP/UDP/ICMP mix (a third are DNS)."""
    templates = [_frame(6, 40000, 80, 0), _frame(17, 33000, 53, 32), _frame(1, 0, 0, 16),
                 _frame(6, 40001, 443, 100), _frame(17, 5353, 5353, 12), _frame(17, 33001, 53, 20)]
    with PcapWriter(path) as w:
        for i in range(packets):
            w.write(templates[i % len(templates)], timestamp_ns=i * 1000)


def _build_filter(tmp: Path, clang: str) -> Path:
    src, obj = tmp / "filter.c", tmp / "filter.o"
    src.write_text(FILTER_C)
    include = []
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                               check=False).stdout.strip() if shutil.which("gcc") else ""
    if multiarch:  # <linux/bpf.h> needs <asm/types.h> from the multiarch directory
        include = [f"-I/usr/include/{multiarch}"]
    subprocess.run([clang, "-O2", "-target", "bpf", *include, "-c", str(src), "-o", str(obj)],
                   check=True, capture_output=True)
    return obj


def _time(obj: Path, pcap: Path, engine: str) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "pybpf.cli", "test-run", str(obj), "--pcap", str(pcap), "--engine", engine]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    summary = proc.stdout.splitlines()[0] if proc.returncode == 0 and proc.stdout else proc.stderr.strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {summary}")
    return seconds, summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pybpf.bench.testrun", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=100_000, help="packets in the capture (default 100000)")
    ap.add_argument("--engine", action="append", choices=["interp", "kernel"],
                    help="engine to time (repeatable; default: interp, and kernel when bpf() works)")
    ap.add_argument("--object", type=Path, help="use this XDP object instead of building the filter")
    ap.add_argument("--clang", default="clang")
    args = ap.parse_args(argv)
    engines = args.engine
    if not engines:
        from ..kernel import available

        engines = ["interp", "kernel"] if available() else ["interp"]
    with tempfile.TemporaryDirectory(prefix="pybpf-bench-") as tmpdir:
        tmp = Path(tmpdir)
        pcap = tmp / "traffic.pcap"
        write_capture(pcap, args.packets)
        try:
            obj = args.object or _build_filter(tmp, args.clang)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"pybpf.bench.testrun: cannot build the filter with {args.clang}: {exc}", file=sys.stderr)
            return 1
        rows = []
        for engine in engines:
            try:
                seconds, _ = _time(obj, pcap, engine)
            except RuntimeError as exc:
                print(f"pybpf.bench.testrun: {exc}", file=sys.stderr)
                return 1
            rows.append((f"{args.packets:,}", f"{seconds:.2f}", f"{args.packets / seconds:,.0f}", engine))
    headers = ("packets", "seconds", "packets/s", "engine")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
