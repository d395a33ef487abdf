"""Context layouts (``struct __sk_buff``, ``struct xdp_md``, ``struct pt_regs`` ...)
and the kernel's rules for loading and storing their fields.

The layouts are uapi data: names, offsets and sizes as include/uapi/linux/bpf.h
and arch/x86/include/uapi/asm/ptrace.h define them (checked against the
headers by gcc in tests/platform/test_layouts.py).

The access rules mirror the kernel's ``*_is_valid_access()`` callbacks in
net/core/filter.c and kernel/trace/bpf_trace.c.  Those are case ranges over
offsets, so each is a small function here too (:data:`ACCESS_CHECKS`), fed by
the field tables; :func:`check_ctx_access` answers one access the way the
verifier must, and :func:`field_rules` summarizes a program type's rules per
field as data (sizes readable, sizes writable, resulting register type).

A load of ``data``/``data_end``/``data_meta`` does not produce a number: the
kernel rewrites it into a packet pointer, which :attr:`CtxAccess.reg_type`
records (``PTR_TO_PACKET``, ``PTR_TO_PACKET_END``, ``PTR_TO_PACKET_META``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .progtypes import AttachType, ProgType
from .types import RegType, TypeFlag

__all__ = [
    "ACCESS_CHECKS",
    "BPF_SOCK",
    "LAYOUTS",
    "MAX_BPF_FUNC_ARGS",
    "PERF_EVENT_DATA",
    "PERF_MAX_TRACE_SIZE",
    "PT_REGS",
    "RAW_TP_ARGS",
    "SK_BUFF",
    "TRACEPOINT",
    "XDP_MD",
    "CtxAccess",
    "CtxField",
    "CtxLayout",
    "FieldRule",
    "check_ctx_access",
    "field_rules",
    "invalid_access_message",
]

PERF_MAX_TRACE_SIZE = 8192
"""Upper bound of a tracepoint record (include/linux/trace_events.h)."""
MAX_BPF_FUNC_ARGS = 12
"""A raw tracepoint's ctx is ``u64 args[MAX_BPF_FUNC_ARGS]``."""


@dataclass(frozen=True, slots=True)
class CtxField:
    """One member of a context struct. Arrays have ``elem`` > 0 (``cb[5]``: size 20, elem 4)."""

    name: str
    offset: int
    size: int
    elem: int = 0
    alias: str = ""  # another spelling (pt_regs: kernel "di" vs uapi "rdi")

    @property
    def end(self) -> int:
        return self.offset + self.size

    def contains(self, off: int) -> bool:
        return self.offset <= off < self.end


@dataclass(frozen=True)
class CtxLayout:
    """A context struct: ``size`` is sizeof(), padding is what no field covers."""

    name: str
    size: int
    fields: tuple[CtxField, ...]

    def __getitem__(self, name: str) -> CtxField:
        for f in self.fields:
            if name in (f.name, f.alias):
                return f
        raise KeyError(name)

    def field_at(self, off: int) -> CtxField | None:
        for f in self.fields:
            if f.contains(off):
                return f
        return None

    def offsetof(self, name: str) -> int:
        return self[name].offset


def _layout(name: str, size: int, *spec: tuple[str, int] | tuple[str, int, int] | tuple[str, int, int, str],
            ) -> CtxLayout:
    """Fields laid out in order: (name, size[, elem[, alias]]) with explicit gaps as ("", n)."""
    fields: list[CtxField] = []
    off = 0
    for item in spec:
        fname, fsize = item[0], item[1]
        elem = item[2] if len(item) > 2 else 0
        alias = item[3] if len(item) > 3 else ""
        if fname:
            fields.append(CtxField(fname, off, fsize, elem, alias))
        off += fsize
    assert off == size, (name, off, size)
    return CtxLayout(name, size, tuple(fields))


SK_BUFF = _layout(
    "__sk_buff", 192,
    ("len", 4), ("pkt_type", 4), ("mark", 4), ("queue_mapping", 4), ("protocol", 4),
    ("vlan_present", 4), ("vlan_tci", 4), ("vlan_proto", 4), ("priority", 4), ("ingress_ifindex", 4),
    ("ifindex", 4), ("tc_index", 4), ("cb", 20, 4), ("hash", 4), ("tc_classid", 4), ("data", 4),
    ("data_end", 4), ("napi_id", 4), ("family", 4), ("remote_ip4", 4), ("local_ip4", 4),
    ("remote_ip6", 16, 4), ("local_ip6", 16, 4), ("remote_port", 4), ("local_port", 4),
    ("data_meta", 4), ("flow_keys", 8), ("tstamp", 8), ("wire_len", 4), ("gso_segs", 4), ("sk", 8),
    ("gso_size", 4), ("tstamp_type", 1), ("", 3), ("hwtstamp", 8),
)

