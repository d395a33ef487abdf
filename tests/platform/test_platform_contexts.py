"""Context access rules, as the kernel's *_is_valid_access() functions decide them."""

from __future__ import annotations

import pytest

from pybpf.platform import LINUX, ProgType, RegType, TypeFlag, field_rules
from pybpf.platform.contexts import (
    LAYOUTS,
    PT_REGS,
    PT_REGS_ARGS,
    SK_BUFF,
    XDP_MD,
    check_ctx_access,
    invalid_access_message,
)
from pybpf.platform.platform import Platform
from pybpf.platform.progtypes import AttachType, Cap

SF, TC, XDP, KP = ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.XDP, ProgType.KPROBE


def off(name: str) -> int:
    return SK_BUFF.offsetof(name)


def test_layout_lookup() -> None:
    assert SK_BUFF["cb"].size == 20 and SK_BUFF["cb"].elem == 4
    assert SK_BUFF.field_at(50).name == "cb"  # type: ignore[union-attr]
    assert SK_BUFF.field_at(181) is None  # padding after tstamp_type
    assert PT_REGS["rdi"] is PT_REGS["di"] and PT_REGS.offsetof("di") == 112
    assert [PT_REGS.offsetof(r) for r in PT_REGS_ARGS] == [112, 104, 96, 88, 72, 64]
    assert set(LAYOUTS) >= {"__sk_buff", "xdp_md", "pt_regs", "bpf_perf_event_data"}
    with pytest.raises(KeyError):
        SK_BUFF["nonesuch"]


def test_mark_writable_in_tc_not_in_socket_filter() -> None:
    assert check_ctx_access(TC, off("mark"), 4, True).ok
    assert not check_ctx_access(SF, off("mark"), 4, True).ok
    assert check_ctx_access(SF, off("mark"), 4, False).ok


def test_cb_writable_in_both_at_every_size() -> None:
    for t in (SF, TC):
        for size in (1, 2, 4, 8):
            assert check_ctx_access(t, off("cb"), size, True).ok
    assert not check_ctx_access(SF, off("cb") + 16, 8, True).ok  # runs past cb[4]


def test_tc_index_and_queue_mapping_writable_only_in_tc() -> None:
    assert check_ctx_access(TC, off("tc_index"), 4, True).ok
    assert not check_ctx_access(SF, off("tc_index"), 4, True).ok
    assert check_ctx_access(TC, off("queue_mapping"), 4, True).ok
    assert not check_ctx_access(TC, off("len"), 4, True).ok


def test_packet_pointers() -> None:
    assert check_ctx_access(TC, off("data"), 4, False).reg_type is RegType.PTR_TO_PACKET
    assert check_ctx_access(TC, off("data_end"), 4, False).reg_type is RegType.PTR_TO_PACKET_END
    assert check_ctx_access(TC, off("data_meta"), 4, False).reg_type is RegType.PTR_TO_PACKET_META
    assert not check_ctx_access(TC, off("data"), 2, False).ok  # packet pointers are whole u32 loads
    assert not check_ctx_access(TC, off("data"), 4, True).ok
    assert not check_ctx_access(SF, off("data"), 4, False).ok  # no direct packet access
    assert check_ctx_access(XDP, 0, 4, False).reg_type is RegType.PTR_TO_PACKET
    assert check_ctx_access(XDP, 4, 4, False).reg_type is RegType.PTR_TO_PACKET_END
    assert check_ctx_access(XDP, 8, 4, False).reg_type is RegType.PTR_TO_PACKET_META
    assert check_ctx_access(XDP, 12, 4, False).reg_type is RegType.SCALAR_VALUE


