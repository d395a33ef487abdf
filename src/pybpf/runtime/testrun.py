"""The BPF_PROG_TEST_RUN model: what a program sees and what the run returns, per type.

Follows net/bpf/test_run.c (6.18):

* skb programs (``bpf_prog_test_run_skb``): the data must hold at least an
  Ethernet header; ``eth_type_trans`` sets ``protocol`` and ``pkt_type`` and
  pulls the L2 header; tc programs (``is_l2``) get it pushed back, so their
  ``data`` starts at the Ethernet header, while a socket filter's starts at
  the network header.  After the run a socket filter's output gets a zeroed
  L2 header in front (the kernel pushes ``hh_len`` zero bytes).  ctx_in may
  set only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len,
  gso_segs, gso_size and hwtstamp (``convert___skb_to_skb``: EINVAL
  otherwise); ctx_out is ctx_in with the fields ``convert_skb_to___skb``
  copies back.
* XDP (``bpf_prog_test_run_xdp``): 256 bytes of headroom, ctx_in's ``data``
  is the metadata length (the first bytes of the data), the output is
  ``data_meta .. data_end`` and ctx_out has ``data``/``data_end`` relative to
  ``data_meta``.
* raw tracepoint, syscall: ctx is the user's bytes (syscall may write it);
  kprobe, tracepoint and perf_event, which the kernel cannot test-run, get
  the user's bytes read-only as their ``pt_regs``/record.
* no program type: uBPF style, r1 = the data (writable), r2 = its length.
"""

from __future__ import annotations

import errno as E
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import PyBpfError
from ..platform import ProgType
from ..platform.contexts import BPF_SOCK, PERF_EVENT_DATA, PT_REGS, SK_BUFF, XDP_MD
from .context import Packet, get_u32, put_u32, sync_skb_ctx, sync_xdp_ctx
from .linux_helpers.env import Env
from .linux_helpers.xdp import XDP_FRAME_SIZE, XDP_PACKET_HEADROOM
from .memory import Region

__all__ = ["SKB_CTX_IN_FIELDS", "Prepared", "TestRunError", "prepare"]

ETH_HLEN = 14
SKB_MAX_DATA = 4096 - 64 - 320  # PAGE_SIZE - NET_SKB_PAD - SKB_DATA_ALIGN(skb_shared_info)
SKB_CTX_IN_FIELDS = ("mark", "priority", "ingress_ifindex", "ifindex", "cb", "tstamp", "wire_len",
                     "gso_segs", "gso_size", "hwtstamp")
_SKB_CTX_OUT_FIELDS = ("mark", "priority", "ingress_ifindex", "ifindex", "tstamp", "cb", "wire_len",
                       "gso_segs", "hwtstamp")
GSO_MAX_SEGS = 65535
GSO_LEGACY_MAX_SIZE = 65536
LOOPBACK_IFINDEX = 1
SKB_TYPES = frozenset({ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT,
                       ProgType.CGROUP_SKB, ProgType.LWT_IN, ProgType.LWT_OUT, ProgType.LWT_XMIT,
                       ProgType.LWT_SEG6LOCAL})
L2_TYPES = frozenset({ProgType.SCHED_CLS, ProgType.SCHED_ACT})
DIRECT_PKT_TYPES = L2_TYPES | {ProgType.LWT_IN, ProgType.LWT_OUT, ProgType.LWT_XMIT, ProgType.CGROUP_SKB}


class TestRunError(PyBpfError, ValueError):
    """BPF_PROG_TEST_RUN refuses the input; ``errno`` is what the kernel returns."""

    __test__ = False

    def __init__(self, reason: str, *, errno: int = E.EINVAL) -> None:
        self.errno = errno
        super().__init__(reason)


@dataclass
class Prepared:
    """A run ready to start: r1/r2, the regions, and how to read the outcome."""

    r1: int
    r2: int = 0
    finish: Callable[[], tuple[bytes, bytes | None]] = lambda: (b"", None)
    release: list[Callable[[], None]] = field(default_factory=list)
    ld_abs: Callable[[], bytes | None] = lambda: None


