"""Helper prototypes: ids and names, the kernel's sanity rules, spot checks, map rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pybpf.isa.helper_ids import HelperId
from pybpf.maps.spec import MapType
from pybpf.platform import LINUX, PROTOS, ArgType, RegType, RetType, TypeFlag, reg_type_str
from pybpf.platform.helpers import DEFAULT_PROTO, HelperProto, map_func_incompatibility, proto
from pybpf.platform.platform import HelperNotAllowedError
from pybpf.platform.types import ArgSpec, RetSpec

H = HelperId

# The helpers pybpf's brief names; each needs a prototype.
NAMED = [
    "map_lookup_elem", "map_update_elem", "map_delete_elem", "map_push_elem", "map_pop_elem",
    "map_peek_elem", "probe_read", "probe_read_kernel", "probe_read_user", "probe_read_str",
    "probe_read_kernel_str", "probe_read_user_str", "ktime_get_ns", "ktime_get_boot_ns",
    "ktime_get_coarse_ns", "jiffies64", "get_prandom_u32", "get_smp_processor_id", "get_numa_node_id",
    "trace_printk", "trace_vprintk", "tail_call", "get_current_pid_tgid", "get_current_uid_gid",
    "get_current_comm", "perf_event_output", "ringbuf_output", "ringbuf_reserve", "ringbuf_submit",
    "ringbuf_discard", "ringbuf_query", "skb_load_bytes", "skb_store_bytes", "l3_csum_replace",
    "l4_csum_replace", "csum_diff", "skb_change_head", "skb_change_tail", "skb_vlan_push", "skb_vlan_pop",
    "xdp_adjust_head", "xdp_adjust_tail", "xdp_adjust_meta", "redirect", "redirect_map", "clone_redirect",
    "fib_lookup", "spin_lock", "spin_unlock", "loop", "snprintf", "strncmp", "get_func_ip", "sk_lookup_tcp",
    "sk_lookup_udp", "sk_release", "skc_lookup_tcp", "get_hash_recalc", "get_cgroup_classid",
    "get_route_realm", "skb_pull_data", "csum_update", "set_hash", "get_socket_cookie", "ktime_get_tai_ns",
    "for_each_map_elem", "timer_init", "timer_set_callback", "timer_start", "timer_cancel",
]


@pytest.mark.parametrize("name", NAMED)
def test_named_helpers_have_a_prototype(name: str) -> None:
    p = proto(int(H[name]))
    assert p.id is H[name]
    assert p.name == f"bpf_{name}"
    assert p.log_name == f"bpf_{name}#{int(H[name])}"


@pytest.mark.parametrize("symbol", sorted(PROTOS))
def test_every_proto_passes_the_kernels_sanity_checks(symbol: str) -> None:
    p = PROTOS[symbol]
    assert p.check_proto() == []
    assert p.symbol == symbol
    assert isinstance(p.id, HelperId) and p.id != H.unspec
    assert len(p.args) <= 5


def test_default_proto_is_one_of_the_kernels() -> None:
    for hid, p in DEFAULT_PROTO.items():
        assert p.id is hid and PROTOS[p.symbol] is p


def _helper_defs() -> dict[str, tuple[int, bool]]:
    path = Path("/usr/include/bpf/bpf_helper_defs.h")
    if not path.exists():
        pytest.skip("libbpf's bpf_helper_defs.h is not installed")
    found = {}
    for m in re.finditer(r"\(\s*\*\s*(?:const\s+)?bpf_(\w+)\)\((.*?)\)\s*=\s*\(void \*\)\s*(\d+);",
                         path.read_text(), flags=re.S):
        params = [p.strip() for p in m.group(2).split(",") if p.strip() and p.strip() != "void"]
        variadic = "..." in params
        found[m.group(1)] = (len([p for p in params if p != "..."]), variadic)
        assert H[m.group(1)] == int(m.group(3))  # ids agree with libbpf as well
    return found


def test_argument_counts_match_libbpf_declarations() -> None:
    defs = _helper_defs()
    for sym, p in PROTOS.items():
        decl = defs.get(p.id.name)
        if decl is None:
            continue
        count, variadic = decl
        # trace_printk's extra args are variadic (the kernel declares two);
        # the "current task" variant of get_cgroup_classid ignores its skb.
        if variadic or sym == "bpf_get_cgroup_classid_curr_proto":
            assert len(p.args) <= count, sym
        else:
            assert len(p.args) == count, sym


def test_arg_spec_kernel_values_and_names() -> None:
    uninit = PROTOS["bpf_skb_load_bytes_proto"].args[2]
    assert uninit.kernel_name == "ARG_PTR_TO_UNINIT_MEM"
    assert uninit.raw == ArgType.ARG_PTR_TO_MEM | TypeFlag.MEM_UNINIT | TypeFlag.MEM_WRITE
    assert uninit.is_raw_mem and not uninit.may_be_null
    ro = PROTOS["bpf_skb_store_bytes_proto"].args[2]
    assert ro.kernel_name == "ARG_PTR_TO_MEM | MEM_RDONLY"
    value_or_null = ArgSpec(ArgType.ARG_PTR_TO_MAP_VALUE, TypeFlag.PTR_MAYBE_NULL)
    assert str(value_or_null) == "ARG_PTR_TO_MAP_VALUE_OR_NULL"
    assert str(RetSpec(RetType.RET_PTR_TO_MEM, TypeFlag.PTR_MAYBE_NULL | TypeFlag.MEM_RINGBUF)) == \
        "RET_PTR_TO_RINGBUF_MEM_OR_NULL"


def test_legacy_long_and_int_args_are_the_modern_fixed_size_memory() -> None:
    from pybpf.platform.types import ARG_PTR_TO_INT, ARG_PTR_TO_LONG

    assert proto(H.strtol).args[3] == ARG_PTR_TO_LONG
    assert PROTOS["bpf_skb_check_mtu_proto"].args[2] == ARG_PTR_TO_INT


def test_map_helpers() -> None:
    lookup = proto(H.map_lookup_elem)
    assert [a.type for a in lookup.args] == [ArgType.ARG_CONST_MAP_PTR, ArgType.ARG_PTR_TO_MAP_KEY]
    assert lookup.ret.kernel_name == "RET_PTR_TO_MAP_VALUE_OR_NULL" and lookup.pkt_access
    assert not lookup.acquires and lookup.acquires_with(MapType.SOCKMAP)
    pop = proto(H.map_pop_elem)
    assert pop.args[1].type is ArgType.ARG_PTR_TO_MAP_VALUE and TypeFlag.MEM_UNINIT in pop.args[1].flags
    assert proto(H.map_update_elem).args[3].type is ArgType.ARG_ANYTHING


def test_ringbuf_reference_tracking() -> None:
    reserve = proto(H.ringbuf_reserve)
    assert reserve.acquires and reserve.ret.is_ringbuf_mem and reserve.ret.may_be_null
    assert reserve.args[1].type is ArgType.ARG_CONST_ALLOC_SIZE_OR_ZERO and reserve.ret_size_regno == 2
    assert proto(H.ringbuf_output).ret_size_regno is None
    for hid in (H.ringbuf_submit, H.ringbuf_discard):
        p = proto(hid)
        assert p.release_regno == 1 and p.ret.type is RetType.RET_VOID
        assert p.args[0].type is ArgType.ARG_PTR_TO_RINGBUF_MEM and p.args[0].is_release
    assert proto(H.sk_release).release_regno == 1
    assert proto(H.sk_lookup_tcp).acquires and proto(H.skc_lookup_tcp).ret.kernel_name == \
        "RET_PTR_TO_SOCK_COMMON_OR_NULL"
    assert proto(H.tcp_sock).ptr_cast and proto(H.loop).calls_back
    assert proto(H.timer_set_callback).async_callback


def test_flags_the_verifier_needs() -> None:
    assert proto(H.trace_printk).gpl_only and not proto(H.map_lookup_elem).gpl_only
    assert proto(H.skb_store_bytes).changes_pkt_data and not proto(H.skb_load_bytes).changes_pkt_data
    assert proto(H.xdp_adjust_head).changes_pkt_data
    assert proto(H.copy_from_user).might_sleep
    assert PROTOS["bpf_get_smp_processor_id_proto"].allow_fastcall
    assert proto(H.spin_lock).args[0].type is ArgType.ARG_PTR_TO_SPIN_LOCK
    assert proto(H.snprintf).args[2].type is ArgType.ARG_PTR_TO_CONST_STR
    assert proto(H.strncmp).args[2].type is ArgType.ARG_PTR_TO_CONST_STR
    assert proto(H.loop).args[1].type is ArgType.ARG_PTR_TO_FUNC


def test_prototype_differs_per_prog_type() -> None:
    skb = LINUX.helper_proto("socket_filter", H.perf_event_output)
    kp = LINUX.helper_proto("kprobe", H.perf_event_output)
    raw = LINUX.helper_proto("raw_tracepoint", H.perf_event_output)
    assert skb is not None and kp is not None and raw is not None
    assert {skb.symbol, kp.symbol, raw.symbol} == {
        "bpf_skb_event_output_proto", "bpf_perf_event_output_proto", "bpf_perf_event_output_proto_raw_tp"}
    stack = LINUX.helper_proto("raw_tracepoint", H.get_stack)
    assert stack is not None and stack.args[1].kernel_name == "ARG_PTR_TO_MEM | MEM_RDONLY"
    assert LINUX.helper_proto("xdp", H.redirect).symbol == "bpf_xdp_redirect_proto"  # type: ignore[union-attr]


def test_which_program_types_may_call_what() -> None:
    assert LINUX.helper_proto("socket_filter", H.probe_read) is None
    assert LINUX.helper_proto("kprobe", H.probe_read) is not None
    assert LINUX.helper_proto("socket_filter", H.skb_store_bytes) is None
    assert LINUX.helper_proto("sched_cls", H.skb_store_bytes) is not None
    assert LINUX.helper_proto("xdp", H.xdp_adjust_head) is not None
    assert LINUX.helper_proto("sched_cls", H.xdp_adjust_head) is None
    assert LINUX.helper_proto("kprobe", H.get_stackid) is not None
    assert LINUX.helper_proto("socket_filter", H.get_stackid) is None
    with pytest.raises(HelperNotAllowedError, match="cannot use helper bpf_skb_store_bytes#9"):
        LINUX.require_helper("socket_filter", H.skb_store_bytes)
    with pytest.raises(HelperNotAllowedError, match="invalid func unknown#9999"):
        LINUX.require_helper("socket_filter", 9999)
    assert isinstance(LINUX.require_helper("xdp", H.redirect_map), HelperProto)


def test_map_func_compatibility() -> None:
    assert map_func_incompatibility(MapType.PROG_ARRAY, H.tail_call) is None
    assert map_func_incompatibility(MapType.HASH, H.tail_call) == \
        "cannot pass map_type 1 into func bpf_tail_call#12"
    assert map_func_incompatibility(MapType.PROG_ARRAY, H.map_lookup_elem) == \
        "cannot pass map_type 3 into func bpf_map_lookup_elem#1"
    assert map_func_incompatibility(MapType.HASH, H.map_lookup_elem) is None
    assert map_func_incompatibility(MapType.RINGBUF, H.ringbuf_reserve) is None
    assert map_func_incompatibility(MapType.RINGBUF, H.map_lookup_elem) is not None
    assert map_func_incompatibility(MapType.ARRAY, H.ringbuf_output) is not None
    assert map_func_incompatibility(MapType.QUEUE, H.map_push_elem) is None
    assert map_func_incompatibility(MapType.BLOOM_FILTER, H.map_push_elem) is None
    assert map_func_incompatibility(MapType.BLOOM_FILTER, H.map_pop_elem) is not None
    assert map_func_incompatibility(MapType.DEVMAP, H.redirect_map) is None
    assert map_func_incompatibility(MapType.SOCKMAP, H.map_update_elem) is not None
    assert map_func_incompatibility(MapType.SOCKMAP, H.map_update_elem, may_update_sockmap=True) is None
    assert map_func_incompatibility(MapType.PERF_EVENT_ARRAY, H.perf_event_output) is None
    assert LINUX.map_func_incompatibility(MapType.ARRAY, H.perf_event_output) is not None


def test_platform_uses_the_one_map_type_enum() -> None:
    from pybpf.platform import helpers

    assert helpers.MapType is MapType


def test_reg_type_names() -> None:
    assert reg_type_str(RegType.PTR_TO_PACKET) == "pkt"
    ringbuf = TypeFlag.MEM_RINGBUF | TypeFlag.PTR_MAYBE_NULL
    assert reg_type_str(RegType.PTR_TO_MEM, ringbuf) == "ringbuf_mem_or_null"
    assert reg_type_str(RegType.PTR_TO_BTF_ID, TypeFlag.PTR_MAYBE_NULL) == "ptr_or_null_"
    assert reg_type_str(RegType.CONST_PTR_TO_MAP) == "map_ptr"