XDP_MD = _layout(
    "xdp_md", 24,
    ("data", 4), ("data_end", 4), ("data_meta", 4), ("ingress_ifindex", 4), ("rx_queue_index", 4),
    ("egress_ifindex", 4),
)

# x86_64 struct pt_regs, kernel member names with the uapi (<asm/ptrace.h>) ones as aliases.
PT_REGS = _layout(
    "pt_regs", 168,
    ("r15", 8, 0, "r15"), ("r14", 8, 0, "r14"), ("r13", 8, 0, "r13"), ("r12", 8, 0, "r12"),
    ("bp", 8, 0, "rbp"), ("bx", 8, 0, "rbx"), ("r11", 8, 0, "r11"), ("r10", 8, 0, "r10"),
    ("r9", 8, 0, "r9"), ("r8", 8, 0, "r8"), ("ax", 8, 0, "rax"), ("cx", 8, 0, "rcx"),
    ("dx", 8, 0, "rdx"), ("si", 8, 0, "rsi"), ("di", 8, 0, "rdi"), ("orig_ax", 8, 0, "orig_rax"),
    ("ip", 8, 0, "rip"), ("cs", 8, 0, "cs"), ("flags", 8, 0, "eflags"), ("sp", 8, 0, "rsp"),
    ("ss", 8, 0, "ss"),
)

PT_REGS_ARGS: tuple[str, ...] = ("di", "si", "dx", "cx", "r8", "r9")
"""Where a kprobe finds the probed function's arguments 1..6 (x86_64 SysV; PT_REGS_PARM*)."""

PERF_EVENT_DATA = _layout(
    "bpf_perf_event_data", 184,
    ("regs", 168), ("sample_period", 8), ("addr", 8),
)

RAW_TP_ARGS = _layout("bpf_raw_tracepoint_args", 8 * MAX_BPF_FUNC_ARGS, ("args", 8 * MAX_BPF_FUNC_ARGS, 8))

# A tracepoint's ctx is the raw trace record; its first 8 bytes (common
# fields / pt_regs pointer) are hidden from the program.
TRACEPOINT = _layout("tracepoint", PERF_MAX_TRACE_SIZE, ("hidden", 8), ("record", PERF_MAX_TRACE_SIZE - 8))

BPF_SOCK = _layout(
    "bpf_sock", 80,
    ("bound_dev_if", 4), ("family", 4), ("type", 4), ("protocol", 4), ("mark", 4), ("priority", 4),
    ("src_ip4", 4), ("src_ip6", 16, 4), ("src_port", 4), ("dst_port", 2), ("", 2), ("dst_ip4", 4),
    ("dst_ip6", 16, 4), ("state", 4), ("rx_queue_mapping", 4),
)

LAYOUTS: dict[str, CtxLayout] = {
    lay.name: lay for lay in (SK_BUFF, XDP_MD, PT_REGS, PERF_EVENT_DATA, RAW_TP_ARGS, TRACEPOINT, BPF_SOCK)
}


@dataclass(frozen=True, slots=True)
class CtxAccess:
    """The verifier's verdict on one ctx access (``struct bpf_insn_access_aux``).

    ``reg_type``/``reg_flags``: what a load puts in the destination register.
    ``field_size``: the kernel's ``ctx_field_size`` (non-zero when a narrower
    load is served by loading the whole field and masking).
    """

    ok: bool
    reg_type: RegType = RegType.SCALAR_VALUE
    reg_flags: TypeFlag = TypeFlag.NONE
    field_size: int = 0


DENY = CtxAccess(False)
SCALAR = CtxAccess(True)


def _narrow_ok(off: int, size: int, size_default: int) -> bool:
    # bpf_ctx_narrow_access_ok(): any power of two up to the field size.
    return size <= size_default and (size & (size - 1)) == 0


def _c_mod(a: int, b: int) -> int:
    """C's ``a % b`` (truncating), which differs from Python's for negative ``a``."""
    return -((-a) % b) if a < 0 else a % b


