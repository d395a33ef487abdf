"""skb and XDP helpers: bytes, checksums, head/tail, VLAN, redirects, FIB and socket lookups."""

from __future__ import annotations

import struct

from pktbuild import csum16, eth, ipv4, udp
from rtbuild import build

from pybpf.maps import MapSpec, MapType
from pybpf.platform import ProgType
from pybpf.runtime.fib import FibRoute, FibTable
from pybpf.runtime.linux_helpers import csum
from pybpf.runtime.sockets import Socket, SocketTable

TC = ProgType.SCHED_CLS


def test_csum_replace_matches_a_recomputed_checksum() -> None:
    hdr = bytearray(ipv4(b"", 17))
    check = int.from_bytes(hdr[10:12], "little")
    old = int.from_bytes(hdr[16:20], "little")
    new = int.from_bytes(bytes([192, 168, 0, 9]), "little")
    hdr[16:20] = new.to_bytes(4, "little")
    hdr[10:12] = csum.csum_replace4(check, old, new).to_bytes(2, "little")
    assert csum16(bytes(hdr)) == 0
    # csum_diff of a 4-byte change, then a replace by that diff, gives the same result
    flipped = bytes(~b & 0xFF for b in old.to_bytes(4, "little"))
    diff = csum.csum_partial(flipped + new.to_bytes(4, "little"), 0)
    assert csum.csum_replace_by_diff(check, diff) == int.from_bytes(hdr[10:12], "little")


def test_skb_load_and_store_bytes() -> None:
    obj = build("""
    r6 = r1
    r2 = 14
    r3 = r10
    r3 += -4
    r4 = 4
    call 26
    r1 = *(u32 *)(r10 - 4)
    r1 += 1
    *(u32 *)(r10 - 4) = r1
    r1 = r6
    r2 = 0
    r3 = r10
    r3 += -4
    r4 = 4
    r5 = 0
    call 9
    r1 = r6
    r2 = 10000
    r3 = r10
    r3 += -4
    r4 = 4
    call 26
    exit
    """, TC)
    pkt = eth(ipv4(udp(1, 2, b"data"), 17))
    res = obj.programs["prog"].test_run(pkt)
    assert res.retval == (-14) & 0xFFFF_FFFF  # out of range load: -EFAULT
    first = (int.from_bytes(pkt[14:18], "little") + 1) & 0xFFFF_FFFF
    assert res.data_out[:4] == first.to_bytes(4, "little") and res.data_out[4:] == pkt[4:]


def test_skb_change_tail_and_head() -> None:
    obj = build("""
    r6 = r1
    r2 = 100
    r3 = 0
    call 38
    r1 = r6
    r2 = 4
    r3 = 0
    call 43
    r0 = *(u32 *)(r6 + 0)
    exit
    """, TC)
    pkt = eth(ipv4(udp(1, 2, b"x" * 20), 17))
    res = obj.programs["prog"].test_run(pkt)
    assert res.retval == 104  # skb->len after both
    assert res.data_out == bytes(4) + pkt + bytes(100 - len(pkt))


def test_vlan_push_pop_use_the_skb_metadata() -> None:
    obj = build("""
    r6 = r1
    r2 = 0x0081
    r3 = 42
    call 18
    r7 = *(u32 *)(r6 + 24)
    r8 = *(u32 *)(r6 + 20)
    r1 = r6
    call 19
    r0 = *(u32 *)(r6 + 20)
    r0 <<= 8
    r0 |= r8
    r7 <<= 16
    r0 |= r7
    exit
    """, TC)
    res = obj.programs["prog"].test_run(eth(ipv4(b"", 17)))
    assert res.retval == (42 << 16) | (0 << 8) | 1


def test_redirects_are_recorded() -> None:
    dev = MapSpec("dev", MapType.DEVMAP, 4, 4, 4)
    obj = build("""
    r1 = 0xAA000000 ll
    r2 = 1
    r3 = 2
    call 51
    r6 = r0
    r1 = 0xAA000000 ll
    r2 = 0
    r3 = 0
    call 51
    exit
    """, maps={"dev": dev})
    obj.maps["dev"][0] = (1).to_bytes(4, "little")
    res = obj.programs["prog"].test_run(bytes(64))
    assert res.verdict == "XDP_REDIRECT"
    assert [(r.helper, r.ifindex, r.map, r.key) for r in res.redirects] == [("redirect_map", 1, "dev", 0)]
    tc = build("r1 = 1\nr2 = 0\ncall 23\nexit", TC)
    res = tc.programs["prog"].test_run(eth(ipv4(b"", 17)))
    assert res.verdict == "TC_ACT_REDIRECT" and res.redirects[0].ifindex == 1


def test_fib_lookup_from_the_users_table() -> None:
    fib = FibTable([FibRoute("10.0.0.0/8", ifindex=3, smac=b"\x02" * 6, dmac=b"\x04" * 6)])
    asm = """
    r6 = r1
    r1 = 0
    *(u64 *)(r10 - 64) = r1
    *(u64 *)(r10 - 56) = r1
    *(u64 *)(r10 - 48) = r1
    *(u64 *)(r10 - 40) = r1
    *(u64 *)(r10 - 32) = r1
    *(u64 *)(r10 - 24) = r1
    *(u64 *)(r10 - 16) = r1
    *(u64 *)(r10 - 8) = r1
    r1 = 2
    *(u8 *)(r10 - 64) = r1
    r1 = {dst:#x}
    *(u32 *)(r10 - 32) = r1
    r1 = r6
    r2 = r10
    r2 += -64
    r3 = 64
    r4 = 0
    call 69
    r1 = *(u32 *)(r10 - 56)
    r1 <<= 8
    r0 |= r1
    exit
    """
    hit = build(asm.format(dst=struct.unpack("<I", bytes([10, 1, 2, 3]))[0]), fib=fib)
    assert hit.programs["prog"].test_run(bytes(64)).retval == 3 << 8  # SUCCESS, ifindex 3
    miss = build(asm.format(dst=struct.unpack("<I", bytes([192, 1, 2, 3]))[0]), fib=fib)
    assert miss.programs["prog"].test_run(bytes(64)).retval == 4  # NOT_FWDED


def test_sk_lookup_finds_the_users_socket() -> None:
    table = SocketTable([Socket(6, "10.0.0.2", 80)])
    asm = """
    r6 = r1
    r1 = {saddr:#x}
    *(u32 *)(r10 - 12) = r1
    r1 = {daddr:#x}
    *(u32 *)(r10 - 8) = r1
    r1 = {ports:#x}
    *(u32 *)(r10 - 4) = r1
    r1 = r6
    r2 = r10
    r2 += -12
    r3 = 12
    r4 = -1
    r5 = 0
    call 84
    if r0 == 0 goto none
    r7 = *(u32 *)(r0 + 44)
    r1 = r0
    call 86
    r0 = r7
    exit
    none:
    r0 = 99
    exit
    """
    ip = lambda s: int.from_bytes(bytes(int(x) for x in s.split(".")), "little")  # noqa: E731
    ports = int.from_bytes(struct.pack("!HH", 5555, 80), "little")
    obj = build(asm.format(saddr=ip("10.0.0.1"), daddr=ip("10.0.0.2"), ports=ports), TC, sockets=table)
    assert obj.programs["prog"].test_run(eth(ipv4(b"", 6))).retval == 80  # bpf_sock.src_port
    other = build(asm.format(saddr=ip("10.0.0.1"), daddr=ip("10.0.0.3"), ports=ports), TC, sockets=table)
    assert other.programs["prog"].test_run(eth(ipv4(b"", 6))).retval == 99
