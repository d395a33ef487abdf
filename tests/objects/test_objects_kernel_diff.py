"""Differential tests: compiled C programs run by pybpf and by the kernel's BPF_PROG_TEST_RUN.

Each program gets the same packets in the same order on both sides; the
retval, the output packet (and ctx_out for skb programs) and, at the end, the
maps' contents must agree.  Per-CPU values are compared as sums over CPUs
(the kernel runs the program on whichever CPU it is on).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from kdiff_objects import PERCPU, KernelObject
from pktbuild import MAC_A, eth, ipv4, ipv6, tcp, udp

from pybpf.elf import load_spec
from pybpf.errors import KernelError, PyBpfError
from pybpf.objects import load_object

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("need_kernel")]

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"


def _ip_packets() -> list[bytes]:
    body = b"hello world!"
    return [
        eth(ipv4(udp(1234, 53, body), 17)),
        eth(ipv4(udp(1, 2, b"x" * 100, zero_csum=True), 17, ttl=1)),
        eth(ipv4(tcp(4000, 9), 6)),
        eth(ipv4(tcp(4000, 80, b"GET /"), 6, src="192.168.1.7")),
        eth(ipv4(b"\x08\x00\xf7\xff\x00\x00\x00\x00", 1)),  # ICMP echo
        eth(ipv6(udp(5, 6, b"v6"), 17), 0x86DD),
        eth(b"\x00\x01\x08\x00\x06\x04\x00\x01" + MAC_A + bytes(18), 0x0806),  # ARP
        eth(ipv4(b"", 17)[:10], 0x0800),  # truncated IPv4 header
        b"\xff" * 14,  # broadcast, 802.3 length field
        b"\x01" * 13,  # too short for a test run
    ]


def _adjust_packets() -> list[bytes]:
    return [eth(bytes([op]) + bytes(range(40))) for op in range(6)] + [eth(b"\x02" + bytes(3))]


def _sum_percpu(value: Any) -> int:
    return sum(int.from_bytes(v, "little") for v in value)


def _compare(name: str, packets: list[bytes], *, skb: bool) -> None:
    spec = load_spec(DATA / f"{name}.o")
    obj = load_object(spec)
    with KernelObject(spec) as kobj:
        prog_name = next(iter(spec.programs))
        kprog = kobj.programs[prog_name]
        prog = obj.programs[prog_name]
        for i, pkt in enumerate(packets):
            try:
                want = kprog.test_run(pkt, data_out_size=4096, ctx_out_size=192 if skb else 0)
            except KernelError as exc:
                with pytest.raises(PyBpfError) as got_exc:
                    prog.test_run(pkt, ctx={} if skb else None)
                assert getattr(got_exc.value, "errno", None) == exc.errno, (i, pkt.hex())
                continue
            got = prog.test_run(pkt, ctx={} if skb else None)
            assert got.retval == want.retval, (i, pkt.hex())
            assert got.data_out == want.data_out, (i, pkt.hex(), got.data_out.hex(), want.data_out.hex())
            if skb:
                assert got.ctx_out == want.ctx_out, (i, got.ctx_out, want.ctx_out)
            # repeat runs on the same packet: changes accumulate on both sides
            want = kprog.test_run(pkt, repeat=3, data_out_size=4096)
            got = prog.test_run(pkt, repeat=3)
            assert (got.retval, got.data_out) == (want.retval, want.data_out), (i, "repeat")
            if not skb:  # XDP metadata given through ctx_in: data_meta .. data_end comes back
                meta = bytes(range(8))
                md = struct.pack("<6I", 8, 8 + len(pkt), 0, 0, 0, 0)
                want = kprog.test_run(meta + pkt, ctx=md, data_out_size=4096, ctx_out_size=24)
                got = prog.test_run(meta + pkt, ctx=md)
                ours = (got.retval, got.data_out, got.ctx_out)
                assert ours == (want.retval, want.data_out, want.ctx_out), (i, "meta")
        for mname, mspec in spec.maps.items():
            if mspec.type.name == "RINGBUF":
                assert obj.maps[mname].consume() == kobj.ringbuf_samples(mname), mname
                continue
            kernel = kobj.contents(mname)
            ours = {k: obj.maps[mname].lookup(k) for k in obj.maps[mname].keys_raw()}
            assert set(ours) == set(kernel), mname
            for k, v in kernel.items():
                if mspec.type in PERCPU:
                    assert _sum_percpu(obj.maps[mname].decode_value(ours[k])) == _sum_percpu(v), (mname, k)
                else:
                    assert ours[k] == v, (mname, k)


def test_xdp_rewrite_matches_kernel() -> None:
    _compare("xdp_rewrite", _ip_packets(), skb=False)


def test_xdp_adjust_matches_kernel() -> None:
    _compare("xdp_adjust", _adjust_packets(), skb=False)


def test_tc_nat_matches_kernel() -> None:
    _compare("tc_nat", _ip_packets(), skb=True)


def test_socket_filter_matches_kernel() -> None:
    _compare("sock_filter", _ip_packets(), skb=True)


def test_tc_misc_helpers_match_kernel() -> None:
    packets = _ip_packets()
    _compare("tc_misc", [packets[0], packets[6]], skb=True)


@pytest.mark.parametrize("field", ["family", "state", "src_ip4", "dst_ip4", "src_port", "dst_port",
                                   "rx_queue_mapping", "bound_dev_if"])
def test_skb_sk_fields_match_kernel(field: str) -> None:
    from pybpf.asm import assemble
    from pybpf.elf import ObjectSpec, ProgramSpec
    from pybpf.kernel import load_program
    from pybpf.platform import ProgType
    from pybpf.platform.contexts import BPF_SOCK, SK_BUFF

    prog = assemble(f"r2 = *(u64 *)(r1 + {SK_BUFF.offsetof('sk')})\nr0 = 99\nif r2 == 0 goto +1\n"
                    f"r0 = *(u32 *)(r2 + {BPF_SOCK.offsetof(field)})\nexit")
    spec = ObjectSpec(programs={"p": ProgramSpec("p", "tc", ProgType.SCHED_CLS, prog)}, maps={})
    obj = load_object(spec)
    for pkt in _ip_packets()[:7]:
        with load_program(prog, int(ProgType.SCHED_CLS)) as kprog:
            assert obj.programs["p"].test_run(pkt).retval == kprog.test_run(pkt).retval, (field, pkt.hex())
