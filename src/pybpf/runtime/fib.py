"""A user-given forwarding table for bpf_fib_lookup.

The kernel consults its FIB and neighbour table; pybpf asks this table.  A
route maps a destination prefix to an egress ifindex plus the MAC addresses
the helper writes into ``struct bpf_fib_lookup`` (longest prefix wins).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["FibRoute", "FibTable"]


@dataclass(frozen=True)
class FibRoute:
    prefix: str  # "10.0.0.0/8", "2001:db8::/32"
    ifindex: int
    smac: bytes = bytes(6)
    dmac: bytes = bytes(6)
    gateway: str | None = None  # next hop; None: directly connected
    mtu: int = 1500

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.prefix, strict=False)


class FibTable:
    def __init__(self, routes: list[FibRoute] | tuple[FibRoute, ...] = ()) -> None:
        self.routes = list(routes)

    def add(self, route: FibRoute) -> FibRoute:
        self.routes.append(route)
        return route

    def lookup(self, dst: bytes) -> FibRoute | None:
        """The longest-prefix route for the 4- or 16-byte address ``dst``."""
        addr = ipaddress.ip_address(dst)
        best: FibRoute | None = None
        for route in self.routes:
            net = route.network
            if net.version == addr.version and addr in net and (
                    best is None or net.prefixlen > best.network.prefixlen):
                best = route
        return best
