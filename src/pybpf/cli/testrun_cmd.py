"""``pybpf test-run``: every packet of a capture through a program, as BPF_PROG_TEST_RUN does.

Each packet is one ``BPF_PROG_TEST_RUN`` of the program on a fresh context
(maps keep their state from packet to packet, as in the kernel).  ``--out``
writes every packet's ``data_out`` to a pcap, dropped packets included: the
kernel's test run returns the packet after the program whatever the verdict
and it is the program's output, not a forwarding decision, that is recorded.
For programs that see the packet from the network header on (socket
filters), the kernel zeroes the Ethernet header it hands back; whichever
engine runs, the output is what that engine's test run returned.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from ..errors import PyBpfError
from ..pcap import CaptureReader, Packet, PcapWriter
from ..platform.progtypes import PROG_TYPES, ProgType

__all__ = ["ENGINES", "PacketResult", "Runner", "load_object_or_fail", "open_runner", "register",
           "run_capture", "verdict_name"]

ENGINES = ("auto", "interp", "kernel")
# Files bigger than this get a progress bar (when stderr is a terminal).
_PROGRESS_BYTES = 1 << 20


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "test-run",
        help="run every packet of a pcap/pcapng file through a program of an object",
        description="Run each packet of IN through PROG (the BPF_PROG_TEST_RUN model, maps kept "
        "between packets) and print the verdicts.  --out writes every packet's data_out "
        "(dropped packets too, as the kernel's test run returns them) to a pcap.",
    )
    p.add_argument("object", type=Path, help="BPF ELF object (.o)")
    p.add_argument("--prog", help="program name (default: the object's only program)")
    p.add_argument("--pcap", type=Path, required=True, metavar="IN", help="input capture (pcap or pcapng)")
    p.add_argument("--out", type=Path, metavar="OUT.pcap", help="write every packet's data_out here")
    p.add_argument("--json", action="store_true",
                   help='one JSON line per packet: {"index", "retval", "data_out" (hex, only if changed)}')
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto/interp: pybpf's runtime; kernel: the running kernel's bpf() (needs root)")
    p.set_defaults(func=_test_run)


def verdict_name(prog_type: int, retval: int) -> str:
    """What a return value means for the program type: XDP_PASS, TC_ACT_SHOT, keep/drop ..."""
    ret = retval & 0xFFFF_FFFF
    signed = ret - (1 << 32) if ret & 0x8000_0000 else ret
    try:
        info = PROG_TYPES[ProgType(prog_type)]
    except (ValueError, KeyError):
        return str(signed)
    if info.ret_meaning == "bytes":  # socket filter: how many bytes to keep
        return "drop" if ret == 0 else "keep"
    return info.ret_codes.get(signed, str(signed))


# -- engines -----------------------------------------------------------------------

class Runner(Protocol):
    """A loaded program that runs one packet at a time."""

    name: str
    section: str
    prog_type: int
    engine: str

    def run(self, data: bytes) -> tuple[int, bytes]:
        """One test run: (32-bit retval, data_out)."""
        ...

    def close(self) -> None: ...


def _pick(names: list[str], wanted: str | None, path: Path) -> str:
    if wanted is not None:
        if wanted not in names:
            raise PyBpfError(f"{path}: no program named {wanted!r} (have {', '.join(names) or 'none'})")
        return wanted
    if len(names) != 1:
        raise PyBpfError(f"{path} has {len(names)} programs ({', '.join(names)}): choose one with --prog")
    return names[0]


def load_object_or_fail(path: Path) -> Any:
    """``pybpf.objects.load_object(path)``, or a clear error when the runtime is missing."""
    try:
        from ..objects import load_object
    except ImportError as exc:  # a partial install: say so instead of a traceback
        raise PyBpfError(f"pybpf's object runtime is unavailable ({exc}); try --engine kernel") from exc
    return load_object(path)


class _ObjectRunner:
    """pybpf's own object runtime (pybpf.objects)."""

    def __init__(self, path: Path, prog: str | None) -> None:
        self.obj = load_object_or_fail(path)
        self.prog = self.obj.programs[_pick(list(self.obj.programs), prog, path)]
        self.name = self.prog.name
        self.section = self.prog.section
        self.prog_type = int(self.prog.prog_type)
        self.engine = "interp"

    def run(self, data: bytes) -> tuple[int, bytes]:
        r = self.prog.test_run(data)
        return r.retval & 0xFFFF_FFFF, bytes(r.data_out)

    def close(self) -> None:
        pass