def _in(lay: CtxLayout, off: int, *names: str) -> bool:
    """bpf_ctx_range(): ``off`` falls anywhere inside one of the named fields."""
    return any(lay[n].contains(off) for n in names)


def _range(lay: CtxLayout, off: int, first: str, last: str) -> bool:
    """bpf_ctx_range_till(first, last)."""
    return lay[first].offset <= off < lay[last].end


_SKB = SK_BUFF
_PKT = CtxAccess(True, RegType.PTR_TO_PACKET)
_PKT_END = CtxAccess(True, RegType.PTR_TO_PACKET_END)
_PKT_META = CtxAccess(True, RegType.PTR_TO_PACKET_META)


def _skb_common(off: int, size: int, write: bool, reg: CtxAccess = SCALAR) -> CtxAccess:
    """bpf_skb_is_valid_access(); ``reg`` is what the caller already decided a load yields."""
    if off < 0 or off >= _SKB.size or off % size:
        return DENY
    if _in(_SKB, off, "cb"):
        return reg if off + size <= _SKB["cb"].end else DENY
    if _in(_SKB, off, "remote_ip6", "local_ip6", "remote_ip4", "local_ip4", "data", "data_meta",
           "data_end"):
        return reg if size == 4 else DENY
    if _in(_SKB, off, "flow_keys"):
        return DENY
    if _in(_SKB, off, "hwtstamp"):
        return reg if not write and size == 8 else DENY
    if _in(_SKB, off, "tstamp"):
        return reg if size == 8 else DENY
    if _in(_SKB, off, "sk"):
        if write or size != 8:
            return DENY
        return CtxAccess(True, RegType.PTR_TO_SOCK_COMMON, TypeFlag.PTR_MAYBE_NULL)
    if off == _SKB.offsetof("tstamp_type"):  # a single offset in the kernel, not a range
        return DENY
    if _SKB["tstamp_type"].end <= off < _SKB.offsetof("hwtstamp"):
        return DENY  # padding
    if write:
        return reg if size == 4 else DENY
    if not _narrow_ok(off, size, 4):
        return DENY
    return CtxAccess(True, reg.reg_type, reg.reg_flags, field_size=4)


def _cb_only_writes(off: int, write: bool, allowed: tuple[str, ...]) -> bool:
    return not write or _in(_SKB, off, *allowed)


def sk_filter_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                              capable: bool = True) -> CtxAccess:
    if _in(_SKB, off, "tc_classid", "data", "data_meta", "data_end", "tstamp", "wire_len", "hwtstamp") \
            or _range(_SKB, off, "family", "local_port"):
        return DENY
    if not _cb_only_writes(off, write, ("cb",)):
        return DENY
    return _skb_common(off, size, write)


def tc_cls_act_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                               capable: bool = True) -> CtxAccess:
    if not _cb_only_writes(off, write, ("mark", "tc_index", "priority", "tc_classid", "cb", "tstamp",
                                        "queue_mapping")):
        return DENY
    reg = SCALAR
    if _in(_SKB, off, "data"):
        reg = _PKT
    elif _in(_SKB, off, "data_meta"):
        reg = _PKT_META
    elif _in(_SKB, off, "data_end"):
        reg = _PKT_END
    elif _range(_SKB, off, "family", "local_port"):
        return DENY
    elif off == _SKB.offsetof("tstamp_type"):
        return SCALAR if size == 1 else DENY
    return _skb_common(off, size, write, reg)


def cg_skb_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                           capable: bool = True) -> CtxAccess:
    if _in(_SKB, off, "tc_classid", "data_meta", "wire_len"):
        return DENY
    if _in(_SKB, off, "data", "data_end") and not capable:
        return DENY
    if write:
        if _in(_SKB, off, "tstamp"):
            if not capable:
                return DENY
        elif not _in(_SKB, off, "mark", "priority", "cb"):
            return DENY
    reg = _PKT if _in(_SKB, off, "data") else _PKT_END if _in(_SKB, off, "data_end") else SCALAR
    return _skb_common(off, size, write, reg)


