"""Program types: ids, attach types, what each may do, and libbpf's section names.

Three kinds of data live here, all per program type:

* :class:`ProgType` / :class:`AttachType` -- ``enum bpf_prog_type`` and
  ``enum bpf_attach_type`` of uapi/linux/bpf.h, with the kernel's numbers.
* The ``*_func_proto(func_id, prog)`` switches of net/core/filter.c,
  kernel/trace/bpf_trace.c and kernel/bpf/helpers.c as :class:`FuncProtoSwitch`
  tables: helper id -> kernel proto symbol (a key of
  :data:`pybpf.platform.helpers.PROTOS`), with the capability tiers of
  ``bpf_base_func_proto`` (CAP_BPF, then CAP_PERFMON).
* :class:`ProgTypeInfo`: name, context layout, return-code rules
  (check_return_code), direct packet access (may_access_direct_pkt_data),
  LD_ABS/LD_IND (may_access_skb), and :data:`SECTION_DEFS`, libbpf's
  ``section_defs[]`` for ELF section names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import PyBpfError
from ..isa.helper_ids import HelperId

__all__ = [
    "CONFIG_DEPENDENT",
    "PROG_TYPES",
    "SECTION_DEFS",
    "SWITCHES",
    "AttachType",
    "Cap",
    "FuncProtoSwitch",
    "ProgType",
    "ProgTypeInfo",
    "SecDef",
    "SectionMatch",
    "UnknownProgTypeError",
    "UnknownSectionError",
    "allowed_helpers",
    "prog_type_info",
    "resolve_helper",
    "resolve_section",
    "return_range",
]


class UnknownProgTypeError(PyBpfError, ValueError):
    """A program type name or id pybpf does not know."""


class UnknownSectionError(PyBpfError, ValueError):
    """An ELF section name that matches none of libbpf's section definitions."""


class ProgType(IntEnum):
    """``enum bpf_prog_type``."""

    UNSPEC = 0
    SOCKET_FILTER = 1
    KPROBE = 2
    SCHED_CLS = 3
    SCHED_ACT = 4
    TRACEPOINT = 5
    XDP = 6
    PERF_EVENT = 7
    CGROUP_SKB = 8
    CGROUP_SOCK = 9
    LWT_IN = 10
    LWT_OUT = 11
    LWT_XMIT = 12
    SOCK_OPS = 13
    SK_SKB = 14
    CGROUP_DEVICE = 15
    SK_MSG = 16
    RAW_TRACEPOINT = 17
    CGROUP_SOCK_ADDR = 18
    LWT_SEG6LOCAL = 19
    LIRC_MODE2 = 20
    SK_REUSEPORT = 21
    FLOW_DISSECTOR = 22
    CGROUP_SYSCTL = 23
    RAW_TRACEPOINT_WRITABLE = 24
    CGROUP_SOCKOPT = 25
    TRACING = 26
    STRUCT_OPS = 27
    EXT = 28
    LSM = 29
    SK_LOOKUP = 30
    SYSCALL = 31
    NETFILTER = 32


class AttachType(IntEnum):
    """``enum bpf_attach_type`` (``expected_attach_type`` at load time)."""

    CGROUP_INET_INGRESS = 0
    CGROUP_INET_EGRESS = 1
    CGROUP_INET_SOCK_CREATE = 2
    CGROUP_SOCK_OPS = 3
    SK_SKB_STREAM_PARSER = 4
    SK_SKB_STREAM_VERDICT = 5
    CGROUP_DEVICE = 6
    SK_MSG_VERDICT = 7
    CGROUP_INET4_BIND = 8
    CGROUP_INET6_BIND = 9
    CGROUP_INET4_CONNECT = 10
    CGROUP_INET6_CONNECT = 11
    CGROUP_INET4_POST_BIND = 12
    CGROUP_INET6_POST_BIND = 13
    CGROUP_UDP4_SENDMSG = 14
    CGROUP_UDP6_SENDMSG = 15
    LIRC_MODE2 = 16
    FLOW_DISSECTOR = 17
    CGROUP_SYSCTL = 18
    CGROUP_UDP4_RECVMSG = 19
    CGROUP_UDP6_RECVMSG = 20
    CGROUP_GETSOCKOPT = 21
    CGROUP_SETSOCKOPT = 22
    TRACE_RAW_TP = 23
    TRACE_FENTRY = 24
    TRACE_FEXIT = 25
    MODIFY_RETURN = 26
    LSM_MAC = 27
    TRACE_ITER = 28
    CGROUP_INET4_GETPEERNAME = 29
    CGROUP_INET6_GETPEERNAME = 30
    CGROUP_INET4_GETSOCKNAME = 31
    CGROUP_INET6_GETSOCKNAME = 32
    XDP_DEVMAP = 33
    CGROUP_INET_SOCK_RELEASE = 34
    XDP_CPUMAP = 35
    SK_LOOKUP = 36
    XDP = 37
    SK_SKB_VERDICT = 38
    SK_REUSEPORT_SELECT = 39
    SK_REUSEPORT_SELECT_OR_MIGRATE = 40
    PERF_EVENT = 41
    TRACE_KPROBE_MULTI = 42
    LSM_CGROUP = 43
    STRUCT_OPS = 44
    NETFILTER = 45
    TCX_INGRESS = 46
    TCX_EGRESS = 47
    TRACE_UPROBE_MULTI = 48
    CGROUP_UNIX_CONNECT = 49
    CGROUP_UNIX_SENDMSG = 50
    CGROUP_UNIX_RECVMSG = 51
    CGROUP_UNIX_GETPEERNAME = 52
    CGROUP_UNIX_GETSOCKNAME = 53
    NETKIT_PRIMARY = 54
    NETKIT_PEER = 55
    TRACE_KPROBE_SESSION = 56
    TRACE_UPROBE_SESSION = 57


class Cap(IntEnum):
    """The capability tiers of ``bpf_base_func_proto`` (each implies the ones below)."""

    NONE = 0
    BPF = 1  # CAP_BPF (or a token granting it)
    PERFMON = 2  # CAP_PERFMON as well


