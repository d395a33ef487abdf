"""Converted classic programs load into the kernel as socket filters and return what the
classic interpreter returns (BPF_PROG_TEST_RUN)."""

from __future__ import annotations

import pytest
from cbpf_strategies import valid_program
from hypothesis import given, settings
from hypothesis import strategies as st
from packets import ethernet_capture, raw_ip_capture

from pybpf import kernel
from pybpf.cbpf import Anc, PacketMeta, SockFilter, check, convert, libpcap, parse_asm, run_filter

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(not kernel.available(), reason="bpf() is not available here")]


def _l3_meta(frame: bytes) -> PacketMeta:
    # BPF_PROG_TEST_RUN of a socket filter runs eth_type_trans: skb->data starts at the
    # network header, skb->len excludes the Ethernet header, skb->protocol is the EtherType,
    # and the network header is at data (SKF_NET_OFF loads are relative to it).  The link-layer
    # header lies before data, which PacketMeta cannot place: programs here avoid SKF_LL_OFF.
    return PacketMeta(len=len(frame) - 14, protocol=int.from_bytes(frame[12:14], "big"),
                      mac_offset=None, net_offset=0)


def _kernel_results(prog: list[SockFilter], frames: list[bytes]) -> list[int]:
    with kernel.load_program(convert(prog, prune=True), kernel.BPF_PROG_TYPE_SOCKET_FILTER) as loaded:
        return [loaded.test_run(frame).retval for frame in frames]


def _test_run_takes(frame: bytes) -> bool:
    # BPF_PROG_TEST_RUN refuses (EINVAL) frames shorter than an Ethernet header, and IPv4 /
    # IPv6 frames whose network header is not all there.
    minimum = {b"\x08\x00": 20, b"\x86\xdd": 40}.get(frame[12:14], 0)
    return len(frame) >= 14 + minimum


def _frames() -> list[bytes]:
    # Raw IP packets get an Ethernet header in front.
    frames = [d for d, _w in ethernet_capture(5, 120)]
    frames += [bytes(12) + (b"\x86\xdd" if d[0] >> 4 == 6 else b"\x08\x00") + d
               for d, _w in raw_ip_capture(6, 80)]
    return [f for f in frames if _test_run_takes(f)]


RAW_EXPRS = ["ip", "ip6", "tcp port 80", "udp or icmp", "host 10.0.0.1", "ip6 and tcp", "ip[9] = 17",
             "len > 100", "net 192.168.0.0/16 or ip6 net 2001:db8::/32", "tcp[tcpflags] & tcp-syn != 0",
             "ip[2:2] / ip[9] > 10", "ip[6:2] & 0x1fff != 0", "udp port 53 or tcp portrange 1000-2000"]


@pytest.mark.skipif(not libpcap.available(), reason="libpcap is not installed")
@pytest.mark.parametrize("expr", RAW_EXPRS)
def test_libpcap_programs_match_in_kernel(expr: str) -> None:
    # Compiled for raw IP: offset 0 is the IP header, which is where a socket filter's data starts.
    prog = libpcap.compile_filter(expr, libpcap.LINKTYPE_RAW)
    frames = _frames()
    got = _kernel_results(prog, frames)
    want = [run_filter(prog, f[14:], _l3_meta(f)) for f in frames]
    assert got == want
    assert any(got) or expr in ("ip[2:2] / ip[9] > 10",)


HAND = [
    "ld #proto\nret a",
    "ld #len\nldx #len\nadd x\nret a",
    "ldb [0]\nand #0xf\nlsh #2\ntax\nldh [x + 2]\nret a",
    "ldxb 4*([0]&0xf)\nldb [x + 13]\njset #0x12, syn, no\nsyn: ret #0xffff\nno: ret #0",
    "ld [0]\nldx #0\ndiv x\nret #1",
    "ld #5\nst M[0]\nldx #3\nstx M[15]\nld M[15]\nldx M[0]\nmul x\nret a",
    "ld #0x80000000\njge #0x80000000, t1, f1\nt1: ret #1\nf1: ret #2",
    "ld #1\nldx #35\nlsh x\nret a",
    "ldb [1000]\nret #9",
    "ld #0xf0\nldx #0x0f\nld #xor_x\nret a",
    "ld #vlan_avail\nret a",
    "ldb [-1048567]\nret a",               # SKF_NET_OFF + 9: the IPv4 protocol
    "ldh [-1048574]\nret a",               # SKF_NET_OFF + 2: total length
    "ldx #4\nld [x + -1048576]\nret a",    # LD_IND into the SKF_NET_OFF window
    "ld [-1048577]\nret #3",               # just below: the SKF_LL_OFF window, past any packet
]


@pytest.mark.parametrize("src", HAND)
def test_hand_written_programs(src: str) -> None:
    prog = parse_asm(src)
    check(prog)
    frames = _frames()[:40]
    assert _kernel_results(prog, frames) == [run_filter(prog, f[14:], _l3_meta(f)) for f in frames]


@settings(max_examples=40, deadline=None)
@given(valid_program(ancillary=False, negative=False, max_len=25), st.integers(0, 10**6))
def test_random_programs_match_in_kernel(prog: list[SockFilter], seed: int) -> None:
    check(prog)
    frames = _frames()[seed % 50:][:6]
    assert _kernel_results(prog, frames) == [run_filter(prog, f[14:], _l3_meta(f)) for f in frames]


def test_helper_backed_ancillary_loads_are_refused_by_the_kernel() -> None:
    prog = [SockFilter(0x20, 0, 0, Anc.PAY_OFFSET.k), SockFilter(0x16)]
    with pytest.raises(kernel.KernelError if hasattr(kernel, "KernelError") else Exception):
        _kernel_results(prog, _frames()[:1])
