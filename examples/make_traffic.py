"""Write examples/traffic.pcap: a small, deterministic mix of traffic for the examples.

Ethernet frames with IPv4 and IPv6 TCP/UDP/ICMP, 802.1Q-tagged IPv4, ARP,
an IPv4 header with options, and a scanning host (192.0.2.66, then
198.51.100.9) that probes telnet.  Every checksum is correct, so a program
that rewrites headers can be checked by recomputing them.  Timestamps start
at 2024-01-01 00:00:00 UTC and step 1 ms; the output is byte-for-byte the
same on every run.

Usage: python examples/make_traffic.py [OUT.pcap]   (default: next to this script)
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from pathlib import Path

from pybpf.pcap import PcapWriter

START_NS = 1_704_067_200 * 1_000_000_000
STEP_NS = 1_000_000

MAC_CLIENT = bytes.fromhex("020000000002")
MAC_SERVER = bytes.fromhex("020000000001")
MAC_ROUTER = bytes.fromhex("0200000000fe")
BROADCAST = b"\xff" * 6

ETH_IP, ETH_IP6, ETH_ARP, ETH_VLAN = 0x0800, 0x86DD, 0x0806, 0x8100
TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
SYN, ACK, PSH = 0x02, 0x10, 0x08


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip4(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def ip6(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


def eth(payload: bytes, ethertype: int, *, src: bytes = MAC_CLIENT, dst: bytes = MAC_SERVER,
        vlan: int | None = None) -> bytes:
    if vlan is not None:
        return dst + src + struct.pack("!HHH", ETH_VLAN, vlan, ethertype) + payload
    return dst + src + struct.pack("!H", ethertype) + payload


def tcp(sport: int, dport: int, flags: int, payload: bytes = b"", seq: int = 1000) -> bytes:
    # Checksum left 0 here; ipv4()/ipv6() fill it with the pseudo-header.
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(kind: int, ident: int, seq: int, payload: bytes = b"pybpf-ping") -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload


def _l4_checksum(proto: int, pseudo: bytes, segment: bytes) -> bytes:
    offset = {TCP: 16, UDP: 6, ICMP: 2, ICMP6: 2}[proto]
    whole = segment if proto == ICMP else pseudo + segment
    csum = checksum(whole)
    if proto == UDP and csum == 0:
        csum = 0xFFFF  # RFC 768: a computed 0 is sent as all ones
    return segment[:offset] + struct.pack("!H", csum) + segment[offset + 2:]


def ipv4(src: str, dst: str, proto: int, segment: bytes, *, tos: int = 0, ttl: int = 64,
         ident: int = 1, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(segment))
    segment = _l4_checksum(proto, pseudo, segment)
    header = struct.pack("!BBHHHBBH4s4s", 4 << 4 | ihl, tos, ihl * 4 + len(segment), ident, 0x4000,
                         ttl, proto, 0, ip4(src), ip4(dst)) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + segment


def ipv6(src: str, dst: str, proto: int, segment: bytes) -> bytes:
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(segment), proto)
    segment = _l4_checksum(proto, pseudo, segment)
    return struct.pack("!IHBB", 6 << 28, len(segment), proto, 64) + ip6(src) + ip6(dst) + segment


def arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return struct.pack("!HHBBH", 1, ETH_IP, 6, 4, op) + sha + ip4(spa) + tha + ip4(tpa)


CLIENT, SERVER, DNS = "10.0.0.2", "10.0.0.1", "10.0.0.53"
SCANNER, SCANNER2, BRANCH = "192.0.2.66", "198.51.100.9", "10.0.1.5"
CLIENT6, SERVER6 = "2001:db8::2", "2001:db8::1"
HTTP_GET = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def build_frames() -> list[bytes]:
    """The frames of traffic.pcap, in capture order."""
    s2c = {"src": MAC_SERVER, "dst": MAC_CLIENT}
    wan = {"src": MAC_ROUTER, "dst": MAC_SERVER}
    return [
        eth(arp(1, MAC_CLIENT, CLIENT, bytes(6), SERVER), ETH_ARP, dst=BROADCAST),
        eth(arp(2, MAC_SERVER, SERVER, MAC_CLIENT, CLIENT), ETH_ARP, **s2c),
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40000, 80, SYN)), ETH_IP),
        eth(ipv4(SERVER, CLIENT, TCP, tcp(80, 40000, SYN | ACK)), ETH_IP, **s2c),
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40000, 80, PSH | ACK, HTTP_GET)), ETH_IP),
        eth(ipv4(SERVER, CLIENT, TCP, tcp(80, 40000, PSH | ACK, HTTP_OK)), ETH_IP, **s2c),
        eth(ipv4(CLIENT, DNS, UDP, udp(33000, 53, b"\x12\x34\x01\x00\x00\x01" + bytes(6))), ETH_IP),
        eth(ipv4(CLIENT, "224.0.0.251", UDP, udp(5353, 5353, bytes(12)), ttl=255), ETH_IP),
        eth(ipv4(CLIENT, SERVER, ICMP, icmp_echo(8, 7, 1)), ETH_IP),
        eth(ipv4(SERVER, CLIENT, ICMP, icmp_echo(0, 7, 1)), ETH_IP, **s2c),
        # The scanner probes telnet: the firewall blocks it from here on.
        eth(ipv4(SCANNER, SERVER, TCP, tcp(50000, 23, SYN)), ETH_IP, **wan),
        eth(ipv4(SCANNER, SERVER, TCP, tcp(50001, 80, SYN)), ETH_IP, **wan),
        eth(ipv4(SCANNER, SERVER, UDP, udp(50002, 53, bytes(12))), ETH_IP, **wan),
        eth(ipv6(CLIENT6, SERVER6, TCP, tcp(40001, 80, SYN)), ETH_IP6),
        eth(ipv6(CLIENT6, SERVER6, UDP, udp(33001, 53, bytes(12))), ETH_IP6),
        eth(ipv6(CLIENT6, SERVER6, ICMP6, icmp_echo(128, 8, 1)), ETH_IP6),
        eth(ipv4(BRANCH, SERVER, TCP, tcp(41000, 443, SYN)), ETH_IP, vlan=100),
        eth(ipv4(BRANCH, SERVER, UDP, udp(123, 123, bytes(48))), ETH_IP, vlan=100),
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40002, 8080, SYN)), ETH_IP),
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40002, 8080, PSH | ACK, HTTP_GET)), ETH_IP),
        # An IPv4 header with options (router alert): ihl 6.
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40003, 80, SYN), options=b"\x94\x04\x00\x00"), ETH_IP),
        eth(ipv4(SCANNER2, SERVER, TCP, tcp(51000, 22, SYN)), ETH_IP, **wan),
        eth(ipv4(CLIENT, SERVER, UDP, udp(5004, 5004, bytes(20)), tos=0x01), ETH_IP),
        eth(ipv4(CLIENT, SERVER, UDP, udp(5004, 5004, bytes(20)), tos=46 << 2), ETH_IP),
        eth(ipv4(SCANNER2, SERVER, TCP, tcp(51001, 23, SYN)), ETH_IP, **wan),
        eth(ipv4(SCANNER2, SERVER, TCP, tcp(51002, 22, SYN)), ETH_IP, **wan),
        eth(ipv4(SCANNER, SERVER, ICMP, icmp_echo(8, 9, 1)), ETH_IP, **wan),
        eth(ipv6(CLIENT6, SERVER6, TCP, tcp(40004, 8080, SYN)), ETH_IP6),
        eth(ipv4(SERVER, CLIENT, TCP, tcp(80, 40003, SYN | ACK)), ETH_IP, **s2c),
        eth(ipv4(CLIENT, SERVER, TCP, tcp(40005, 443, SYN)), ETH_IP),
        eth(arp(1, MAC_ROUTER, "10.0.0.254", bytes(6), SERVER), ETH_ARP, src=MAC_ROUTER, dst=BROADCAST),
        eth(ipv4(BRANCH, SERVER, TCP, tcp(41001, 8080, SYN)), ETH_IP, vlan=100),
    ]


def write(path: str | Path) -> int:
    with PcapWriter(path) as w:
        for i, frame in enumerate(build_frames()):
            w.write(frame, timestamp_ns=START_NS + i * STEP_NS)
        return w.count


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("traffic.pcap")
    print(f"wrote {write(out)} packets to {out}")