@dataclass(frozen=True)
class FuncProtoSwitch:
    """One kernel ``*_func_proto()`` function as data.

    Lookup order is the C code's: ``cases``; then ``gated`` tiers (an id in a
    tier resolves only with that capability, and never falls through);
    then ``fallback`` (the name of the switch in the ``default:`` branch).
    """

    name: str
    cases: Mapping[HelperId, str]
    fallback: str | None = None
    gated: tuple[tuple[Cap, Mapping[HelperId, str]], ...] = ()


_H = HelperId


def _std(*ids: HelperId) -> dict[HelperId, str]:
    """Cases that return the helper's own ``bpf_<name>_proto``."""
    return {i: f"bpf_{i.name}_proto" for i in ids}


_BASE = FuncProtoSwitch(
    "bpf_base_func_proto",
    {
        **_std(_H.map_lookup_elem, _H.map_update_elem, _H.map_delete_elem, _H.map_push_elem,
               _H.map_pop_elem, _H.map_peek_elem, _H.map_lookup_percpu_elem, _H.get_prandom_u32,
               _H.get_numa_node_id, _H.tail_call, _H.ktime_get_ns, _H.ktime_get_boot_ns,
               _H.ktime_get_tai_ns, _H.ringbuf_output, _H.ringbuf_reserve, _H.ringbuf_submit,
               _H.ringbuf_discard, _H.ringbuf_query, _H.strncmp, _H.strtol, _H.strtoul,
               _H.get_current_pid_tgid, _H.get_ns_current_pid_tgid),
        _H.get_smp_processor_id: "bpf_get_raw_smp_processor_id_proto",
    },
    gated=(
        (Cap.BPF, _std(
            _H.spin_lock, _H.spin_unlock, _H.jiffies64, _H.per_cpu_ptr, _H.this_cpu_ptr,
            _H.timer_init, _H.timer_set_callback, _H.timer_start, _H.timer_cancel, _H.kptr_xchg,
            _H.for_each_map_elem, _H.loop, _H.user_ringbuf_drain, _H.ringbuf_reserve_dynptr,
            _H.ringbuf_submit_dynptr, _H.ringbuf_discard_dynptr, _H.dynptr_from_mem, _H.dynptr_read,
            _H.dynptr_write, _H.dynptr_data, _H.cgrp_storage_get, _H.cgrp_storage_delete,
            _H.get_current_cgroup_id, _H.get_current_ancestor_cgroup_id)),
        # The tracing helpers moved here from bpf_tracing_func_proto in 6.16;
        # the running kernel (as root) confirms the set, not the tier.
        (Cap.PERFMON, {**_std(
            _H.trace_printk, _H.get_current_task, _H.get_current_task_btf, _H.probe_read_user,
            _H.probe_read_kernel, _H.probe_read_user_str, _H.probe_read_kernel_str, _H.snprintf_btf,
            _H.snprintf, _H.task_pt_regs, _H.trace_vprintk, _H.get_current_uid_gid,
            _H.get_current_comm, _H.perf_event_read, _H.current_task_under_cgroup,
            _H.perf_event_read_value, _H.send_signal, _H.send_signal_thread, _H.get_task_stack,
            _H.copy_from_user, _H.copy_from_user_task, _H.task_storage_get, _H.task_storage_delete,
            _H.get_branch_snapshot, _H.find_vma),
            _H.get_cgroup_classid: "bpf_get_cgroup_classid_curr_proto"}),
    ),
)

_SK_BASE = FuncProtoSwitch(
    "bpf_sk_base_func_proto",
    _std(_H.ktime_get_coarse_ns),
    "bpf_base_func_proto",
    gated=((Cap.PERFMON, _std(
        _H.skc_to_tcp6_sock, _H.skc_to_tcp_sock, _H.skc_to_tcp_timewait_sock,
        _H.skc_to_tcp_request_sock, _H.skc_to_udp6_sock, _H.skc_to_unix_sock, _H.skc_to_mptcp_sock)),),
)

_SK_FILTER = FuncProtoSwitch(
    "sk_filter_func_proto",
    {**_std(_H.skb_load_bytes, _H.skb_load_bytes_relative, _H.get_socket_cookie, _H.get_socket_uid,
            _H.get_netns_cookie),
     _H.perf_event_output: "bpf_skb_event_output_proto"},
    "bpf_sk_base_func_proto",
)

_INET_LOOKUP = _std(_H.sk_lookup_tcp, _H.sk_lookup_udp, _H.sk_release, _H.skc_lookup_tcp)

_CG_SKB = FuncProtoSwitch(
    "cg_skb_func_proto",
    {**_std(_H.get_local_storage, _H.sk_fullsock, _H.sk_storage_get, _H.sk_storage_delete,
            _H.skb_cgroup_id, _H.skb_ancestor_cgroup_id, _H.sk_cgroup_id, _H.sk_ancestor_cgroup_id,
            _H.tcp_sock, _H.get_listener_sock, _H.skb_ecn_set_ce),
     **_INET_LOOKUP,
     _H.perf_event_output: "bpf_skb_event_output_proto"},
    "sk_filter_func_proto",
)