def lwt_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                        capable: bool = True) -> CtxAccess:
    if _in(_SKB, off, "tc_classid", "data_meta", "tstamp", "wire_len", "hwtstamp") \
            or _range(_SKB, off, "family", "local_port"):
        return DENY
    if not _cb_only_writes(off, write, ("mark", "priority", "cb")):
        return DENY
    reg = _PKT if _in(_SKB, off, "data") else _PKT_END if _in(_SKB, off, "data_end") else SCALAR
    return _skb_common(off, size, write, reg)


def sk_skb_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                           capable: bool = True) -> CtxAccess:
    if _in(_SKB, off, "tc_classid", "data_meta", "tstamp", "wire_len", "hwtstamp"):
        return DENY
    if not _cb_only_writes(off, write, ("tc_index", "priority")):
        return DENY
    if _in(_SKB, off, "mark"):
        return DENY
    reg = _PKT if _in(_SKB, off, "data") else _PKT_END if _in(_SKB, off, "data_end") else SCALAR
    return _skb_common(off, size, write, reg)


def flow_dissector_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                                   capable: bool = True) -> CtxAccess:
    if off < 0 or off >= _SKB.size or write:
        return DENY
    if _in(_SKB, off, "data"):
        return _PKT if size == 4 else DENY
    if _in(_SKB, off, "data_end"):
        return _PKT_END if size == 4 else DENY
    if _in(_SKB, off, "flow_keys"):
        return CtxAccess(True, RegType.PTR_TO_FLOW_KEYS) if size == 8 else DENY
    return DENY


def xdp_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                        capable: bool = True) -> CtxAccess:
    if attach != AttachType.XDP_DEVMAP and off == XDP_MD.offsetof("egress_ifindex"):
        return DENY
    if write:
        return DENY  # rx_queue_index is writable only by device-bound programs
    if off < 0 or off >= XDP_MD.size or off % size or size != 4:
        return DENY
    return {0: _PKT, 4: _PKT_END, 8: _PKT_META}.get(off, SCALAR)


def kprobe_prog_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                                capable: bool = True) -> CtxAccess:
    if off < 0 or off >= PT_REGS.size or write or off % size or off + size > PT_REGS.size:
        return DENY
    return SCALAR


def tp_prog_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                            capable: bool = True) -> CtxAccess:
    # The kernel compares "off < sizeof(void *)" as unsigned, so a negative
    # offset passes the lower bound: reproduced, since the kernel accepts it.
    if (off % (1 << 64)) < 8 or off >= PERF_MAX_TRACE_SIZE or write or _c_mod(off, size):
        return DENY
    return SCALAR


def raw_tp_prog_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                                capable: bool = True) -> CtxAccess:
    # bpf_tracing_ctx_access()
    if off < 0 or off >= 8 * MAX_BPF_FUNC_ARGS or write or off % size:
        return DENY
    return SCALAR


def pe_prog_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                            capable: bool = True) -> CtxAccess:
    lay = PERF_EVENT_DATA
    if off < 0 or off >= lay.size or write or off % size:
        return DENY  # (the 4-byte-long special case is for 32-bit kernels only)
    if _in(lay, off, "sample_period", "addr"):
        return CtxAccess(True, field_size=8) if _narrow_ok(off, size, 8) else DENY
    return SCALAR if size == 8 else DENY


def bpf_sock_is_valid_access(off: int, size: int, write: bool) -> CtxAccess:
    """bpf_sock_is_valid_access(): the generic ``struct bpf_sock`` rules."""
    lay = BPF_SOCK
    if off < 0 or off >= lay.size or off % size:
        return DENY
    if off in (lay.offsetof(n) for n in ("state", "family", "type", "protocol", "src_port",
                                          "rx_queue_mapping")) \
            or _in(lay, off, "src_ip4", "src_ip6", "dst_ip4", "dst_ip6"):
        return CtxAccess(True, field_size=4) if _narrow_ok(off, size, 4) else DENY
    if _in(lay, off, "dst_port"):
        # A u32 load of the __be16 port is allowed; anything narrower is a narrow load of the u16.
        field_size = 4 if size == 4 else 2
        return CtxAccess(True, field_size=field_size) if _narrow_ok(off, size, field_size) else DENY
    if lay["dst_port"].end <= off < lay.offsetof("dst_ip4"):
        return DENY  # padding
    return SCALAR if size == 4 else DENY