def test_narrow_loads() -> None:
    a = check_ctx_access(SF, off("len") + 2, 2, False)
    assert a.ok and a.field_size == 4
    assert check_ctx_access(SF, off("len") + 3, 1, False).ok
    assert not check_ctx_access(SF, off("len"), 8, False).ok
    assert not check_ctx_access(SF, off("len") + 2, 4, False).ok  # misaligned
    assert not check_ctx_access(XDP, 0, 2, False).ok  # xdp_md: u32 loads only
    assert check_ctx_access(ProgType.PERF_EVENT, 168 + 4, 4, False).ok  # sample_period, narrow


def test_skb_special_fields() -> None:
    sk = check_ctx_access(TC, off("sk"), 8, False)
    assert sk.reg_type is RegType.PTR_TO_SOCK_COMMON and sk.reg_flags == TypeFlag.PTR_MAYBE_NULL
    assert not check_ctx_access(TC, off("sk"), 4, False).ok
    assert not check_ctx_access(TC, off("sk") + 4, 4, False).ok
    assert check_ctx_access(TC, off("tstamp_type"), 1, False).ok
    assert not check_ctx_access(SF, off("tstamp_type"), 1, False).ok
    assert check_ctx_access(TC, off("tstamp"), 8, True).ok
    assert not check_ctx_access(TC, off("hwtstamp"), 8, True).ok
    assert not check_ctx_access(TC, off("flow_keys"), 8, False).ok
    assert not check_ctx_access(TC, off("family"), 4, False).ok  # sk_skb-only fields


def test_xdp_egress_ifindex_needs_devmap() -> None:
    eg = XDP_MD.offsetof("egress_ifindex")
    assert not check_ctx_access(XDP, eg, 4, False).ok
    assert check_ctx_access(XDP, eg, 4, False, attach=AttachType.XDP_DEVMAP).ok


def test_tracing_contexts_are_read_only() -> None:
    assert check_ctx_access(KP, 112, 8, False).ok
    assert check_ctx_access(KP, 112, 1, False).ok
    assert not check_ctx_access(KP, 112, 8, True).ok
    assert not check_ctx_access(KP, 168, 8, False).ok
    assert not check_ctx_access(ProgType.TRACEPOINT, 0, 8, False).ok  # the hidden header
    assert check_ctx_access(ProgType.TRACEPOINT, 8, 8, False).ok
    assert check_ctx_access(ProgType.RAW_TRACEPOINT, 88, 8, False).ok
    assert not check_ctx_access(ProgType.RAW_TRACEPOINT, 96, 8, False).ok


def test_cgroup_skb_packet_access_needs_bpf_capable() -> None:
    data = off("data")
    assert check_ctx_access(ProgType.CGROUP_SKB, data, 4, False).ok
    assert not check_ctx_access(ProgType.CGROUP_SKB, data, 4, False, capable=False).ok
    assert not Platform(caps=Cap.NONE).ctx_access("cgroup_skb", data, 4, False).ok


def test_field_rules_summarize_as_data() -> None:
    tc = field_rules(TC, SK_BUFF)
    assert tc["mark"].read == {1, 2, 4} and tc["mark"].write == {4}
    assert tc["data"].reg_type is RegType.PTR_TO_PACKET and not tc["data"].writable
    assert tc["cb"].write == {1, 2, 4, 8}
    sf = field_rules(SF, SK_BUFF)
    assert not sf["mark"].writable and sf["cb"].writable and not sf["data"].readable
    assert field_rules(KP, PT_REGS)["di"].read == {1, 2, 4, 8}


def test_unsupported_sizes_and_types_deny() -> None:
    assert not check_ctx_access(SF, 0, 3, False).ok
    assert not check_ctx_access(ProgType.SK_LOOKUP, 0, 4, False).ok  # no rules modelled


def test_platform_front_door() -> None:
    assert LINUX.ctx_layout("xdp") is XDP_MD
    assert LINUX.ctx_layout("kprobe") is PT_REGS
    assert LINUX.ctx_layout("lirc_mode2") is None
    assert LINUX.ctx_access("tc", off("mark"), 4, True).ok
    assert invalid_access_message(76, 4) == "invalid bpf_context access off=76 size=4"
