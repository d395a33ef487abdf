"""Converted classic programs give the same results on pybpf's JIT."""

from __future__ import annotations

import pytest
from cbpf_strategies import valid_program
from ebpf_run import registry
from hypothesis import given, settings
from hypothesis import strategies as st
from packets import ethernet_capture
from test_differential import EXPRESSIONS

from pybpf.cbpf import PacketMeta, SockFilter, check, convert, libpcap, run_filter, sk_buff_ctx
from pybpf.runtime.memory import Memory

jit = pytest.importorskip("pybpf.jit")
pytestmark = pytest.mark.skipif(not jit.available(), reason="the JIT needs llvmlite")


def _run(prog: list[SockFilter], packets: list[tuple[bytes, int]], meta: PacketMeta) -> list[int]:
    jp = jit.JitProgram(convert(prog), helpers=registry(meta))
    memory = Memory()
    out = []
    for data, wire in packets:
        m = PacketMeta(**{**meta.__dict__, "len": wire})
        ctx = memory.add("ctx", sk_buff_ctx(data, m), kind="ctx")
        try:
            out.append(jp.run(memory, r1=ctx.base, packet=data).r0 & 0xFFFF_FFFF)
        finally:
            memory.remove(ctx)
    return out


@pytest.mark.skipif(not libpcap.available(), reason="needs libpcap")
@pytest.mark.parametrize("expr", EXPRESSIONS[1::6])
def test_tcpdump_programs_on_the_jit(expr: str) -> None:
    prog = libpcap.compile_filter(expr)
    packets = ethernet_capture(31, 120)
    meta = PacketMeta(mac_offset=None)
    assert _run(prog, packets, meta) == [libpcap.bpf_filter(prog, d, w) for d, w in packets]


@settings(max_examples=25, deadline=None)
@given(valid_program(), st.binary(max_size=80), st.integers(0, 2000))
def test_random_programs_on_the_jit(prog: list[SockFilter], data: bytes, wirelen: int) -> None:
    check(prog)
    meta = PacketMeta(protocol=0x0800, pkttype=1, ifindex=3, mark=77, queue=2, rxhash=9, vlan_tci=5,
                      vlan_present=1, vlan_tpid=0x8100, random=lambda: 0x5EED, mac_offset=None,
                      net_offset=None)
    want = run_filter(prog, data, PacketMeta(**{**meta.__dict__, "len": wirelen}))
    assert _run(prog, [(data, wirelen)], meta) == [want]