def sock_filter_is_valid_access(off: int, size: int, write: bool, attach: int | None = None,
                                capable: bool = True) -> CtxAccess:
    """cgroup/sock programs: bpf_sock rules, then __sock_filter_check_attach_type()."""
    verdict = bpf_sock_is_valid_access(off, size, write)
    if not verdict.ok:
        return verdict
    lay, at = BPF_SOCK, AttachType
    if off in (lay.offsetof("bound_dev_if"), lay.offsetof("mark"), lay.offsetof("priority")):
        full = attach in (at.CGROUP_INET_SOCK_CREATE, at.CGROUP_INET_SOCK_RELEASE)
        return verdict if full else DENY
    if _in(lay, off, "src_ip4"):
        ok = attach == at.CGROUP_INET4_POST_BIND
    elif _in(lay, off, "src_ip6"):
        ok = attach == at.CGROUP_INET6_POST_BIND
    elif _in(lay, off, "src_port"):
        ok = attach in (at.CGROUP_INET4_POST_BIND, at.CGROUP_INET6_POST_BIND)
    else:
        ok = True
    return verdict if ok and not write else DENY


AccessCheck = Callable[[int, int, bool, "int | None", bool], CtxAccess]

# bpf_verifier_ops.is_valid_access per program type.
ACCESS_CHECKS: dict[ProgType, AccessCheck] = {
    ProgType.SOCKET_FILTER: sk_filter_is_valid_access,
    ProgType.SCHED_CLS: tc_cls_act_is_valid_access,
    ProgType.SCHED_ACT: tc_cls_act_is_valid_access,
    ProgType.CGROUP_SKB: cg_skb_is_valid_access,
    ProgType.LWT_IN: lwt_is_valid_access,
    ProgType.LWT_OUT: lwt_is_valid_access,
    ProgType.LWT_XMIT: lwt_is_valid_access,
    ProgType.LWT_SEG6LOCAL: lwt_is_valid_access,
    ProgType.SK_SKB: sk_skb_is_valid_access,
    ProgType.FLOW_DISSECTOR: flow_dissector_is_valid_access,
    ProgType.XDP: xdp_is_valid_access,
    ProgType.KPROBE: kprobe_prog_is_valid_access,
    ProgType.TRACEPOINT: tp_prog_is_valid_access,
    ProgType.RAW_TRACEPOINT: raw_tp_prog_is_valid_access,
    ProgType.PERF_EVENT: pe_prog_is_valid_access,
    ProgType.CGROUP_SOCK: sock_filter_is_valid_access,
}


def check_ctx_access(prog_type: int, off: int, size: int, write: bool, *,
                     attach: int | None = None, capable: bool = True) -> CtxAccess:
    """Would the kernel let a program of ``prog_type`` access ctx+``off`` with ``size`` bytes?

    ``size`` is 1, 2, 4 or 8.  Program types without rules deny everything.
    """
    check = ACCESS_CHECKS.get(ProgType(prog_type))
    if check is None or size not in (1, 2, 4, 8):
        return DENY
    return check(off, size, write, attach, capable)


def invalid_access_message(off: int, size: int) -> str:
    """The verifier's rejection text for a ctx access (check_ctx_access())."""
    return f"invalid bpf_context access off={off} size={size}"


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A field's access rules for one program type, at the field's start offset."""

    field: CtxField
    read: frozenset[int]
    write: frozenset[int]
    reg_type: RegType = RegType.SCALAR_VALUE
    reg_flags: TypeFlag = TypeFlag.NONE

    @property
    def readable(self) -> bool:
        return bool(self.read)

    @property
    def writable(self) -> bool:
        return bool(self.write)


def field_rules(prog_type: int, layout: CtxLayout, *, attach: int | None = None,
                capable: bool = True) -> dict[str, FieldRule]:
    """Per field of ``layout``: sizes the program type may load and store at its start."""
    out: dict[str, FieldRule] = {}
    for f in layout.fields:
        reads = [(s, check_ctx_access(prog_type, f.offset, s, False, attach=attach, capable=capable))
                 for s in (1, 2, 4, 8)]
        writes = frozenset(s for s in (1, 2, 4, 8)
                           if check_ctx_access(prog_type, f.offset, s, True, attach=attach,
                                               capable=capable).ok)
        ok_reads = [(s, a) for s, a in reads if a.ok]
        reg = ok_reads[0][1] if ok_reads else DENY
        out[f.name] = FieldRule(f, frozenset(s for s, _ in ok_reads), writes, reg.reg_type, reg.reg_flags)
    return out
