"""pybpf's classic interpreter, the converted eBPF on pybpf's interpreter and libpcap's
``bpf_filter`` agree packet by packet, for tcpdump's own programs over generated captures."""

from __future__ import annotations

import functools

import pytest
from ebpf_run import EbpfRunner
from packets import ethernet_capture, raw_ip_capture

from pybpf.cbpf import PacketMeta, check, libpcap, run_filter

pytestmark = pytest.mark.skipif(not libpcap.available(), reason="libpcap is not installed")

EXPRESSIONS = [
    # ports
    "tcp port 80", "udp port 53", "port 443", "tcp dst port 22", "src port 8080", "portrange 1000-2000",
    "tcp portrange 20-25", "udp src port 5353 or udp dst port 5353",
    # hosts and nets
    "host 10.0.0.1", "src host 192.168.1.2", "dst host 8.8.8.8", "host 10.0.0.1 and host 10.0.0.2",
    "net 10.0.0.0/24", "src net 192.168.0.0/16", "dst net 10.0.0.0/8", "net 192.168.1.0 mask 255.255.255.0",
    "ether host 00:11:22:33:44:55", "ether broadcast", "ether multicast", "ip multicast",
    # vlan
    "vlan", "vlan 100", "vlan and tcp", "vlan 200 and ip6", "vlan and vlan", "vlan 4095 or vlan 1",
    "vlan and host 10.0.0.2",
    # tcp flags
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn", "tcp[13] = 0x12",
    "tcp[tcpflags] & tcp-rst != 0", "tcp[tcpflags] & tcp-fin != 0 and tcp[tcpflags] & tcp-ack != 0",
    # ip6
    "ip6", "ip6 and tcp", "ip6 host fe80::1", "ip6 net 2001:db8::/32", "ip6 and udp port 53", "icmp6",
    "ip6 proto 58", "ip6 multicast",
    # protocol chains
    "ip and tcp", "ip and (tcp or udp)", "icmp", "arp", "not ip", "ip proto 47", "tcp or icmp",
    "ether proto 0x88cc", "ip and not tcp", "(tcp and port 80) or (udp and port 53)", "ip proto \\ospf",
    # byte offsets and masks, arithmetic
    "ip[0] & 0xf != 5", "ip[6:2] & 0x1fff != 0", "ip[8] < 64", "ether[0] & 1 != 0", "ip[2:2] > 500",
    "udp[4:2] > 100", "tcp[0:2] = 80", "ip[1] & 0xfc = 0x10", "ether[12:2] = 0x0800",
    "icmp[icmptype] = icmp-echo", "(ip[2:2] * 2 / 3) % 7 < 3", "ip[0] ^ 0x45 = 0", "ip[2:2] >> 2 = 10",
    "(ip[2:2] & 0xff) << 1 > 100", "ip[9] - 6 = 0", "ip[2:2] / ip[9] > 10", "ip[2:2] % ip[1] = 0",
    "ether[14:4] & 0xffff0000 = 0x45000000", "ip[9] & 0x40 != 0", "-ip[8] & 0xff > 200",
    # length
    "len > 100", "len <= 64", "greater 200", "less 60", "len - 14 > 50", "ip[2:2] + 14 != len",
    # everything
    "",
]

RAW_EXPRESSIONS = ["ip", "ip6", "tcp port 80", "udp", "host 10.0.0.1", "ip6 and tcp", "ip[9] = 17",
                   "len > 100", "net 192.168.0.0/16 or ip6 net 2001:db8::/32"]


@functools.cache
def _captures() -> dict[str, list[tuple[bytes, int]]]:
    return {"mixed": ethernet_capture(1, 300), "more": ethernet_capture(2, 300),
            "snapped": ethernet_capture(3, 200)}


def _agree(expr: str, linktype: int, packets: list[tuple[bytes, int]]) -> int:
    prog = libpcap.compile_filter(expr, linktype)
    check(prog)
    reference = libpcap.Compiled(prog)
    ebpf = EbpfRunner(prog)
    accepted = 0
    for i, (data, wire) in enumerate(packets):
        want = reference.run(data, wire)
        classic = run_filter(prog, data, PacketMeta(len=wire))
        converted = ebpf.run(data, wire)
        assert (classic, converted) == (want, want), f"{expr!r}: packet {i} ({data.hex()})"
        accepted += want != 0
    return accepted


def test_enough_expressions() -> None:
    assert len(EXPRESSIONS) >= 50


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_three_way_ethernet(expr: str) -> None:
    total = 0
    for packets in _captures().values():
        total += _agree(expr, libpcap.DLT_EN10MB, packets)
    assert total >= 0


@pytest.mark.parametrize("expr", RAW_EXPRESSIONS)
def test_three_way_raw_ip(expr: str) -> None:
    _agree(expr, libpcap.LINKTYPE_RAW, raw_ip_capture(4, 200))


def test_expressions_select_something() -> None:
    """The captures are rich enough that most filters accept some packets and reject others."""
    packets = _captures()["mixed"] + _captures()["more"]
    mixed = 0
    for expr in EXPRESSIONS:
        prog = libpcap.Compiled(libpcap.compile_filter(expr, 1))
        hits = sum(1 for d, w in packets if prog.run(d, w))
        mixed += 0 < hits < len(packets)
    assert mixed >= len(EXPRESSIONS) * 3 // 4
