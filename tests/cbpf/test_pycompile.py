"""The compiled fast path gives run_filter's results."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cbpf_strategies import valid_program
from hypothesis import given, settings
from hypothesis import strategies as st
from packets import ethernet_capture

from pybpf.cbpf import BPF_MAXINSNS, PacketMeta, SockFilter, libpcap, run_filter
from pybpf.cbpf.pycompile import compile_program

META = PacketMeta(protocol=0x86DD, pkttype=2, ifindex=4, mark=5, queue=1, rxhash=77, cpu=3, vlan_tci=9,
                  vlan_present=1, vlan_tpid=0x8100, hatype=1, random=lambda: 1234, mac_offset=0,
                  net_offset=14)


@settings(max_examples=300, deadline=None)
@given(valid_program(), st.binary(max_size=100), st.integers(0, 3000))
def test_random_programs(prog: list[SockFilter], data: bytes, wirelen: int) -> None:
    fn = compile_program(prog, META)
    assert fn(data, wirelen) == run_filter(prog, data, replace(META, len=wirelen))


@pytest.mark.skipif(not libpcap.available(), reason="needs libpcap")
@pytest.mark.parametrize("expr", ["tcp port 80 and len > 100", "vlan and ip6", "ip[2:2] % ip[1] = 1",
                                  "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn", "not arp", "ip[9] - 6 = 0"])
def test_libpcap_programs(expr: str) -> None:
    prog = libpcap.compile_filter(expr)
    fn = compile_program(prog)
    ref = libpcap.Compiled(prog)
    for data, wire in ethernet_capture(21, 300):
        assert fn(data, wire) == ref.run(data, wire)


def test_long_programs() -> None:
    # A chain of tests filling BPF_MAXINSNS: the true branch runs on, the false one returns.
    prog = [SockFilter(0x00, 0, 0, 7)]
    for _ in range((BPF_MAXINSNS - 2) // 2):
        prog += [SockFilter(0x15, 1, 0, 7), SockFilter(0x06, 0, 0, 0)]
    prog.append(SockFilter(0x06, 0, 0, 1))
    assert len(prog) <= BPF_MAXINSNS
    assert compile_program(prog)(b"", 0) == run_filter(prog, b"") == 1
    # and a ladder where every test nests its long branch
    prog = [SockFilter(0x00, 0, 0, 7)]
    prog += [SockFilter(0x15, 1, 0, 7 + (i % 2)) for i in range(1, 1500)] + [SockFilter(0x16)] * 2
    assert compile_program(prog)(b"", 0) == run_filter(prog, b"")


@pytest.mark.skipif(not libpcap.available(), reason="needs libpcap")
@pytest.mark.parametrize("expr", ["tcp port 80 or (vlan and udp)", "ip[2:2] / ip[9] > 10 and len < 300",
                                  "ether[0] & 1 = 0 and not ip6"])
def test_scanner_matches_the_function(expr: str) -> None:
    from packets import pcap_bytes

    from pybpf.cbpf.pycompile import compile_scanner

    packets = ethernet_capture(22, 300)
    buf = pcap_bytes(packets)
    prog = libpcap.compile_filter(expr)
    accepted, stop, seen = compile_scanner(prog)(buf, 24, len(buf))
    assert stop == len(buf) and seen == len(packets)
    ref = libpcap.Compiled(prog)
    assert [r[16:] for r in accepted] == [d for d, w in packets if ref.run(d, w)]
    # a record cut short stops the scan at its start
    _, stop, _ = compile_scanner(prog)(buf[:-3], 24, len(buf) - 3)
    assert stop < len(buf) - 3