_TC = FuncProtoSwitch(
    "tc_cls_act_func_proto",
    {**_std(_H.skb_store_bytes, _H.skb_load_bytes, _H.skb_load_bytes_relative, _H.skb_pull_data,
            _H.csum_diff, _H.csum_update, _H.csum_level, _H.l3_csum_replace, _H.l4_csum_replace,
            _H.clone_redirect, _H.get_cgroup_classid, _H.skb_vlan_push, _H.skb_vlan_pop,
            _H.skb_change_type, _H.skb_adjust_room, _H.skb_change_tail, _H.skb_change_head,
            _H.skb_get_tunnel_key, _H.skb_set_tunnel_key, _H.skb_get_tunnel_opt, _H.skb_set_tunnel_opt,
            _H.redirect, _H.redirect_neigh, _H.redirect_peer, _H.get_route_realm, _H.get_hash_recalc,
            _H.set_hash_invalid, _H.set_hash, _H.get_smp_processor_id, _H.skb_under_cgroup,
            _H.get_socket_cookie, _H.get_socket_uid, _H.sk_fullsock, _H.sk_storage_get,
            _H.sk_storage_delete, _H.skb_get_xfrm_state, _H.skb_cgroup_classid, _H.skb_cgroup_id,
            _H.skb_ancestor_cgroup_id, _H.tcp_sock, _H.get_listener_sock, _H.tcp_check_syncookie,
            _H.get_netns_cookie,
            _H.skb_ecn_set_ce, _H.tcp_gen_syncookie, _H.sk_assign, _H.skb_set_tstamp,
            _H.tcp_raw_gen_syncookie_ipv4, _H.tcp_raw_gen_syncookie_ipv6,
            _H.tcp_raw_check_syncookie_ipv4, _H.tcp_raw_check_syncookie_ipv6),
     **_INET_LOOKUP,
     _H.skb_change_proto: "bpf_skb_change_proto_proto",
     _H.perf_event_output: "bpf_skb_event_output_proto",
     _H.fib_lookup: "bpf_skb_fib_lookup_proto",
     _H.check_mtu: "bpf_skb_check_mtu_proto"},
    "bpf_sk_base_func_proto",
)

_XDP = FuncProtoSwitch(
    "xdp_func_proto",
    {**_std(_H.get_smp_processor_id, _H.csum_diff, _H.xdp_adjust_head, _H.xdp_adjust_meta,
            _H.xdp_adjust_tail, _H.xdp_get_buff_len, _H.xdp_load_bytes, _H.xdp_store_bytes,
            _H.sk_release, _H.tcp_check_syncookie, _H.tcp_gen_syncookie,
            _H.tcp_raw_gen_syncookie_ipv4, _H.tcp_raw_gen_syncookie_ipv6,
            _H.tcp_raw_check_syncookie_ipv4, _H.tcp_raw_check_syncookie_ipv6),
     _H.perf_event_output: "bpf_xdp_event_output_proto",
     _H.redirect: "bpf_xdp_redirect_proto",
     _H.redirect_map: "bpf_xdp_redirect_map_proto",
     _H.fib_lookup: "bpf_xdp_fib_lookup_proto",
     _H.check_mtu: "bpf_xdp_check_mtu_proto",
     _H.sk_lookup_udp: "bpf_xdp_sk_lookup_udp_proto",
     _H.sk_lookup_tcp: "bpf_xdp_sk_lookup_tcp_proto",
     _H.skc_lookup_tcp: "bpf_xdp_skc_lookup_tcp_proto"},
    "bpf_sk_base_func_proto",
)

_CGROUP_CURRENT = {
    **_std(_H.get_current_pid_tgid, _H.get_current_comm, _H.get_current_cgroup_id,
           _H.get_current_ancestor_cgroup_id),
    _H.get_cgroup_classid: "bpf_get_cgroup_classid_curr_proto",
    _H.perf_event_output: "bpf_event_output_data_proto",
}

_SOCK_FILTER = FuncProtoSwitch(
    "sock_filter_func_proto",
    {**_CGROUP_CURRENT,
     # get_retval/set_retval: cgroup_common_func_proto(), consulted before the base set.
     **_std(_H.get_current_uid_gid, _H.get_local_storage, _H.ktime_get_coarse_ns, _H.get_retval,
            _H.set_retval),
     _H.get_socket_cookie: "bpf_get_socket_cookie_sock_proto",
     _H.get_netns_cookie: "bpf_get_netns_cookie_sock_proto",
     _H.sk_storage_get: "bpf_sk_storage_get_cg_sock_proto"},
    "bpf_base_func_proto",
)

_SOCK_OPS = FuncProtoSwitch(
    "sock_ops_func_proto",
    {**_std(_H.sock_map_update, _H.sock_hash_update, _H.get_local_storage, _H.sk_storage_get,
            _H.sk_storage_delete, _H.tcp_sock),
     _H.setsockopt: "bpf_sock_ops_setsockopt_proto",
     _H.getsockopt: "bpf_sock_ops_getsockopt_proto",
     _H.sock_ops_cb_flags_set: "bpf_sock_ops_cb_flags_set_proto",
     _H.get_socket_cookie: "bpf_get_socket_cookie_sock_ops_proto",
     _H.perf_event_output: "bpf_event_output_data_proto",
     _H.get_netns_cookie: "bpf_get_netns_cookie_sock_ops_proto",
     _H.load_hdr_opt: "bpf_sock_ops_load_hdr_opt_proto",
     _H.store_hdr_opt: "bpf_sock_ops_store_hdr_opt_proto",
     _H.reserve_hdr_opt: "bpf_sock_ops_reserve_hdr_opt_proto"},
    "bpf_sk_base_func_proto",
)

_SK_MSG = FuncProtoSwitch(
    "sk_msg_func_proto",
    {**_std(_H.msg_redirect_map, _H.msg_redirect_hash, _H.msg_apply_bytes, _H.msg_cork_bytes,
            _H.msg_pull_data, _H.msg_push_data, _H.msg_pop_data, _H.get_current_uid_gid,
            _H.get_current_pid_tgid, _H.sk_storage_get, _H.sk_storage_delete,
            _H.get_current_cgroup_id, _H.get_current_ancestor_cgroup_id),
     _H.perf_event_output: "bpf_event_output_data_proto",
     _H.get_netns_cookie: "bpf_get_netns_cookie_sk_msg_proto",
     _H.get_cgroup_classid: "bpf_get_cgroup_classid_curr_proto"},
    "bpf_sk_base_func_proto",
)

_SK_SKB = FuncProtoSwitch(
    "sk_skb_func_proto",
    {**_std(_H.skb_store_bytes, _H.skb_load_bytes, _H.get_socket_cookie, _H.get_socket_uid,
            _H.sk_redirect_map, _H.sk_redirect_hash),
     **_INET_LOOKUP,
     _H.skb_pull_data: "sk_skb_pull_data_proto",
     _H.skb_change_tail: "sk_skb_change_tail_proto",
     _H.skb_change_head: "sk_skb_change_head_proto",
     _H.skb_adjust_room: "sk_skb_adjust_room_proto",
     _H.perf_event_output: "bpf_skb_event_output_proto"},
    "bpf_sk_base_func_proto",
)

