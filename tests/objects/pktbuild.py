"""Small packet builders for the object tests (checksums computed, fields chosen by the caller)."""

from __future__ import annotations

import struct

__all__ = ["MAC_A", "MAC_B", "csum16", "eth", "ipv4", "ipv6", "tcp", "udp"]

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def csum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload: bytes, ethertype: int = 0x0800, dst: bytes = MAC_B, src: bytes = MAC_A) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(payload: bytes, proto: int, src: str = "10.0.0.1", dst: str = "10.0.0.2", ttl: int = 64) -> bytes:
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum16(hdr)) + hdr[12:]
    return hdr + payload


def _pseudo(ip_src: str, ip_dst: str, proto: int, length: int) -> bytes:
    s = bytes(int(x) for x in ip_src.split("."))
    d = bytes(int(x) for x in ip_dst.split("."))
    return s + d + struct.pack("!BBH", 0, proto, length)


def udp(sport: int, dport: int, body: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2",
        zero_csum: bool = False) -> bytes:
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(body), 0)
    if zero_csum:
        return hdr + body
    c = csum16(_pseudo(src, dst, 17, 8 + len(body)) + hdr + body) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + body


def tcp(sport: int, dport: int, body: bytes = b"", src: str = "10.0.0.1", dst: str = "10.0.0.2") -> bytes:
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
    c = csum16(_pseudo(src, dst, 6, len(hdr) + len(body)) + hdr + body)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + body


def ipv6(payload: bytes, nh: int) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, 64) + bytes(15) + b"\1" + bytes(15) + b"\2" \
        + payload
