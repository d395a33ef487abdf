"""``pybpf filter`` (classic filters over captures) and ``pybpf seccomp`` (one syscall through a filter)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..cbpf import (
    AUDIT_ARCH,
    FilterError,
    PacketMeta,
    SeccompData,
    SeccompFilter,
    SockFilter,
    check,
    decode,
    libpcap,
    parse_any,
    run_filter,
)
from ..cbpf.pycompile import compile_program, compile_scanner
from ..cbpf.seccomp import syscall_number
from ..errors import PyBpfError

__all__ = ["register"]

ENGINES = ("compiled", "classic", "ebpf", "jit", "libpcap")
# A capture has no skb: no link-layer/network header windows for negative offsets
# (libpcap treats them as out of bounds too), ancillary loads read zeros.
_CAPTURE_META = PacketMeta(mac_offset=None, net_offset=None)


def register(sub: Any) -> None:
    f: argparse.ArgumentParser = sub.add_parser(
        "filter", help="select the packets of a capture a classic filter accepts (like tcpdump -w)",
        description="Compile EXPRESSION with libpcap's pcap_compile for the capture's link type "
                    "(or take a compiled program with --cbpf) and keep the packets it accepts.")
    f.add_argument("expression", nargs="*", help="a pcap filter expression (words are joined)")
    f.add_argument("-r", dest="read", required=True, metavar="IN", help="capture to read (pcap or pcapng)")
    f.add_argument("-w", dest="write", metavar="OUT", help="write the accepted packets to this pcap")
    f.add_argument("--count", action="store_true", help="print only the number of accepted packets")
    f.add_argument("--cbpf", metavar="FILE",
                   help="a compiled program: tcpdump -dd/-ddd/-d text, bpf_asm source or raw bytes")
    f.add_argument("--engine", choices=ENGINES, default="compiled",
                   help="who runs the filter: the program compiled to Python (default), pybpf's "
                        "classic interpreter, the converted eBPF on pybpf's interpreter or JIT, or "
                        "libpcap's bpf_filter")
    f.set_defaults(func=_filter)

    s: argparse.ArgumentParser = sub.add_parser(
        "seccomp", help="evaluate a seccomp filter for one system call and name the action",
        description="Check FILTER as the kernel checks seccomp programs, run it over the "
                    "seccomp_data of one call and print the action (ALLOW, ERRNO(n), KILL_PROCESS ...).")
    s.add_argument("filter", help="the filter: tcpdump -dd/-ddd/-d text, bpf_asm source or raw bytes")
    s.add_argument("--arch", default="x86_64", choices=sorted(AUDIT_ARCH), help="audit architecture")
    s.add_argument("--syscall", required=True, help="syscall name (or number)")
    s.add_argument("--args", nargs="*", default=[], metavar="N", help="up to 6 argument values")
    s.add_argument("--ip", default="0", help="instruction_pointer (default 0)")
    s.set_defaults(func=_seccomp)


def read_program(path: str) -> list[SockFilter]:
    """A classic program from a file in any text format, or raw ``struct sock_filter`` bytes."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise PyBpfError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return decode(data)
    if "\x00" in text:
        return decode(data)
    return parse_any(text)


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise PyBpfError(f"{what} {text!r} is not a number") from None


def _seccomp(args: argparse.Namespace) -> int:
    if len(args.args) > 6:
        raise PyBpfError(f"a system call has at most 6 arguments, {len(args.args)} given")
    filt = SeccompFilter(read_program(args.filter))
    nr = syscall_number(args.syscall, args.arch)
    data = SeccompData(nr, AUDIT_ARCH[args.arch], _int(args.ip, "--ip"),
                       tuple(_int(a, "argument") for a in args.args))
    result = filt.evaluate(data)
    print(f"{args.syscall} (nr {nr}, {args.arch}): {result.describe()}  [{result.value:#010x}]")
    return 0


# -- captures: the one place that knows how packets are read and written ------------------
def _read_capture(path: str) -> Iterator[tuple[int, bytes, int, int]]:
    """(timestamp_ns, data, orig_len, linktype) for each packet of a pcap/pcapng file."""
    from ..pcap import read_packets

    for p in read_packets(path):
        yield p.timestamp_ns, p.data, p.orig_len, p.linktype


class _Writer:
    def __init__(self, path: str, linktype: int) -> None:
        from ..pcap import PcapWriter

        # Microsecond pcap, as tcpdump -w writes.
        self._w = PcapWriter(path, linktype=linktype)

    def write(self, ts_ns: int, data: bytes, orig_len: int) -> None:
        self._w.write(data, timestamp_ns=ts_ns, orig_len=orig_len)

    def close(self) -> None:
        self._w.close()


def _matcher(prog: list[SockFilter], engine: str) -> Callable[[bytes, int], int]:
    if engine == "libpcap":
        compiled = libpcap.Compiled(prog)
        return compiled.run
    if engine in ("ebpf", "jit"):
        return _ebpf_matcher(prog, jit=engine == "jit")
    if engine == "compiled":
        return compile_program(prog, _CAPTURE_META)

    def classic(data: bytes, wirelen: int) -> int:
        return run_filter(prog, data, replace(_CAPTURE_META, len=wirelen))

    return classic