_FLOW_DISSECTOR = FuncProtoSwitch(
    "flow_dissector_func_proto",
    {_H.skb_load_bytes: "bpf_flow_dissector_load_bytes_proto"},
    "bpf_sk_base_func_proto",
)

_LWT_OUT = FuncProtoSwitch(
    "lwt_out_func_proto",
    {**_std(_H.skb_load_bytes, _H.skb_pull_data, _H.csum_diff, _H.get_cgroup_classid,
            _H.get_route_realm, _H.get_hash_recalc, _H.get_smp_processor_id, _H.skb_under_cgroup),
     _H.perf_event_output: "bpf_skb_event_output_proto"},
    "bpf_sk_base_func_proto",
)
_LWT_IN = FuncProtoSwitch("lwt_in_func_proto", {_H.lwt_push_encap: "bpf_lwt_in_push_encap_proto"},
                          "lwt_out_func_proto")
_LWT_XMIT = FuncProtoSwitch(
    "lwt_xmit_func_proto",
    {**_std(_H.skb_get_tunnel_key, _H.skb_set_tunnel_key, _H.skb_get_tunnel_opt, _H.skb_set_tunnel_opt,
            _H.redirect, _H.clone_redirect, _H.skb_change_tail, _H.skb_change_head, _H.skb_store_bytes,
            _H.csum_update, _H.csum_level, _H.l3_csum_replace, _H.l4_csum_replace, _H.set_hash_invalid),
     _H.lwt_push_encap: "bpf_lwt_xmit_push_encap_proto"},
    "lwt_out_func_proto",
)
_LWT_SEG6 = FuncProtoSwitch(
    "lwt_seg6local_func_proto",
    _std(_H.lwt_seg6_store_bytes, _H.lwt_seg6_action, _H.lwt_seg6_adjust_srh),
    "lwt_out_func_proto",
)

_TRACING = FuncProtoSwitch(
    "bpf_tracing_func_proto",
    {**_std(_H.map_lookup_elem, _H.map_update_elem, _H.map_delete_elem, _H.map_push_elem,
            _H.map_pop_elem, _H.map_peek_elem, _H.map_lookup_percpu_elem, _H.ktime_get_ns,
            _H.ktime_get_boot_ns, _H.tail_call, _H.get_current_pid_tgid, _H.get_current_task,
            _H.get_current_task_btf, _H.task_pt_regs, _H.get_current_uid_gid, _H.get_current_comm,
            _H.trace_printk, _H.get_smp_processor_id, _H.get_numa_node_id, _H.perf_event_read,
            _H.current_task_under_cgroup, _H.get_prandom_u32, _H.probe_write_user,
            _H.probe_read_user, _H.probe_read_kernel, _H.probe_read_user_str,
            _H.probe_read_kernel_str, _H.get_current_cgroup_id, _H.get_current_ancestor_cgroup_id,
            _H.cgrp_storage_get, _H.cgrp_storage_delete, _H.send_signal, _H.send_signal_thread,
            _H.perf_event_read_value, _H.get_ns_current_pid_tgid, _H.ringbuf_output,
            _H.ringbuf_reserve, _H.ringbuf_submit, _H.ringbuf_discard, _H.ringbuf_query,
            _H.jiffies64, _H.get_task_stack, _H.copy_from_user, _H.copy_from_user_task,
            _H.snprintf_btf, _H.per_cpu_ptr, _H.this_cpu_ptr, _H.task_storage_get,
            _H.task_storage_delete, _H.for_each_map_elem, _H.snprintf, _H.get_branch_snapshot,
            _H.find_vma, _H.trace_vprintk),
     _H.probe_read: "bpf_probe_read_compat_proto",
     _H.probe_read_str: "bpf_probe_read_compat_str_proto",
     _H.get_func_ip: "bpf_get_func_ip_proto_tracing"},
    "bpf_base_func_proto",
)

_KPROBE = FuncProtoSwitch(
    "kprobe_prog_func_proto",
    {**_std(_H.perf_event_output, _H.get_stackid, _H.get_stack, _H.override_return),
     _H.get_func_ip: "bpf_get_func_ip_proto_kprobe",
     _H.get_attach_cookie: "bpf_get_attach_cookie_proto_trace"},
    "bpf_tracing_func_proto",
)
_TP = FuncProtoSwitch(
    "tp_prog_func_proto",
    {_H.perf_event_output: "bpf_perf_event_output_proto_tp",
     _H.get_stackid: "bpf_get_stackid_proto_tp",
     _H.get_stack: "bpf_get_stack_proto_tp",
     _H.get_attach_cookie: "bpf_get_attach_cookie_proto_trace"},
    "bpf_tracing_func_proto",
)
_PE = FuncProtoSwitch(
    "pe_prog_func_proto",
    {**_std(_H.perf_prog_read_value, _H.read_branch_records),
     _H.perf_event_output: "bpf_perf_event_output_proto_tp",
     _H.get_stackid: "bpf_get_stackid_proto_pe",
     _H.get_stack: "bpf_get_stack_proto_pe",
     _H.get_attach_cookie: "bpf_get_attach_cookie_proto_pe"},
    "bpf_tracing_func_proto",
)
_RAW_TP = FuncProtoSwitch(
    "raw_tp_prog_func_proto",
    {_H.perf_event_output: "bpf_perf_event_output_proto_raw_tp",
     _H.get_stackid: "bpf_get_stackid_proto_raw_tp",
     _H.get_stack: "bpf_get_stack_proto_raw_tp",
     _H.get_attach_cookie: "bpf_get_attach_cookie_proto_tracing"},
    "bpf_tracing_func_proto",
)
# syscall_prog_func_proto: the syscall-issuing helpers, then the base set.
_SYSCALL = FuncProtoSwitch(
    "syscall_prog_func_proto",
    _std(_H.sys_bpf, _H.btf_find_by_name_kind, _H.sys_close, _H.kallsyms_lookup_name,
         _H.copy_from_user, _H.copy_from_user_task),
    "bpf_base_func_proto",
)