class _KernelRunner:
    """The running kernel: maps created from the object's MapSpecs, then BPF_PROG_LOAD."""

    def __init__(self, path: Path, prog: str | None) -> None:
        from .. import kernel
        from ..elf import load_spec

        if not kernel.available():
            raise PyBpfError(f"--engine kernel: {kernel.unavailable_reason()}")
        spec = load_spec(path)
        ps = spec.programs[_pick(list(spec.programs), prog, path)]
        self.name, self.section, self.engine = ps.name, ps.section, "kernel"
        self.prog_type = int(ps.prog_type)
        self._maps: list[kernel.BpfMap] = []
        self._prog: kernel.BpfProgram | None = None
        try:
            fds = {}
            for name in ps.maps_used:
                ms = spec.map(name)
                try:
                    m = kernel.BpfMap(map_type=int(ms.type), key_size=ms.key_size,
                                      value_size=ms.value_size, max_entries=ms.max_entries,
                                      flags=ms.flags, name=name)
                except PyBpfError as exc:
                    # pybpf.kernel.BpfMap wants key and value sizes > 0, so ring
                    # buffers (both 0) cannot be made here yet.
                    raise PyBpfError(f"--engine kernel: cannot create map {name!r} "
                                     f"({ms.type.name.lower()}): {exc}") from exc
                self._maps.append(m)
                for key, value in ms.contents:
                    m.update(key, value)
                fds[name] = m.fd
            attach = ps.attach_type
            self._prog = kernel.load_program(ps.bind_maps(fds), self.prog_type,
                                             license=ps.license or spec.license or "GPL", name=ps.name,
                                             expected_attach_type=0 if attach is None else int(attach))
        except BaseException:
            self.close()
            raise

    def run(self, data: bytes) -> tuple[int, bytes]:
        assert self._prog is not None
        r = self._prog.test_run(data)
        return r.retval, r.data_out

    def close(self) -> None:
        if self._prog is not None:
            self._prog.close()
            self._prog = None
        for m in self._maps:
            m.close()
        self._maps.clear()


def open_runner(path: Path, prog: str | None, engine: str = "auto") -> Runner:
    if engine == "kernel":
        return _KernelRunner(path, prog)
    return _ObjectRunner(path, prog)


# -- the loop ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PacketResult:
    index: int
    packet: Packet
    retval: int
    data_out: bytes


class _Progress(AbstractContextManager["_Progress"]):
    """A rich progress bar over the bytes of the capture, only on a terminal."""

    def __init__(self, reader: CaptureReader, path: Path) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._reader = reader
        self._bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                             TextColumn("{task.fields[packets]} packets"), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(path.name, total=path.stat().st_size, packets=0)

    def update(self, count: int) -> None:
        self._bar.update(self._task, completed=self._reader.position, packets=count)

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.stop()


def run_capture(runner: Runner, pcap: Path, *, progress: bool | None = None) -> Iterator[PacketResult]:
    """Run every packet of ``pcap`` through ``runner``, in capture order.

    A failing packet raises a :class:`PyBpfError` naming its index.
    ``progress=None`` shows a bar when stderr is a terminal and the file is big.
    """
    with CaptureReader(pcap) as reader:
        if progress is None:
            progress = sys.stderr.isatty() and os.path.getsize(pcap) > _PROGRESS_BYTES
        bar: Any = _Progress(reader, pcap) if progress else nullcontext()
        with bar:
            for index, packet in enumerate(reader):
                try:
                    retval, data_out = runner.run(packet.data)
                except PyBpfError as exc:
                    raise PyBpfError(f"packet {index} ({len(packet.data)} bytes): {exc}") from exc
                yield PacketResult(index, packet, retval, data_out)
                if progress and index % 256 == 0:
                    bar.update(index + 1)


def _test_run(args: argparse.Namespace) -> int:
    with CaptureReader(args.pcap) as probe:
        # Keep the input's timestamp precision in --out (pcapng may carry nanoseconds).
        nanosecond = probe.nanosecond or probe.format == "pcapng"
    runner = open_runner(args.object, args.prog, args.engine)
    writer: PcapWriter | None = None
    # --out is written beside the target and renamed at the end, so a run that
    # fails half-way never leaves a half-written capture under the asked name.
    partial = None if args.out is None else args.out.with_name(args.out.name + ".part")
    verdicts: Counter[str] = Counter()
    packets = modified = 0
    start = time.perf_counter()
    done = False
    try:
        for res in run_capture(runner, args.pcap):
            packets += 1
            changed = res.data_out != res.packet.data
            modified += changed
            verdicts[verdict_name(runner.prog_type, res.retval)] += 1
            if partial is not None:
                if writer is None:
                    writer = PcapWriter(partial, linktype=res.packet.linktype, nanosecond=nanosecond)
                writer.write(res.data_out, timestamp_ns=res.packet.timestamp_ns)
            if args.json:
                doc: dict[str, Any] = {"index": res.index, "retval": res.retval}
                if changed:
                    doc["data_out"] = res.data_out.hex()
                print(json.dumps(doc))
        if partial is not None and writer is None:  # empty capture: still an empty pcap
            writer = PcapWriter(partial)
        done = True
    finally:
        runner.close()
        if writer is not None:
            writer.close()
        if partial is not None:
            if done:
                os.replace(partial, args.out)
            else:
                partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if not args.json:
        rate = f", {packets / seconds:,.0f} packets/s" if seconds > 0 and packets else ""
        print(f"{runner.name} ({runner.section}) on {args.pcap}: {packets} packets, {modified} modified, "
              f"{seconds:.3f} s{rate}, engine {runner.engine}")
        width = max((len(v) for v in verdicts), default=0)
        for name, count in sorted(verdicts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {name:<{width}}  {count}")
        if args.out is not None:
            print(f"wrote {packets} packets to {args.out}")
    return 0