def _capture_helpers() -> Any:
    """The helpers converted programs call, answering as the classic interpreter does on a capture."""
    from ..cbpf.convert import CBPF_HELPERS, HELPER_GET_PRANDOM_U32, HELPER_GET_SMP_PROCESSOR_ID
    from ..cbpf.interp import _ancillary
    from ..cbpf.model import Anc
    from ..runtime.helpers import HelperContext, HelperRegistry

    reg = HelperRegistry()

    def answer(anc: Anc) -> Callable[..., int]:
        def helper(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
            region = ctx.memory.region_named("packet")
            data = bytes(region.buffer) if region is not None else b""
            return _ancillary(anc, data, _CAPTURE_META, r2 & 0xFFFF_FFFF, r3 & 0xFFFF_FFFF)
        return helper

    reg.register(HELPER_GET_PRANDOM_U32, answer(Anc.RANDOM), name="get_prandom_u32")
    reg.register(HELPER_GET_SMP_PROCESSOR_ID, answer(Anc.CPU), name="get_smp_processor_id")
    for anc, (hid, name) in CBPF_HELPERS.items():
        reg.register(hid, answer(anc), name=name)
    return reg


def _ebpf_matcher(prog: list[SockFilter], *, jit: bool) -> Callable[[bytes, int], int]:
    from ..cbpf import convert, sk_buff_ctx
    from ..runtime.memory import Memory

    runner: Any
    if jit:
        from ..jit import JitProgram

        runner = JitProgram(convert(prog), helpers=_capture_helpers())
    else:
        from ..interp import Interpreter

        runner = Interpreter(convert(prog), helpers=_capture_helpers())
    memory = Memory()

    def run(data: bytes, wirelen: int) -> int:
        ctx = memory.add("ctx", sk_buff_ctx(data, replace(_CAPTURE_META, len=wirelen)), kind="ctx")
        try:
            return int(runner.run(memory, r1=ctx.base, packet=data).r0) & 0xFFFF_FFFF
        finally:
            memory.remove(ctx)

    return run


_PCAP_US_LE = b"\xd4\xc3\xb2\xa1"  # microsecond pcap, little-endian: what tcpdump -w writes


def _fast_filter(args: argparse.Namespace, expression: str) -> tuple[int, int] | None:
    """The fast path: a little-endian microsecond pcap scanned whole by a compiled scanner.

    Accepted records are copied byte for byte under the input's file header
    (tcpdump -w writes the same records).  Returns (accepted, total), or None
    when the file is anything else (or damaged) and the general path must run.
    """
    try:
        with open(args.read, "rb") as fh:
            buf = fh.read()
    except OSError:
        return None
    if len(buf) < 24 or buf[:4] != _PCAP_US_LE:
        return None
    linktype = int.from_bytes(buf[20:24], "little") & 0x0FFF_FFFF
    prog = _program(args, expression, linktype)
    scan = compile_scanner(prog, _CAPTURE_META)
    accepted, stop, seen = scan(buf, 24, len(buf))
    if stop != len(buf):
        return None  # a cut-short record: let the reader report it
    if args.write:
        try:
            with open(args.write, "wb") as out:
                out.write(buf[:24])
                out.writelines(accepted)
        except OSError as exc:
            raise PyBpfError(f"cannot write {args.write}: {exc.strerror}") from exc
    return len(accepted), seen


def _program(args: argparse.Namespace, expression: str, linktype: int) -> list[SockFilter]:
    if args.cbpf:
        if expression:
            raise PyBpfError("give either an EXPRESSION or --cbpf FILE, not both")
        prog = read_program(args.cbpf)
    else:
        prog = libpcap.compile_filter(expression, linktype)  # an empty expression accepts everything
    try:
        check(prog)
    except FilterError as exc:
        raise PyBpfError(f"the filter does not pass the kernel's checks: {exc}") from exc
    return prog


def _report(args: argparse.Namespace, accepted: int, seen: int) -> None:
    if args.count:
        print(accepted)
    else:
        print(f"{accepted} of {seen} packets accepted")


def _filter(args: argparse.Namespace) -> int:
    expression = " ".join(args.expression)
    if args.engine == "compiled":
        fast = _fast_filter(args, expression)
        if fast is not None:
            _report(args, *fast)
            return 0
    packets = _read_capture(args.read)
    first = next(packets, None)
    linktype = first[3] if first is not None else 1
    prog = _program(args, expression, linktype)
    match = _matcher(prog, args.engine)
    writer = _Writer(args.write, linktype) if args.write else None
    seen = accepted = 0
    try:
        if first is not None:
            for ts, data, orig_len, _lt in _chain(first, packets):
                seen += 1
                if match(data, orig_len):
                    accepted += 1
                    if writer:
                        writer.write(ts, data, orig_len)
    finally:
        if writer:
            writer.close()
    _report(args, accepted, seen)
    return 0


def _chain(first: tuple[int, bytes, int, int],
           rest: Iterator[tuple[int, bytes, int, int]]) -> Iterator[tuple[int, bytes, int, int]]:
    yield first
    yield from rest