# Helpers a switch returns only when the kernel is configured for them; a
# kernel without the option answers "cannot use helper" instead.
CONFIG_DEPENDENT: dict[HelperId, str] = {
    _H.override_return: "CONFIG_BPF_KPROBE_OVERRIDE",
    _H.probe_write_user: "lockdown (LOCKDOWN_BPF_WRITE_USER) off",
    _H.probe_read_kernel: "lockdown (LOCKDOWN_BPF_READ_KERNEL) off",
    _H.probe_read_kernel_str: "lockdown (LOCKDOWN_BPF_READ_KERNEL) off",
    _H.probe_read: "lockdown off, CONFIG_ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE",
    _H.probe_read_str: "lockdown off, CONFIG_ARCH_HAS_NON_OVERLAPPING_ADDRESS_SPACE",
    _H.skb_get_xfrm_state: "CONFIG_XFRM",
    _H.lwt_seg6_store_bytes: "CONFIG_IPV6_SEG6_BPF",
    _H.lwt_seg6_action: "CONFIG_IPV6_SEG6_BPF",
    _H.lwt_seg6_adjust_srh: "CONFIG_IPV6_SEG6_BPF",
}

SWITCHES: dict[str, FuncProtoSwitch] = {
    s.name: s for s in (
        _BASE, _SK_BASE, _SK_FILTER, _CG_SKB, _TC, _XDP, _SOCK_FILTER, _SOCK_OPS, _SK_MSG, _SK_SKB,
        _FLOW_DISSECTOR, _LWT_OUT, _LWT_IN, _LWT_XMIT, _LWT_SEG6, _TRACING, _KPROBE, _TP, _PE, _RAW_TP,
        _SYSCALL,
    )
}


def resolve_helper(switch: str, helper_id: int, caps: Cap = Cap.PERFMON) -> str | None:
    """The proto symbol ``switch`` returns for ``helper_id`` with ``caps``, or None.

    None is the kernel's NULL: "program of this type cannot use helper".
    """
    try:
        hid = HelperId(helper_id)
    except ValueError:
        return None
    name: str | None = switch
    while name is not None:
        sw = SWITCHES[name]
        if hid in sw.cases:
            return sw.cases[hid]
        for need, tier in sw.gated:
            if hid in tier:
                return tier[hid] if caps >= need else None
        name = sw.fallback
    return None


def allowed_helpers(switch: str, caps: Cap = Cap.PERFMON) -> dict[HelperId, str]:
    """Every helper ``switch`` allows with ``caps``, mapped to its proto symbol."""
    found: dict[HelperId, str] = {}
    for hid in HelperId:
        sym = resolve_helper(switch, hid, caps)
        if sym is not None:
            found[hid] = sym
    return found


# Return values with names, per family of program types.
XDP_ACTIONS = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX", 4: "XDP_REDIRECT"}
TC_ACTIONS = {-1: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 1: "TC_ACT_RECLASSIFY", 2: "TC_ACT_SHOT",
              3: "TC_ACT_PIPE", 4: "TC_ACT_STOLEN", 5: "TC_ACT_QUEUED", 6: "TC_ACT_REPEAT",
              7: "TC_ACT_REDIRECT", 8: "TC_ACT_TRAP"}
SK_ACTIONS = {0: "SK_DROP", 1: "SK_PASS"}
LWT_ACTIONS = {0: "BPF_OK", 2: "BPF_DROP", 7: "BPF_REDIRECT", 128: "BPF_LWT_REROUTE"}
CGROUP_VERDICT = {0: "reject", 1: "allow"}
# cgroup_skb egress: bit 0 = allow, bit 1 = congestion notification (NET_XMIT_CN).
CGROUP_SKB_EGRESS = {0: "drop", 1: "allow", 2: "drop+cn", 3: "allow+cn"}


@dataclass(frozen=True)
class ProgTypeInfo:
    """What a program type is allowed: the kernel's ``bpf_verifier_ops`` and friends.

    ``ret_range`` is check_return_code()'s range for the default attach type
    (None: the kernel does not check); :func:`return_range` refines it per
    attach type.  ``ret_meaning`` explains the value (``"bytes"`` for a socket
    filter, whose return is how many bytes to keep).
    """

    type: ProgType
    name: str
    ctx: str | None
    func_proto: str | None
    ret_range: tuple[int, int] | None = None
    ret_codes: Mapping[int, str] = field(default_factory=dict)
    ret_meaning: str = ""
    pkt_read: bool = False
    pkt_write: bool = False
    ld_abs: bool = False
    unprivileged: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def direct_packet_access(self) -> bool:
        return self.pkt_read

    @property
    def data_meta(self) -> bool:
        """Whether ctx ``data_meta`` loads (PTR_TO_PACKET_META) are allowed: tc and XDP."""
        return self.type in (ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP)

    def helpers(self, caps: Cap = Cap.PERFMON) -> dict[HelperId, str]:
        """Helpers this program type may call (helper id -> proto symbol)."""
        return allowed_helpers(self.func_proto, caps) if self.func_proto else {}


def _info(t: ProgType, ctx: str | None, switch: str | None, **kw: object) -> ProgTypeInfo:
    return ProgTypeInfo(t, t.name.lower(), ctx, switch, **kw)  # type: ignore[arg-type]