def _ctx_bytes(ctx: bytes | dict[str, int] | None, layout_size: int, names: dict[str, tuple[int, int]],
               ) -> bytearray:
    if ctx is None:
        return bytearray(layout_size)
    if isinstance(ctx, dict):
        buf = bytearray(layout_size)
        for key, value in ctx.items():
            if key not in names:
                raise TestRunError(f"unknown ctx field {key!r} (fields: {', '.join(names)})")
            off, size = names[key]
            if isinstance(value, bytes | bytearray):
                buf[off:off + size] = bytes(value).ljust(size, b"\0")[:size]
            else:
                buf[off:off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        return buf
    raw = bytes(ctx)
    if len(raw) > layout_size:
        if any(raw[layout_size:]):
            # bpf_ctx_init(): bytes beyond the struct must be zero
            raise TestRunError(f"ctx_in has {len(raw)} bytes, non-zero past the {layout_size}-byte struct",
                               errno=E.E2BIG)
        raw = raw[:layout_size]
    return bytearray(raw.ljust(layout_size, b"\0"))


def _fields(layout: object) -> dict[str, tuple[int, int]]:
    return {f.name: (f.offset, f.size) for f in layout.fields}  # type: ignore[attr-defined]


def prepare(env: Env, prog_type: int | None, data: bytes, ctx: bytes | dict[str, int] | None) -> Prepared:
    """Build the run's memory for ``prog_type`` and return how to start and finish it."""
    if prog_type is None:
        return _raw(env, data)
    t = ProgType(prog_type)
    if t in SKB_TYPES:
        return _skb(env, t, data, ctx)
    if t is ProgType.XDP:
        return _xdp(env, data, ctx)
    if t in (ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE):
        return _ctx_only(env, data, ctx, writable=False, limit=8 * 12, name="raw_tp args")
    if t is ProgType.SYSCALL:
        return _ctx_only(env, data, ctx, writable=True, limit=0xFFFF, name="syscall ctx")
    if t is ProgType.KPROBE:
        return _ctx_only(env, data, ctx, writable=False, size=PT_REGS.size, name="pt_regs",
                         fields=_fields(PT_REGS))
    if t is ProgType.PERF_EVENT:
        return _ctx_only(env, data, ctx, writable=False, size=PERF_EVENT_DATA.size, name="perf event")
    if t is ProgType.TRACEPOINT:
        return _ctx_only(env, data, ctx, writable=False, limit=8192, name="tracepoint record")
    raise TestRunError(f"test runs of {t.name.lower()} programs are not supported", errno=E.ENOTSUP)


def _region(env: Env, name: str, buf: bytearray, *, writable: bool,
            kind: str) -> tuple[Region, Callable[[], None]]:
    region = env.memory.add(name, buf, writable=writable, kind=kind)
    return region, lambda: env.memory.remove(region)


def _raw(env: Env, data: bytes) -> Prepared:
    if not data:
        return Prepared(0, 0, lambda: (b"", None))
    region, release = _region(env, "mem", bytearray(data), writable=True, kind="mem")
    return Prepared(region.base, len(data), lambda: (bytes(region.buffer), None), [release])


def _ctx_only(env: Env, data: bytes, ctx: bytes | dict[str, int] | None, *, writable: bool, name: str,
              limit: int = 0, size: int = 0, fields: dict[str, tuple[int, int]] | None = None) -> Prepared:
    if data:
        raise TestRunError(f"{name}: these programs take no data, only ctx")
    if isinstance(ctx, dict):
        if fields is None:
            raise TestRunError(f"{name}: give ctx as bytes")
        buf = _ctx_bytes(ctx, size, fields)
    else:
        raw = bytes(ctx or b"")
        if limit and len(raw) > limit:
            raise TestRunError(f"{name}: ctx of {len(raw)} bytes is larger than {limit}")
        buf = bytearray(raw.ljust(size, b"\0") if size else raw)
    region, release = _region(env, name, buf, writable=writable, kind="ctx")
    env.run.ctx = region
    return Prepared(region.base, 0, lambda: (b"", bytes(region.buffer)), [release])


# -- skb ------------------------------------------------------------------------------------

def _check_skb_ctx(buf: bytearray) -> None:
    """convert___skb_to_skb(): every byte outside the accepted fields must be zero."""
    allowed = bytearray(SK_BUFF.size)
    for name in SKB_CTX_IN_FIELDS:
        f = SK_BUFF[name]
        allowed[f.offset:f.end] = b"\1" * f.size
    bad = [i for i in range(SK_BUFF.size) if buf[i] and not allowed[i]]
    if bad:
        at = SK_BUFF.field_at(bad[0])
        raise TestRunError(f"ctx_in sets __sk_buff.{at.name if at else 'padding'} (offset {bad[0]}), "
                           f"which BPF_PROG_TEST_RUN does not accept")


def eth_type_trans(frame: bytes) -> tuple[int, int]:
    """(protocol as the __be16 skb->protocol reads in a u32 load, pkt_type) for a frame on lo."""
    dst, proto = frame[:6], int.from_bytes(frame[12:14], "big")
    if dst[0] & 1:
        pkt_type = 1 if dst == b"\xff" * 6 else 2  # PACKET_BROADCAST / PACKET_MULTICAST
    elif dst != bytes(6):  # lo's address is all zero
        pkt_type = 3  # PACKET_OTHERHOST
    else:
        pkt_type = 0  # PACKET_HOST
    if proto < 0x600:
        proto = 0x0001 if frame[14:16] == b"\xff\xff" else 0x0004  # ETH_P_802_3 / ETH_P_802_2
    return int.from_bytes(proto.to_bytes(2, "big"), "little"), pkt_type


def _skb(env: Env, t: ProgType, data: bytes, ctx: bytes | dict[str, int] | None) -> Prepared:
    if len(data) < ETH_HLEN or len(data) > SKB_MAX_DATA:
        raise TestRunError(f"skb data must be {ETH_HLEN}..{SKB_MAX_DATA} bytes, got {len(data)}")
    ctx_in = _ctx_bytes(ctx, SK_BUFF.size, _fields(SK_BUFF))
    _check_skb_ctx(ctx_in)
    is_l2 = t in L2_TYPES
    protocol, pkt_type = eth_type_trans(data)
    payload = data if is_l2 else data[ETH_HLEN:]
    buf = bytearray(ctx_in)

    def put(name: str, value: int) -> None:
        f = SK_BUFF[name]
        buf[f.offset:f.offset + f.size] = (value & ((1 << (8 * f.size)) - 1)).to_bytes(f.size, "little")

    wire_len = get_u32(ctx_in, SK_BUFF.offsetof("wire_len"))
    gso_segs = get_u32(ctx_in, SK_BUFF.offsetof("gso_segs"))
    if wire_len and (wire_len < len(payload) or wire_len > GSO_LEGACY_MAX_SIZE):
        raise TestRunError(f"ctx_in wire_len {wire_len} is outside {len(payload)}..{GSO_LEGACY_MAX_SIZE}")
    if gso_segs > GSO_MAX_SEGS:
        raise TestRunError(f"ctx_in gso_segs {gso_segs} is larger than {GSO_MAX_SEGS}")
    ifindex = get_u32(ctx_in, SK_BUFF.offsetof("ifindex"))
    put("ifindex", ifindex if ifindex > 1 else LOOPBACK_IFINDEX)
    put("pkt_type", pkt_type)
    put("protocol", protocol)
    # Without a ctx (no ctx_in, no ctx_out) the kernel skips convert___skb_to_skb,
    # so cb->pkt_len (wire_len) stays 0.
    has_ctx = ctx is not None
    put("wire_len", (wire_len or len(payload)) if has_ctx else 0)
    # the test run's socket carries the IP addresses (family/remote_ip4/local_ip4)
    ethertype = int.from_bytes(data[12:14], "big")
    # 6.18 refuses an IPv4/IPv6 frame too short for its network header (EINVAL); the
    # test_run.c in older trees only skipped copying the addresses: the kernel wins.
    if ethertype == 0x0800:
        if len(data) < ETH_HLEN + 20:
            raise TestRunError(f"IPv4 frame of {len(data)} bytes has no room for the IP header")
        put("family", 2)
        buf[SK_BUFF.offsetof("local_ip4"):SK_BUFF.offsetof("local_ip4") + 4] = data[26:30]
        buf[SK_BUFF.offsetof("remote_ip4"):SK_BUFF.offsetof("remote_ip4") + 4] = data[30:34]
    elif ethertype == 0x86DD:
        if len(data) < ETH_HLEN + 40:
            raise TestRunError(f"IPv6 frame of {len(data)} bytes has no room for the IPv6 header")
        put("family", 10)
        buf[SK_BUFF.offsetof("local_ip6"):SK_BUFF.offsetof("local_ip6") + 16] = data[22:38]
        buf[SK_BUFF.offsetof("remote_ip6"):SK_BUFF.offsetof("remote_ip6") + 16] = data[38:54]
    sk_region, release_sk = _region(env, "bpf_sock", _dummy_sock(data, ethertype), writable=False,
                                    kind="socket")
    buf[SK_BUFF.offsetof("sk"):SK_BUFF.offsetof("sk") + 8] = sk_region.base.to_bytes(8, "little")
    pointers = t in DIRECT_PKT_TYPES
    region, release_ctx = _region(env, "__sk_buff", buf, writable=True, kind="ctx")
    pkt = Packet(env.memory, payload, on_change=lambda p: sync_skb_ctx(region.buffer, p, pointers=pointers))
    pkt.changed()
    env.run.ctx = region
    env.run.packet = pkt

    def finish() -> tuple[bytes, bytes | None]:
        out = pkt.payload()
        if not is_l2:
            out = bytes(ETH_HLEN) + out
        ctx_out = bytearray(ctx_in)
        for name in _SKB_CTX_OUT_FIELDS:
            f = SK_BUFF[name]
            ctx_out[f.offset:f.end] = region.buffer[f.offset:f.end]
        if not get_u32(ctx_in, SK_BUFF.offsetof("wire_len")):
            # cb->pkt_len was skb->len when the skb was set up
            put_u32(ctx_out, SK_BUFF.offsetof("wire_len"), len(payload))
        return out, bytes(ctx_out) if has_ctx else None

    return Prepared(region.base, 0, finish, [pkt.release, release_ctx, release_sk], ld_abs=pkt.payload)


def _dummy_sock(data: bytes, ethertype: int) -> bytearray:
    """The ``struct bpf_sock`` of the socket test_run attaches to the skb (``skb->sk``).

    sk_alloc(AF_UNSPEC) then the family and addresses from the IP header:
    ``src_ip*`` is the packet's source (sk_rcv_saddr), ``dst_ip*`` its
    destination; state TCP_CLOSE, no queue mapping (-1).
    """
    sock = bytearray(BPF_SOCK.size)

    def put(name: str, raw: bytes) -> None:
        off = BPF_SOCK.offsetof(name)
        sock[off:off + len(raw)] = raw

    if ethertype == 0x0800:
        put("family", (2).to_bytes(4, "little"))
        put("src_ip4", data[26:30])
        put("dst_ip4", data[30:34])
    elif ethertype == 0x86DD:
        put("family", (10).to_bytes(4, "little"))
        put("src_ip6", data[22:38])
        put("dst_ip6", data[38:54])
    put("state", (7).to_bytes(4, "little"))
    put("rx_queue_mapping", b"\xff" * 4)
    return sock


# -- xdp ------------------------------------------------------------------------------------

def _xdp(env: Env, data: bytes, ctx: bytes | dict[str, int] | None) -> Prepared:
    md = _ctx_bytes(ctx, XDP_MD.size, _fields(XDP_MD))
    meta_len = get_u32(md, XDP_MD.offsetof("data"))
    if ctx is not None:
        if get_u32(md, XDP_MD.offsetof("egress_ifindex")):
            raise TestRunError("ctx_in egress_ifindex must be 0")
        end = get_u32(md, XDP_MD.offsetof("data_end"))
        if get_u32(md, XDP_MD.offsetof("data_meta")) or end != len(data) or meta_len > len(data) \
                or meta_len & 3 or meta_len > 32:
            raise TestRunError("ctx_in must have data_meta 0, data_end = the data size and data = "
                               "a metadata length (multiple of 4, at most 32)")
        ifindex = get_u32(md, XDP_MD.offsetof("ingress_ifindex"))
        if not ifindex and get_u32(md, XDP_MD.offsetof("rx_queue_index")):
            raise TestRunError("ctx_in rx_queue_index needs ingress_ifindex")
    if len(data) - meta_len < ETH_HLEN:
        raise TestRunError(f"XDP data must hold at least {ETH_HLEN} bytes after the metadata")
    headroom = XDP_PACKET_HEADROOM - meta_len
    if headroom + len(data) > XDP_FRAME_SIZE:
        raise TestRunError(f"XDP data of {len(data)} bytes needs fragments, which pybpf does not model",
                           errno=E.ENOTSUP)
    buf = bytearray(md)
    if not get_u32(md, XDP_MD.offsetof("ingress_ifindex")):
        put_u32(buf, XDP_MD.offsetof("ingress_ifindex"), LOOPBACK_IFINDEX)
    region, release_ctx = _region(env, "xdp_md", buf, writable=False, kind="ctx")
    pkt = Packet(env.memory, bytes(headroom) + data, head=XDP_PACKET_HEADROOM, meta=headroom,
                 limit=XDP_FRAME_SIZE, name="xdp packet", on_change=lambda p: sync_xdp_ctx(region.buffer, p))
    pkt.changed()
    env.run.ctx = region
    env.run.packet = pkt

    def finish() -> tuple[bytes, bytes | None]:
        out = bytearray(md)
        put_u32(out, XDP_MD.offsetof("data"), pkt.head - pkt.meta)
        put_u32(out, XDP_MD.offsetof("data_end"), pkt.frame_len - pkt.meta)
        put_u32(out, XDP_MD.offsetof("data_meta"), 0)
        return pkt.with_meta(), bytes(out)

    return Prepared(region.base, 0, finish, [pkt.release, release_ctx])
