"""bpf_sk_lookup_tcp/udp and bpf_sk_release, against the user's socket table.

A found socket is returned as a pointer to a ``struct bpf_sock`` region
filled from the table entry (read-only, as the verifier makes it); release
unmaps it.  An unreleased socket is the program's bug (the verifier refuses
"Unreleased reference"); the run unmaps it at the end.
"""

from __future__ import annotations

from ...isa.helper_ids import HelperId as H
from ...platform.contexts import BPF_SOCK
from ..helpers import HelperContext
from ..sockets import IPPROTO_TCP, IPPROTO_UDP, Socket
from .env import Env

__all__ = ["HELPERS", "sock_struct"]

TUPLE4, TUPLE6 = 12, 36
SOCK_STREAM, SOCK_DGRAM = 1, 2
TCP_ESTABLISHED, TCP_LISTEN = 1, 10


def sock_struct(sock: Socket) -> bytes:
    """The ``struct bpf_sock`` a program reads for ``sock``."""
    from ..sockets import _ip

    buf = bytearray(BPF_SOCK.size)
    v6 = sock.v6

    def put(name: str, value: int | bytes, size: int = 4) -> None:
        off = BPF_SOCK.offsetof(name)
        buf[off:off + size] = value if isinstance(value, bytes) else value.to_bytes(size, "little")

    put("family", 10 if v6 else 2)
    put("type", SOCK_STREAM if sock.protocol == IPPROTO_TCP else SOCK_DGRAM)
    put("protocol", sock.protocol)
    local, remote = _ip(sock.local_ip, v6), _ip(sock.remote_ip, v6)
    if v6:
        put("src_ip6", local, 16)
        put("dst_ip6", remote, 16)
    else:
        put("src_ip4", local)
        put("dst_ip4", remote)
    put("src_port", sock.local_port)  # host order, as the kernel's skc_num
    put("dst_port", sock.remote_port.to_bytes(2, "big"), 2)  # network order
    listening = sock.remote_port == 0
    state = TCP_LISTEN if listening and sock.protocol == IPPROTO_TCP else TCP_ESTABLISHED
    put("state", state if sock.protocol == IPPROTO_TCP else 7)  # TCP_CLOSE for unconnected UDP
    put("rx_queue_mapping", 0xFFFF_FFFF)
    return bytes(buf)


def _lookup(env: Env, proto: int, tuple_addr: int, size: int, flags: int) -> int:
    if flags or size not in (TUPLE4, TUPLE6):
        return 0
    raw = env.memory.read(tuple_addr, size)
    n = 4 if size == TUPLE4 else 16
    saddr, daddr = raw[:n], raw[n:2 * n]
    sport = int.from_bytes(raw[2 * n:2 * n + 2], "big")
    dport = int.from_bytes(raw[2 * n + 2:2 * n + 4], "big")
    sock = env.sockets.lookup(proto, size == TUPLE6, saddr, daddr, sport, dport)
    if sock is None:
        return 0
    region = env.memory.add("bpf_sock", sock_struct(sock), writable=False, kind="socket")
    env.run.sockets[region.base] = region
    return region.base


def sk_lookup_tcp(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _lookup(env, IPPROTO_TCP, r2, r3 & 0xFFFF_FFFF, r5)


def sk_lookup_udp(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _lookup(env, IPPROTO_UDP, r2, r3 & 0xFFFF_FFFF, r5)


def sk_release(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    region = env.run.sockets.pop(r1, None)
    if region is None:
        raise ValueError(f"{r1:#x} is not a socket from sk_lookup")
    env.memory.remove(region)
    return 0


HELPERS = {H.sk_lookup_tcp: sk_lookup_tcp, H.sk_lookup_udp: sk_lookup_udp, H.sk_release: sk_release}