PROG_TYPES: dict[ProgType, ProgTypeInfo] = {i.type: i for i in (
    _info(ProgType.SOCKET_FILTER, "__sk_buff", "sk_filter_func_proto", ret_meaning="bytes",
          ld_abs=True, unprivileged=True, aliases=("socket",)),
    _info(ProgType.KPROBE, "pt_regs", "kprobe_prog_func_proto", aliases=("uprobe", "kretprobe")),
    _info(ProgType.SCHED_CLS, "__sk_buff", "tc_cls_act_func_proto", ret_codes=TC_ACTIONS,
          pkt_read=True, pkt_write=True, ld_abs=True, aliases=("tc", "classifier")),
    _info(ProgType.SCHED_ACT, "__sk_buff", "tc_cls_act_func_proto", ret_codes=TC_ACTIONS,
          pkt_read=True, pkt_write=True, ld_abs=True, aliases=("action",)),
    _info(ProgType.TRACEPOINT, "tracepoint", "tp_prog_func_proto", aliases=("tp",)),
    _info(ProgType.XDP, "xdp_md", "xdp_func_proto", ret_codes=XDP_ACTIONS, pkt_read=True,
          pkt_write=True),
    _info(ProgType.PERF_EVENT, "bpf_perf_event_data", "pe_prog_func_proto"),
    _info(ProgType.CGROUP_SKB, "__sk_buff", "cg_skb_func_proto", ret_range=(0, 1),
          ret_codes=CGROUP_VERDICT, pkt_read=True, unprivileged=True),
    _info(ProgType.CGROUP_SOCK, "bpf_sock", "sock_filter_func_proto", ret_range=(0, 1),
          ret_codes=CGROUP_VERDICT),
    _info(ProgType.LWT_IN, "__sk_buff", "lwt_in_func_proto", ret_codes=LWT_ACTIONS, pkt_read=True),
    _info(ProgType.LWT_OUT, "__sk_buff", "lwt_out_func_proto", ret_codes=LWT_ACTIONS, pkt_read=True),
    _info(ProgType.LWT_XMIT, "__sk_buff", "lwt_xmit_func_proto", ret_codes=LWT_ACTIONS, pkt_read=True,
          pkt_write=True),
    _info(ProgType.SOCK_OPS, "bpf_sock_ops", "sock_ops_func_proto", ret_range=(0, 1)),
    _info(ProgType.SK_SKB, "__sk_buff", "sk_skb_func_proto", ret_codes=SK_ACTIONS, pkt_read=True,
          pkt_write=True),
    _info(ProgType.CGROUP_DEVICE, "bpf_cgroup_dev_ctx", None, ret_range=(0, 1), ret_codes=CGROUP_VERDICT),
    _info(ProgType.SK_MSG, "sk_msg_md", "sk_msg_func_proto", ret_codes=SK_ACTIONS, pkt_read=True,
          pkt_write=True),
    _info(ProgType.RAW_TRACEPOINT, "bpf_raw_tracepoint_args", "raw_tp_prog_func_proto",
          aliases=("raw_tp",)),
    _info(ProgType.CGROUP_SOCK_ADDR, "bpf_sock_addr", None, ret_range=(0, 1), ret_codes=CGROUP_VERDICT),
    _info(ProgType.LWT_SEG6LOCAL, "__sk_buff", "lwt_seg6local_func_proto", ret_codes=LWT_ACTIONS,
          pkt_read=True),
    _info(ProgType.LIRC_MODE2, None, None),
    _info(ProgType.SK_REUSEPORT, "sk_reuseport_md", None, ret_codes=SK_ACTIONS, pkt_read=True),
    _info(ProgType.FLOW_DISSECTOR, "__sk_buff", "flow_dissector_func_proto", pkt_read=True),
    _info(ProgType.CGROUP_SYSCTL, "bpf_sysctl", None, ret_range=(0, 1), ret_codes=CGROUP_VERDICT),
    _info(ProgType.RAW_TRACEPOINT_WRITABLE, "bpf_raw_tracepoint_args", "raw_tp_prog_func_proto",
          aliases=("raw_tp.w",)),
    _info(ProgType.CGROUP_SOCKOPT, "bpf_sockopt", None, ret_range=(0, 1), ret_codes=CGROUP_VERDICT,
          pkt_read=True, pkt_write=True),
    _info(ProgType.TRACING, None, None),
    _info(ProgType.STRUCT_OPS, None, None),
    _info(ProgType.EXT, None, None),
    _info(ProgType.LSM, None, None),
    _info(ProgType.SK_LOOKUP, "bpf_sk_lookup", None, ret_range=(0, 1), ret_codes=SK_ACTIONS),
    _info(ProgType.SYSCALL, None, "syscall_prog_func_proto"),
    _info(ProgType.NETFILTER, "bpf_nf_ctx", None, ret_range=(0, 1), ret_codes={0: "NF_DROP", 1: "NF_ACCEPT"}),
)}

_BY_NAME: dict[str, ProgTypeInfo] = {}
for _i in PROG_TYPES.values():
    _BY_NAME[_i.name] = _i
for _i in PROG_TYPES.values():
    for _a in _i.aliases:
        _BY_NAME.setdefault(_a, _i)


def prog_type_info(key: int | str) -> ProgTypeInfo:
    """A program type by id, :class:`ProgType`, or name (``"xdp"``, ``"sched_cls"``, ``"tc"``)."""
    if isinstance(key, str):
        info = _BY_NAME.get(key.strip().lower().replace("-", "_"))
        if info is None:
            known = ", ".join(sorted(i.name for i in PROG_TYPES.values()))
            raise UnknownProgTypeError(f"unknown program type {key!r} (known: {known})")
        return info
    try:
        return PROG_TYPES[ProgType(key)]
    except (ValueError, KeyError):
        raise UnknownProgTypeError(f"unknown program type id {key}") from None


_AT = AttachType


