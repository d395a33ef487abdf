"""A user-given socket table for bpf_sk_lookup_tcp/udp.

The kernel looks sockets up in the network namespace; pybpf has none, so the
user lists the sockets that exist.  A lookup matches the tuple the program
passes (``struct bpf_sock_tuple``: saddr, daddr, sport, dport in network
order) against each socket's local (= daddr/dport) and remote
(= saddr/sport) ends, like ``__inet_lookup``: an established socket (remote
end set) first, then a listener (remote end all zero).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

__all__ = ["IPPROTO_TCP", "IPPROTO_UDP", "Socket", "SocketTable"]

IPPROTO_TCP = 6
IPPROTO_UDP = 17


def _ip(value: str | bytes | None, v6: bool) -> bytes:
    size = 16 if v6 else 4
    if value is None:
        return bytes(size)
    if isinstance(value, bytes):
        return value.rjust(size, b"\0")
    return ipaddress.ip_address(value).packed


@dataclass(frozen=True)
class Socket:
    """One socket: ``local`` is the address/port it is bound to, ``remote`` its peer (0: listening)."""

    protocol: int
    local_ip: str | bytes
    local_port: int
    remote_ip: str | bytes | None = None
    remote_port: int = 0
    family: int = 0  # 0: from the address (AF_INET 2 / AF_INET6 10)
    cookie: int = 0
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def v6(self) -> bool:
        if self.family:
            return self.family == 10
        ip = self.local_ip
        return len(ip) == 16 if isinstance(ip, bytes) else ipaddress.ip_address(ip).version == 6

    def matches(self, protocol: int, v6: bool, saddr: bytes, daddr: bytes, sport: int, dport: int,
                listening: bool) -> bool:
        if protocol != self.protocol or v6 != self.v6:
            return False
        if _ip(self.local_ip, v6) != daddr or self.local_port != dport:
            return False
        if listening:
            return self.remote_port == 0 and _ip(self.remote_ip, v6) == bytes(len(daddr))
        return _ip(self.remote_ip, v6) == saddr and self.remote_port == sport


class SocketTable:
    """The sockets a run can find; :meth:`lookup` answers bpf_sk_lookup_*."""

    def __init__(self, sockets: list[Socket] | tuple[Socket, ...] = ()) -> None:
        self.sockets = list(sockets)

    def add(self, sock: Socket) -> Socket:
        self.sockets.append(sock)
        return sock

    def lookup(self, protocol: int, v6: bool, saddr: bytes, daddr: bytes, sport: int,
               dport: int) -> Socket | None:
        for listening in (False, True):
            for sock in self.sockets:
                if sock.matches(protocol, v6, saddr, daddr, sport, dport, listening):
                    return sock
        return None
