"""Deterministic packet mixes for the classic BPF differential tests.

Every capture comes from a seeded ``random.Random``: Ethernet with IPv4
(options, fragments), IPv6, 802.1Q and QinQ tags, ARP, LLDP, truncated
snapshots, runts and garbage, over small pools of hosts and ports so that
filters match some packets and miss others.
"""

from __future__ import annotations

import io
import random
import struct

from pybpf.pcap import PcapWriter

V4 = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "192.168.1.2", "192.168.7.9", "8.8.8.8", "255.255.255.255",
      "224.0.0.251"]
V6 = ["fe80::1", "fe80::2", "2001:db8::1", "2001:db8:1::5", "ff02::1", "::1"]
PORTS = [22, 53, 80, 443, 8080, 1500, 1999, 5353, 65535, 0]
MACS = ["00:11:22:33:44:55", "66:77:88:99:aa:bb", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb"]
VLANS = [1, 100, 200, 4095]


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _v4(text: str) -> bytes:
    return bytes(int(p) for p in text.split("."))


def _v6(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(text).packed


def _l4(rng: random.Random, proto: int) -> bytes:
    if proto == 6:
        flags = rng.choice([0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x01, 0x29, rng.randrange(256)])
        doff = rng.choice([5, 5, 8])
        hdr = struct.pack(">HHIIBBHHH", rng.choice(PORTS), rng.choice(PORTS), rng.getrandbits(32),
                          rng.getrandbits(32), doff << 4, flags, 512, 0, 0)
        return hdr + bytes(4 * (doff - 5)) + rng.randbytes(rng.choice([0, 10, 100, 600]))
    if proto == 17:
        payload = rng.randbytes(rng.choice([0, 8, 64, 300]))
        return struct.pack(">HHHH", rng.choice(PORTS), rng.choice(PORTS), 8 + len(payload), 0) + payload
    if proto in (1, 58):
        kind = rng.choice([0, 8, 3, 11, 128, 129, 135])
        return bytes((kind, rng.randrange(4))) + bytes(2) + rng.randbytes(20)
    return rng.randbytes(rng.choice([4, 40]))


def ipv4(rng: random.Random) -> bytes:
    proto = rng.choice([6, 6, 17, 17, 1, 47, 89])
    ihl = rng.choice([5, 5, 5, 6, 15])
    body = _l4(rng, proto)
    frag = rng.choice([0, 0, 0, 0x2000, 0x0004, 0x2010])
    total = 4 * ihl + len(body)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, rng.choice([0, 0x10, 0xB8]), total & 0xFFFF,
                      rng.getrandbits(16), frag, rng.choice([1, 64, 128, 255]), proto, 0,
                      _v4(rng.choice(V4)), _v4(rng.choice(V4)))
    return hdr + bytes(4 * (ihl - 5)) + body


def ipv6(rng: random.Random) -> bytes:
    nxt = rng.choice([6, 17, 58, 0, 44])
    body = _l4(rng, nxt if nxt in (6, 17, 58) else 99)
    hdr = struct.pack(">IHBB16s16s", 0x6000_0000 | rng.getrandbits(20), len(body), nxt,
                      rng.choice([1, 64, 255]), _v6(rng.choice(V6)), _v6(rng.choice(V6)))
    return hdr + body


def ethernet(rng: random.Random) -> bytes:
    kind = rng.choice(["v4", "v4", "v4", "v6", "v6", "arp", "vlan", "vlan", "qinq", "lldp"])
    head = _mac(rng.choice(MACS)) + _mac(rng.choice(MACS))
    if kind == "v4":
        return head + b"\x08\x00" + ipv4(rng)
    if kind == "v6":
        return head + b"\x86\xdd" + ipv6(rng)
    if kind == "arp":
        arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, rng.choice([1, 2]))
        return head + b"\x08\x06" + arp + rng.randbytes(20)
    if kind == "lldp":
        return head + b"\x88\xcc" + rng.randbytes(30)
    inner, ethertype = (ipv4(rng), b"\x08\x00") if rng.random() < 0.6 else (ipv6(rng), b"\x86\xdd")
    tag = struct.pack(">HH", 0x8100, rng.choice([0, 0x2000]) | rng.choice(VLANS))
    if kind == "qinq":
        tag = struct.pack(">HH", 0x88A8, rng.choice(VLANS)) + tag
    return head + tag + ethertype + inner


def ethernet_capture(seed: int, count: int) -> list[tuple[bytes, int]]:
    """(captured bytes, wire length) pairs; some snapped short, some runts or garbage."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.04:
            data = rng.randbytes(rng.randrange(0, 14))
            out.append((data, len(data)))
            continue
        if roll < 0.08:
            data = rng.randbytes(rng.randrange(14, 120))
            out.append((data, len(data)))
            continue
        data = ethernet(rng)
        if roll < 0.2:  # a short snapshot: the filter sees less than the wire had
            cut = rng.randrange(14, max(15, len(data)))
            out.append((data[:cut], len(data)))
        else:
            out.append((data, len(data)))
    return out


def raw_ip_capture(seed: int, count: int) -> list[tuple[bytes, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = ipv4(rng) if rng.random() < 0.6 else ipv6(rng)
        if rng.random() < 0.1:
            data = data[: rng.randrange(1, len(data))]
        out.append((data, len(data)))
    return out


def pcap_bytes(packets: list[tuple[bytes, int]], linktype: int = 1) -> bytes:
    buf = io.BytesIO()
    with PcapWriter(buf, linktype=linktype) as w:
        for i, (data, wire) in enumerate(packets):
            w.write(data, timestamp_ns=1_700_000_000_000_000_000 + i * 1000, orig_len=wire)
    return buf.getvalue()