def return_range(prog_type: int, attach: int | None = None) -> tuple[int, int] | None:
    """check_return_code(): the range R0 must be in at exit, or None when unchecked."""
    t = ProgType(prog_type)
    if t is ProgType.CGROUP_SOCK_ADDR:
        if attach in (_AT.CGROUP_UDP4_RECVMSG, _AT.CGROUP_UDP6_RECVMSG, _AT.CGROUP_UNIX_RECVMSG,
                      _AT.CGROUP_INET4_GETPEERNAME, _AT.CGROUP_INET6_GETPEERNAME,
                      _AT.CGROUP_UNIX_GETPEERNAME, _AT.CGROUP_INET4_GETSOCKNAME,
                      _AT.CGROUP_INET6_GETSOCKNAME, _AT.CGROUP_UNIX_GETSOCKNAME):
            return (1, 1)
        if attach in (_AT.CGROUP_INET4_BIND, _AT.CGROUP_INET6_BIND):
            return (0, 3)
        return (0, 1)
    if t is ProgType.CGROUP_SKB:
        return (0, 3) if attach == _AT.CGROUP_INET_EGRESS else (0, 1)
    if t is ProgType.RAW_TRACEPOINT:
        return None  # checked (0..0) only when attached by BTF id
    if t is ProgType.TRACING:
        if attach in (_AT.TRACE_FENTRY, _AT.TRACE_FEXIT):
            return (0, 0)
        if attach == _AT.TRACE_ITER:
            return (0, 1)
        return None
    if t is ProgType.KPROBE:
        if attach in (_AT.TRACE_KPROBE_SESSION, _AT.TRACE_UPROBE_SESSION):
            return (0, 1)
        return None
    return PROG_TYPES[t].ret_range


# --- libbpf section names -----------------------------------------------------

@dataclass(frozen=True)
class SecDef:
    """One entry of libbpf's ``section_defs[]``.

    A ``sec`` ending in ``+`` matches the bare name or ``name/anything``; one
    ending in ``/`` matches that prefix; anything else matches exactly
    (libbpf's sec_def_matches()).
    """

    sec: str
    prog_type: ProgType
    attach: AttachType | None = None
    sleepable: bool = False
    xdp_frags: bool = False

    def matches(self, name: str) -> bool:
        if self.sec.endswith("/"):
            return name.startswith(self.sec)
        if self.sec.endswith("+"):
            stem = self.sec[:-1]
            return name == stem or name.startswith(stem + "/")
        return name == self.sec


_P = ProgType


def _d(sec: str, t: ProgType, at: AttachType | None = None, *, s: bool = False,
       frags: bool = False) -> SecDef:
    return SecDef(sec, t, at, s, frags)


