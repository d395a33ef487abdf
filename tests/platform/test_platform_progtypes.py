"""Program types: ids against the uapi header, names, return rules, section names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pybpf.errors import PyBpfError
from pybpf.platform import LINUX, AttachType, ProgType, prog_type_info, resolve_section, return_range
from pybpf.platform.progtypes import (
    PROG_TYPES,
    SECTION_DEFS,
    SWITCHES,
    Cap,
    UnknownProgTypeError,
    UnknownSectionError,
    resolve_helper,
)

UAPI = Path("/usr/include/linux/bpf.h")


def _enum(name: str) -> list[str]:
    if not UAPI.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    body = UAPI.read_text().split(f"enum {name} {{", 1)[1].split("};", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    out = []
    for item in body.split(","):
        item = item.strip()
        if item and not item.startswith("__"):
            assert "=" not in item, item  # the enums are implicitly numbered
            out.append(item)
    return out


def test_prog_type_ids_match_uapi() -> None:
    names = _enum("bpf_prog_type")
    for value, name in enumerate(names):
        assert ProgType[name.removeprefix("BPF_PROG_TYPE_")] == value
    # Newer kernels append; the header here may be older than the kernel.
    assert len(ProgType) >= len(names)


def test_attach_type_ids_match_uapi() -> None:
    names = _enum("bpf_attach_type")
    for value, name in enumerate(names):
        assert AttachType[name.removeprefix("BPF_")] == value


def test_every_prog_type_has_info_and_a_unique_name() -> None:
    assert set(PROG_TYPES) == set(ProgType) - {ProgType.UNSPEC}
    names = [i.name for i in PROG_TYPES.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name, ptype", [
    ("socket_filter", ProgType.SOCKET_FILTER), ("kprobe", ProgType.KPROBE), ("sched_cls", ProgType.SCHED_CLS),
    ("sched_act", ProgType.SCHED_ACT), ("tracepoint", ProgType.TRACEPOINT), ("xdp", ProgType.XDP),
    ("perf_event", ProgType.PERF_EVENT), ("cgroup_skb", ProgType.CGROUP_SKB),
    ("cgroup_sock", ProgType.CGROUP_SOCK), ("lwt_in", ProgType.LWT_IN),
    ("raw_tracepoint", ProgType.RAW_TRACEPOINT), ("syscall", ProgType.SYSCALL), ("tc", ProgType.SCHED_CLS),
    ("XDP", ProgType.XDP), ("raw_tp", ProgType.RAW_TRACEPOINT),
])
def test_lookup_by_name(name: str, ptype: ProgType) -> None:
    assert prog_type_info(name).type is ptype
    assert prog_type_info(int(ptype)).type is ptype


def test_unknown_prog_type_is_a_pybpf_error() -> None:
    with pytest.raises(UnknownProgTypeError) as exc:
        prog_type_info("nonesuch")
    assert isinstance(exc.value, PyBpfError) and isinstance(exc.value, ValueError)
    assert "xdp" in str(exc.value)
    with pytest.raises(UnknownProgTypeError):
        prog_type_info(999)


def test_packet_access_and_ld_abs() -> None:
    names = ("socket_filter", "sched_cls", "xdp", "cgroup_skb", "kprobe")
    sf, tc, xdp, cg, kp = (prog_type_info(n) for n in names)
    assert sf.ld_abs and tc.ld_abs and not xdp.ld_abs and not kp.ld_abs  # may_access_skb()
    assert not sf.pkt_read and tc.pkt_write and xdp.pkt_write
    assert cg.pkt_read and not cg.pkt_write  # cgroup_skb reads packets directly, never writes
    assert xdp.ret_codes[2] == "XDP_PASS" and tc.ret_codes[2] == "TC_ACT_SHOT"
    assert sf.ret_meaning == "bytes"
    assert tc.data_meta and xdp.data_meta and not sf.data_meta and not cg.data_meta


def test_return_ranges() -> None:
    assert return_range(ProgType.CGROUP_SKB) == (0, 1)
    assert return_range(ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS) == (0, 3)
    assert return_range(ProgType.XDP) is None  # any value; the driver interprets it
    assert return_range(ProgType.SOCKET_FILTER) is None
    assert return_range(ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP4_RECVMSG) == (1, 1)
    assert return_range(ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_BIND) == (0, 3)
    assert return_range(ProgType.TRACING, AttachType.TRACE_FENTRY) == (0, 0)
    assert return_range(ProgType.SK_LOOKUP) == (0, 1)
    assert LINUX.return_range("cgroup_sock") == (0, 1)


@pytest.mark.parametrize("section, ptype, attach", [
    ("socket", ProgType.SOCKET_FILTER, None),
    ("xdp", ProgType.XDP, AttachType.XDP),
    ("xdp.frags", ProgType.XDP, AttachType.XDP),
    ("xdp/devmap", ProgType.XDP, AttachType.XDP_DEVMAP),
    ("xdp.frags/cpumap", ProgType.XDP, AttachType.XDP_CPUMAP),
    ("tc", ProgType.SCHED_CLS, None),
    ("classifier", ProgType.SCHED_CLS, None),
    ("action", ProgType.SCHED_ACT, None),
    ("tc/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS),
    ("tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS),
    ("kprobe/do_sys_open", ProgType.KPROBE, None),
    ("kprobe", ProgType.KPROBE, None),
    ("kretprobe/tcp_sendmsg", ProgType.KPROBE, None),
    ("uprobe//bin/bash:readline", ProgType.KPROBE, None),
    ("kprobe.multi/tcp_*", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
    ("tracepoint/syscalls/sys_enter_open", ProgType.TRACEPOINT, None),
    ("tp/sched/sched_switch", ProgType.TRACEPOINT, None),
    ("raw_tp/sched_switch", ProgType.RAW_TRACEPOINT, None),
    ("raw_tracepoint/sys_enter", ProgType.RAW_TRACEPOINT, None),
    ("raw_tp.w/bpf_test_finish", ProgType.RAW_TRACEPOINT_WRITABLE, None),
    ("fentry/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY),
    ("fexit/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FEXIT),
    ("fentry.s/do_unlinkat", ProgType.TRACING, AttachType.TRACE_FENTRY),
    ("perf_event", ProgType.PERF_EVENT, None),
    ("cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS),
    ("cgroup_skb/egress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS),
    ("cgroup/skb", ProgType.CGROUP_SKB, None),
    ("cgroup/sock", ProgType.CGROUP_SOCK, AttachType.CGROUP_INET_SOCK_CREATE),
    ("cgroup/connect4", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT),
    ("sk_skb/stream_parser", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_PARSER),
    ("sk_skb/stream_verdict", ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT),
    ("sk_skb", ProgType.SK_SKB, None),
    ("sk_msg", ProgType.SK_MSG, AttachType.SK_MSG_VERDICT),
    ("syscall", ProgType.SYSCALL, None),
    ("lwt_in", ProgType.LWT_IN, None),
    ("lwt_out", ProgType.LWT_OUT, None),
    ("lwt_xmit", ProgType.LWT_XMIT, None),
    ("flow_dissector", ProgType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR),
    ("sk_lookup", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP),
    ("sockops", ProgType.SOCK_OPS, AttachType.CGROUP_SOCK_OPS),
    ("lsm/file_open", ProgType.LSM, AttachType.LSM_MAC),
    ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER),
    ("struct_ops/dctcp_init", ProgType.STRUCT_OPS, None),
])
def test_section_names(section: str, ptype: ProgType, attach: AttachType | None) -> None:
    match = resolve_section(section)
    assert (match.prog_type, match.attach) == (ptype, attach)


def test_section_sleepable_and_frags_flags() -> None:
    assert resolve_section("fentry.s/x").sec_def.sleepable
    assert not resolve_section("fentry/x").sec_def.sleepable
    assert resolve_section("xdp.frags").sec_def.xdp_frags
    assert resolve_section("kprobe/do_sys_open").target == "do_sys_open"


@pytest.mark.parametrize("section", ["kprobex", "xdp/foo", "socket/1", "tcx", "", "classifier/x", "fentry_x"])
def test_sections_libbpf_rejects(section: str) -> None:
    with pytest.raises(UnknownSectionError):
        resolve_section(section)


def test_section_defs_are_unique() -> None:
    secs = [d.sec for d in SECTION_DEFS]
    assert len(secs) == len(set(secs))


def test_switch_fallbacks_exist_and_protos_resolve() -> None:
    from pybpf.platform.helpers import PROTOS

    for sw in SWITCHES.values():
        assert sw.fallback is None or sw.fallback in SWITCHES
        for table in [sw.cases, *(t for _, t in sw.gated)]:
            for hid, sym in table.items():
                assert sym in PROTOS, sym
                assert PROTOS[sym].id == hid, (sym, hid)


def test_capability_tiers_of_the_base_set() -> None:
    # Unprivileged programs get map helpers but not spin locks or trace_printk.
    assert resolve_helper("sk_filter_func_proto", 1, Cap.NONE) == "bpf_map_lookup_elem_proto"
    assert resolve_helper("sk_filter_func_proto", 93, Cap.NONE) is None  # spin_lock
    assert resolve_helper("sk_filter_func_proto", 93, Cap.BPF) == "bpf_spin_lock_proto"
    assert resolve_helper("sk_filter_func_proto", 6, Cap.BPF) is None  # trace_printk
    assert resolve_helper("sk_filter_func_proto", 6, Cap.PERFMON) == "bpf_trace_printk_proto"
    # skc_to_* need CAP_PERFMON and do not fall through to the base set.
    assert resolve_helper("tc_cls_act_func_proto", 137, Cap.BPF) is None
    assert resolve_helper("tc_cls_act_func_proto", 9999) is None