# Order matters: the first match wins, exactly as in libbpf.
SECTION_DEFS: tuple[SecDef, ...] = (
    _d("socket", _P.SOCKET_FILTER),
    _d("sk_reuseport/migrate", _P.SK_REUSEPORT, _AT.SK_REUSEPORT_SELECT_OR_MIGRATE),
    _d("sk_reuseport", _P.SK_REUSEPORT, _AT.SK_REUSEPORT_SELECT),
    _d("kprobe+", _P.KPROBE),
    _d("uprobe+", _P.KPROBE),
    _d("uprobe.s+", _P.KPROBE, s=True),
    _d("kretprobe+", _P.KPROBE),
    _d("uretprobe+", _P.KPROBE),
    _d("uretprobe.s+", _P.KPROBE, s=True),
    _d("kprobe.multi+", _P.KPROBE, _AT.TRACE_KPROBE_MULTI),
    _d("kretprobe.multi+", _P.KPROBE, _AT.TRACE_KPROBE_MULTI),
    _d("kprobe.session+", _P.KPROBE, _AT.TRACE_KPROBE_SESSION),
    _d("uprobe.multi+", _P.KPROBE, _AT.TRACE_UPROBE_MULTI),
    _d("uretprobe.multi+", _P.KPROBE, _AT.TRACE_UPROBE_MULTI),
    _d("uprobe.session+", _P.KPROBE, _AT.TRACE_UPROBE_SESSION),
    _d("uprobe.multi.s+", _P.KPROBE, _AT.TRACE_UPROBE_MULTI, s=True),
    _d("uretprobe.multi.s+", _P.KPROBE, _AT.TRACE_UPROBE_MULTI, s=True),
    _d("uprobe.session.s+", _P.KPROBE, _AT.TRACE_UPROBE_SESSION, s=True),
    _d("ksyscall+", _P.KPROBE),
    _d("kretsyscall+", _P.KPROBE),
    _d("usdt+", _P.KPROBE),
    _d("usdt.s+", _P.KPROBE, s=True),
    _d("tc/ingress", _P.SCHED_CLS, _AT.TCX_INGRESS),
    _d("tc/egress", _P.SCHED_CLS, _AT.TCX_EGRESS),
    _d("tcx/ingress", _P.SCHED_CLS, _AT.TCX_INGRESS),
    _d("tcx/egress", _P.SCHED_CLS, _AT.TCX_EGRESS),
    _d("netkit/primary", _P.SCHED_CLS, _AT.NETKIT_PRIMARY),
    _d("netkit/peer", _P.SCHED_CLS, _AT.NETKIT_PEER),
    _d("tc", _P.SCHED_CLS),
    _d("classifier", _P.SCHED_CLS),
    _d("action", _P.SCHED_ACT),
    _d("tracepoint+", _P.TRACEPOINT),
    _d("tp+", _P.TRACEPOINT),
    _d("raw_tracepoint+", _P.RAW_TRACEPOINT),
    _d("raw_tp+", _P.RAW_TRACEPOINT),
    _d("raw_tracepoint.w+", _P.RAW_TRACEPOINT_WRITABLE),
    _d("raw_tp.w+", _P.RAW_TRACEPOINT_WRITABLE),
    _d("tp_btf+", _P.TRACING, _AT.TRACE_RAW_TP),
    _d("fentry+", _P.TRACING, _AT.TRACE_FENTRY),
    _d("fmod_ret+", _P.TRACING, _AT.MODIFY_RETURN),
    _d("fexit+", _P.TRACING, _AT.TRACE_FEXIT),
    _d("fentry.s+", _P.TRACING, _AT.TRACE_FENTRY, s=True),
    _d("fmod_ret.s+", _P.TRACING, _AT.MODIFY_RETURN, s=True),
    _d("fexit.s+", _P.TRACING, _AT.TRACE_FEXIT, s=True),
    _d("freplace+", _P.EXT),
    _d("lsm+", _P.LSM, _AT.LSM_MAC),
    _d("lsm.s+", _P.LSM, _AT.LSM_MAC, s=True),
    _d("lsm_cgroup+", _P.LSM, _AT.LSM_CGROUP),
    _d("iter+", _P.TRACING, _AT.TRACE_ITER),
    _d("iter.s+", _P.TRACING, _AT.TRACE_ITER, s=True),
    _d("syscall", _P.SYSCALL, s=True),
    _d("xdp.frags/devmap", _P.XDP, _AT.XDP_DEVMAP, frags=True),
    _d("xdp/devmap", _P.XDP, _AT.XDP_DEVMAP),
    _d("xdp.frags/cpumap", _P.XDP, _AT.XDP_CPUMAP, frags=True),
    _d("xdp/cpumap", _P.XDP, _AT.XDP_CPUMAP),
    _d("xdp.frags", _P.XDP, _AT.XDP, frags=True),
    _d("xdp", _P.XDP, _AT.XDP),
    _d("perf_event", _P.PERF_EVENT),
    _d("lwt_in", _P.LWT_IN),
    _d("lwt_out", _P.LWT_OUT),
    _d("lwt_xmit", _P.LWT_XMIT),
    _d("lwt_seg6local", _P.LWT_SEG6LOCAL),
    _d("sockops", _P.SOCK_OPS, _AT.CGROUP_SOCK_OPS),
    _d("sk_skb/stream_parser", _P.SK_SKB, _AT.SK_SKB_STREAM_PARSER),
    _d("sk_skb/stream_verdict", _P.SK_SKB, _AT.SK_SKB_STREAM_VERDICT),
    _d("sk_skb/verdict", _P.SK_SKB, _AT.SK_SKB_VERDICT),
    _d("sk_skb", _P.SK_SKB),
    _d("sk_msg", _P.SK_MSG, _AT.SK_MSG_VERDICT),
    _d("lirc_mode2", _P.LIRC_MODE2, _AT.LIRC_MODE2),
    _d("flow_dissector", _P.FLOW_DISSECTOR, _AT.FLOW_DISSECTOR),
    _d("cgroup_skb/ingress", _P.CGROUP_SKB, _AT.CGROUP_INET_INGRESS),
    _d("cgroup_skb/egress", _P.CGROUP_SKB, _AT.CGROUP_INET_EGRESS),
    _d("cgroup/skb", _P.CGROUP_SKB),
    _d("cgroup/sock_create", _P.CGROUP_SOCK, _AT.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/sock_release", _P.CGROUP_SOCK, _AT.CGROUP_INET_SOCK_RELEASE),
    _d("cgroup/sock", _P.CGROUP_SOCK, _AT.CGROUP_INET_SOCK_CREATE),
    _d("cgroup/post_bind4", _P.CGROUP_SOCK, _AT.CGROUP_INET4_POST_BIND),
    _d("cgroup/post_bind6", _P.CGROUP_SOCK, _AT.CGROUP_INET6_POST_BIND),
    _d("cgroup/bind4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET4_BIND),
    _d("cgroup/bind6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET6_BIND),
    _d("cgroup/connect4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET4_CONNECT),
    _d("cgroup/connect6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET6_CONNECT),
    _d("cgroup/connect_unix", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UNIX_CONNECT),
    _d("cgroup/sendmsg4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UDP4_SENDMSG),
    _d("cgroup/sendmsg6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UDP6_SENDMSG),
    _d("cgroup/sendmsg_unix", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UNIX_SENDMSG),
    _d("cgroup/recvmsg4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UDP4_RECVMSG),
    _d("cgroup/recvmsg6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UDP6_RECVMSG),
    _d("cgroup/recvmsg_unix", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UNIX_RECVMSG),
    _d("cgroup/getpeername4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET4_GETPEERNAME),
    _d("cgroup/getpeername6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET6_GETPEERNAME),
    _d("cgroup/getpeername_unix", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UNIX_GETPEERNAME),
    _d("cgroup/getsockname4", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET4_GETSOCKNAME),
    _d("cgroup/getsockname6", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_INET6_GETSOCKNAME),
    _d("cgroup/getsockname_unix", _P.CGROUP_SOCK_ADDR, _AT.CGROUP_UNIX_GETSOCKNAME),
    _d("cgroup/sysctl", _P.CGROUP_SYSCTL, _AT.CGROUP_SYSCTL),
    _d("cgroup/getsockopt", _P.CGROUP_SOCKOPT, _AT.CGROUP_GETSOCKOPT),
    _d("cgroup/setsockopt", _P.CGROUP_SOCKOPT, _AT.CGROUP_SETSOCKOPT),
    _d("cgroup/dev", _P.CGROUP_DEVICE, _AT.CGROUP_DEVICE),
    _d("struct_ops+", _P.STRUCT_OPS),
    _d("struct_ops.s+", _P.STRUCT_OPS, s=True),
    _d("sk_lookup", _P.SK_LOOKUP, _AT.SK_LOOKUP),
    _d("netfilter", _P.NETFILTER, _AT.NETFILTER),
)


@dataclass(frozen=True)
class SectionMatch:
    """What an ELF section name means to libbpf."""

    section: str
    sec_def: SecDef

    @property
    def prog_type(self) -> ProgType:
        return self.sec_def.prog_type

    @property
    def attach(self) -> AttachType | None:
        return self.sec_def.attach

    @property
    def target(self) -> str:
        """The part after the first ``/`` (function, tracepoint ...), '' if none."""
        _, _, rest = self.section.partition("/")
        return rest


def resolve_section(name: str) -> SectionMatch:
    """libbpf's find_sec_def(): map an ELF section name to its program type.

    >>> resolve_section("kprobe/do_sys_open").prog_type
    <ProgType.KPROBE: 2>
    >>> resolve_section("xdp.frags").attach
    <AttachType.XDP: 37>
    """
    for sec_def in SECTION_DEFS:
        if sec_def.matches(name):
            return SectionMatch(name, sec_def)
    raise UnknownSectionError(f"section {name!r} matches no known program type")
