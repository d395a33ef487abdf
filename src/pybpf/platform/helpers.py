"""Helper prototypes: the kernel's ``struct bpf_func_proto`` objects, as data.

The kernel does not have one prototype per helper id: ``bpf_perf_event_output``
is ``bpf_skb_event_output_proto`` in a socket filter, ``bpf_perf_event_output_proto``
in a kprobe, ``bpf_perf_event_output_proto_raw_tp`` in a raw tracepoint.  So
:data:`PROTOS` is keyed by the kernel's *symbol* (``"bpf_skb_event_output_proto"``),
and the per-program-type ``*_func_proto()`` switches (in
:mod:`pybpf.platform.progtypes`) map a helper id to such a symbol.

Sources: kernel/bpf/helpers.c, net/core/filter.c, kernel/trace/bpf_trace.c,
kernel/bpf/ringbuf.c, kernel/bpf/bpf_task_storage.c ... of Linux 6.18.  Flags
are the 6.18 ones: ``ARG_PTR_TO_UNINIT_MEM`` includes ``MEM_WRITE``; a few
read-write buffers (``fib_lookup``'s params) carry no access flag at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..isa.helper_ids import HelperId
from ..maps.spec import MapType
from .types import ArgSpec, ArgType, RetSpec, RetType, TypeFlag

__all__ = [
    "CHANGES_PKT_DATA",
    "DEFAULT_PROTO",
    "FUNC_MAP_TYPES",
    "MAP_FUNCS",
    "PROTOS",
    "HelperProto",
    "MapType",
    "map_func_incompatibility",
    "proto",
]

F = TypeFlag
A = ArgType


ANY = ArgSpec(A.ARG_ANYTHING)
CTX = ArgSpec(A.ARG_PTR_TO_CTX)
CTX_OR_NULL = ArgSpec(A.ARG_PTR_TO_CTX, F.PTR_MAYBE_NULL)
MAP = ArgSpec(A.ARG_CONST_MAP_PTR)
KEY = ArgSpec(A.ARG_PTR_TO_MAP_KEY)
VALUE = ArgSpec(A.ARG_PTR_TO_MAP_VALUE)
VALUE_OR_NULL = ArgSpec(A.ARG_PTR_TO_MAP_VALUE, F.PTR_MAYBE_NULL)
MEM = ArgSpec(A.ARG_PTR_TO_MEM)  # read and written, no access flag (6.18)
MEM_RO = ArgSpec(A.ARG_PTR_TO_MEM, F.MEM_RDONLY)
MEM_OR_NULL = ArgSpec(A.ARG_PTR_TO_MEM, F.PTR_MAYBE_NULL)
MEM_RO_OR_NULL = ArgSpec(A.ARG_PTR_TO_MEM, F.PTR_MAYBE_NULL | F.MEM_RDONLY)
MEM_WR = ArgSpec(A.ARG_PTR_TO_MEM, F.MEM_WRITE)
UNINIT = ArgSpec(A.ARG_PTR_TO_MEM, F.MEM_UNINIT | F.MEM_WRITE)  # ARG_PTR_TO_UNINIT_MEM
SIZE = ArgSpec(A.ARG_CONST_SIZE)
SIZE0 = ArgSpec(A.ARG_CONST_SIZE_OR_ZERO)
ALLOC_SIZE0 = ArgSpec(A.ARG_CONST_ALLOC_SIZE_OR_ZERO)
FUNC = ArgSpec(A.ARG_PTR_TO_FUNC)
STACK_OR_NULL = ArgSpec(A.ARG_PTR_TO_STACK, F.PTR_MAYBE_NULL)
CONST_STR = ArgSpec(A.ARG_PTR_TO_CONST_STR)
SOCK_COMMON = ArgSpec(A.ARG_PTR_TO_SOCK_COMMON)
BTF_SOCK_COMMON = ArgSpec(A.ARG_PTR_TO_BTF_ID_SOCK_COMMON)
TIMER = ArgSpec(A.ARG_PTR_TO_TIMER)
SPIN_LOCK = ArgSpec(A.ARG_PTR_TO_SPIN_LOCK, btf_id="poison")
TASK = ArgSpec(A.ARG_PTR_TO_BTF_ID, btf_id="task_struct")
TASK_OR_NULL = ArgSpec(A.ARG_PTR_TO_BTF_ID, F.PTR_MAYBE_NULL, btf_id="task_struct")
CGROUP_OR_NULL = ArgSpec(A.ARG_PTR_TO_BTF_ID, F.PTR_MAYBE_NULL, btf_id="cgroup")


def _fixed(size: int, flags: TypeFlag = F.NONE) -> ArgSpec:
    """ARG_PTR_TO_FIXED_SIZE_MEM with ``.argN_size = size``."""
    return ArgSpec(A.ARG_PTR_TO_MEM, F.MEM_FIXED_SIZE | flags, size=size)


INT = RetSpec(RetType.RET_INTEGER)
VOID = RetSpec(RetType.RET_VOID)
R_MAP_VALUE_OR_NULL = RetSpec(RetType.RET_PTR_TO_MAP_VALUE, F.PTR_MAYBE_NULL)
R_SOCKET_OR_NULL = RetSpec(RetType.RET_PTR_TO_SOCKET, F.PTR_MAYBE_NULL)
R_SOCK_COMMON_OR_NULL = RetSpec(RetType.RET_PTR_TO_SOCK_COMMON, F.PTR_MAYBE_NULL)
R_TCP_SOCK_OR_NULL = RetSpec(RetType.RET_PTR_TO_TCP_SOCK, F.PTR_MAYBE_NULL)
R_RINGBUF_MEM_OR_NULL = RetSpec(RetType.RET_PTR_TO_MEM, F.PTR_MAYBE_NULL | F.MEM_RINGBUF)

# bpf_helper_changes_pkt_data() in net/core/filter.c: after these the
# verifier forgets every packet pointer.
CHANGES_PKT_DATA: frozenset[HelperId] = frozenset({
    HelperId.skb_store_bytes, HelperId.skb_change_head, HelperId.skb_change_tail,
    HelperId.skb_adjust_room, HelperId.skb_vlan_push, HelperId.skb_vlan_pop,
    HelperId.skb_change_proto, HelperId.skb_pull_data, HelperId.clone_redirect,
    HelperId.l3_csum_replace, HelperId.l4_csum_replace, HelperId.xdp_adjust_head,
    HelperId.xdp_adjust_meta, HelperId.msg_pull_data, HelperId.msg_push_data,
    HelperId.msg_pop_data, HelperId.xdp_adjust_tail, HelperId.lwt_seg6_store_bytes,
    HelperId.lwt_seg6_adjust_srh, HelperId.lwt_seg6_action, HelperId.store_hdr_opt,
    HelperId.lwt_push_encap,
})

# is_acquire_function(): the returned pointer is a reference the program must
# release (map_lookup_elem also acquires on sockmap/sockhash, see acquires_with).
_ACQUIRE: frozenset[HelperId] = frozenset({
    HelperId.sk_lookup_tcp, HelperId.sk_lookup_udp, HelperId.skc_lookup_tcp,
    HelperId.ringbuf_reserve, HelperId.kptr_xchg,
})

# is_sync_callback_calling_function() / is_async_callback_calling_function().
_SYNC_CALLBACK = frozenset({HelperId.for_each_map_elem, HelperId.find_vma, HelperId.loop,
                            HelperId.user_ringbuf_drain})
_ASYNC_CALLBACK = frozenset({HelperId.timer_set_callback})

# is_ptr_cast_function(): the result aliases the argument (same ref_obj_id).
_PTR_CAST = frozenset({
    HelperId.tcp_sock, HelperId.sk_fullsock, HelperId.skc_to_tcp_sock, HelperId.skc_to_tcp6_sock,
    HelperId.skc_to_udp6_sock, HelperId.skc_to_mptcp_sock, HelperId.skc_to_tcp_timewait_sock,
    HelperId.skc_to_tcp_request_sock,
})


# check_map_func_compatibility(), second switch: these helpers need one of
# these map types in their ARG_CONST_MAP_PTR.
FUNC_MAP_TYPES: dict[HelperId, frozenset[int]] = {
    HelperId.tail_call: frozenset({MapType.PROG_ARRAY}),
    HelperId.perf_event_read: frozenset({MapType.PERF_EVENT_ARRAY}),
    HelperId.perf_event_output: frozenset({MapType.PERF_EVENT_ARRAY}),
    HelperId.perf_event_read_value: frozenset({MapType.PERF_EVENT_ARRAY}),
    HelperId.skb_output: frozenset({MapType.PERF_EVENT_ARRAY}),
    HelperId.xdp_output: frozenset({MapType.PERF_EVENT_ARRAY}),
    HelperId.ringbuf_output: frozenset({MapType.RINGBUF}),
    HelperId.ringbuf_reserve: frozenset({MapType.RINGBUF}),
    HelperId.ringbuf_query: frozenset({MapType.RINGBUF}),
    HelperId.ringbuf_reserve_dynptr: frozenset({MapType.RINGBUF}),
    HelperId.ringbuf_submit_dynptr: frozenset({MapType.RINGBUF}),
    HelperId.ringbuf_discard_dynptr: frozenset({MapType.RINGBUF}),
    HelperId.user_ringbuf_drain: frozenset({MapType.USER_RINGBUF}),
    HelperId.get_stackid: frozenset({MapType.STACK_TRACE}),
    HelperId.current_task_under_cgroup: frozenset({MapType.CGROUP_ARRAY}),
    HelperId.skb_under_cgroup: frozenset({MapType.CGROUP_ARRAY}),
    HelperId.redirect_map: frozenset({MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP,
                                      MapType.XSKMAP}),
    HelperId.sk_redirect_map: frozenset({MapType.SOCKMAP}),
    HelperId.msg_redirect_map: frozenset({MapType.SOCKMAP}),
    HelperId.sock_map_update: frozenset({MapType.SOCKMAP}),
    HelperId.sk_redirect_hash: frozenset({MapType.SOCKHASH}),
    HelperId.msg_redirect_hash: frozenset({MapType.SOCKHASH}),
    HelperId.sock_hash_update: frozenset({MapType.SOCKHASH}),
    HelperId.get_local_storage: frozenset({MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE}),
    HelperId.sk_select_reuseport: frozenset({MapType.REUSEPORT_SOCKARRAY, MapType.SOCKMAP,
                                             MapType.SOCKHASH}),
    HelperId.map_pop_elem: frozenset({MapType.QUEUE, MapType.STACK}),
    HelperId.map_peek_elem: frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER}),
    HelperId.map_push_elem: frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER}),
    HelperId.map_lookup_percpu_elem: frozenset({MapType.PERCPU_ARRAY, MapType.PERCPU_HASH,
                                                MapType.LRU_PERCPU_HASH}),
    HelperId.sk_storage_get: frozenset({MapType.SK_STORAGE}),
    HelperId.sk_storage_delete: frozenset({MapType.SK_STORAGE}),
    HelperId.inode_storage_get: frozenset({MapType.INODE_STORAGE}),
    HelperId.inode_storage_delete: frozenset({MapType.INODE_STORAGE}),
    HelperId.task_storage_get: frozenset({MapType.TASK_STORAGE}),
    HelperId.task_storage_delete: frozenset({MapType.TASK_STORAGE}),
    HelperId.cgrp_storage_get: frozenset({MapType.CGRP_STORAGE}),
    HelperId.cgrp_storage_delete: frozenset({MapType.CGRP_STORAGE}),
}

_H = HelperId
# check_map_func_compatibility(), first switch: a map of these types may only
# be passed to these helpers.  Map types not listed take any map helper.
# (sockmap/sockhash also take map_update_elem/map_delete_elem where
# may_update_sockmap() allows it: see map_func_incompatibility.)
MAP_FUNCS: dict[int, frozenset[HelperId]] = {
    MapType.PROG_ARRAY: frozenset({_H.tail_call}),
    MapType.PERF_EVENT_ARRAY: frozenset({_H.perf_event_read, _H.perf_event_output,
                                         _H.perf_event_read_value, _H.skb_output, _H.xdp_output}),
    MapType.RINGBUF: frozenset({_H.ringbuf_output, _H.ringbuf_reserve, _H.ringbuf_query,
                                _H.ringbuf_reserve_dynptr, _H.ringbuf_submit_dynptr,
                                _H.ringbuf_discard_dynptr}),
    MapType.USER_RINGBUF: frozenset({_H.user_ringbuf_drain}),
    MapType.STACK_TRACE: frozenset({_H.get_stackid}),
    MapType.CGROUP_ARRAY: frozenset({_H.skb_under_cgroup, _H.current_task_under_cgroup}),
    MapType.CGROUP_STORAGE: frozenset({_H.get_local_storage}),
    MapType.PERCPU_CGROUP_STORAGE: frozenset({_H.get_local_storage}),
    MapType.DEVMAP: frozenset({_H.redirect_map, _H.map_lookup_elem}),
    MapType.DEVMAP_HASH: frozenset({_H.redirect_map, _H.map_lookup_elem}),
    MapType.CPUMAP: frozenset({_H.redirect_map}),
    MapType.XSKMAP: frozenset({_H.redirect_map, _H.map_lookup_elem}),
    MapType.ARRAY_OF_MAPS: frozenset({_H.map_lookup_elem}),
    MapType.HASH_OF_MAPS: frozenset({_H.map_lookup_elem}),
    MapType.SOCKMAP: frozenset({_H.sk_redirect_map, _H.sock_map_update, _H.msg_redirect_map,
                                _H.sk_select_reuseport, _H.map_lookup_elem}),
    MapType.SOCKHASH: frozenset({_H.sk_redirect_hash, _H.sock_hash_update, _H.msg_redirect_hash,
                                 _H.sk_select_reuseport, _H.map_lookup_elem}),
    MapType.REUSEPORT_SOCKARRAY: frozenset({_H.sk_select_reuseport}),
    MapType.QUEUE: frozenset({_H.map_peek_elem, _H.map_pop_elem, _H.map_push_elem}),
    MapType.STACK: frozenset({_H.map_peek_elem, _H.map_pop_elem, _H.map_push_elem}),
    MapType.SK_STORAGE: frozenset({_H.sk_storage_get, _H.sk_storage_delete, _H.kptr_xchg}),
    MapType.INODE_STORAGE: frozenset({_H.inode_storage_get, _H.inode_storage_delete, _H.kptr_xchg}),
    MapType.TASK_STORAGE: frozenset({_H.task_storage_get, _H.task_storage_delete, _H.kptr_xchg}),
    MapType.CGRP_STORAGE: frozenset({_H.cgrp_storage_get, _H.cgrp_storage_delete, _H.kptr_xchg}),
    MapType.BLOOM_FILTER: frozenset({_H.map_peek_elem, _H.map_push_elem}),
}


def map_func_incompatibility(map_type: int, func_id: int, *, may_update_sockmap: bool = False) -> str | None:
    """The verifier's complaint when ``map_type`` is passed to helper ``func_id``, or None.

    Mirrors check_map_func_compatibility(); the text is the kernel's
    ``"cannot pass map_type %d into func %s#%d"``.
    """
    mt = int(map_type)
    fid = HelperId(func_id)
    ok = True
    allowed = MAP_FUNCS.get(mt)
    if allowed is not None and fid not in allowed:
        sockmap_write = fid in (_H.map_update_elem, _H.map_delete_elem)
        ok = mt in (MapType.SOCKMAP, MapType.SOCKHASH) and sockmap_write and may_update_sockmap
    required = FUNC_MAP_TYPES.get(fid)
    if required is not None and mt not in required:
        ok = False
    if ok:
        return None
    return f"cannot pass map_type {mt} into func bpf_{fid.name}#{int(fid)}"


@dataclass(frozen=True, slots=True)
class HelperProto:
    """One ``struct bpf_func_proto``.

    ``args`` lists the declared arguments only (the kernel's trailing
    ``ARG_DONTCARE`` slots are dropped), so ``len(args)`` is how many
    registers the verifier checks.
    """

    symbol: str
    id: HelperId
    ret: RetSpec
    args: tuple[ArgSpec, ...] = ()
    gpl_only: bool = False
    pkt_access: bool = False
    might_sleep: bool = False
    allow_fastcall: bool = False

    @property
    def name(self) -> str:
        """``bpf_<name>``, as the verifier log prints it (``func_id_name``)."""
        return f"bpf_{self.id.name}"

    @property
    def log_name(self) -> str:
        """``bpf_map_lookup_elem#1``: how verifier messages name the helper."""
        return f"{self.name}#{int(self.id)}"

    @property
    def release_regno(self) -> int | None:
        """The register (1..5) whose reference the helper releases (OBJ_RELEASE), if any."""
        for i, arg in enumerate(self.args):
            if arg.is_release:
                return i + 1
        return None

    @property
    def ret_size_regno(self) -> int | None:
        """The register holding the size of returned memory (ARG_CONST_ALLOC_SIZE_OR_ZERO), if any.

        ringbuf_reserve's record is as large as its second argument says.
        """
        for i, arg in enumerate(self.args):
            if arg.type is A.ARG_CONST_ALLOC_SIZE_OR_ZERO:
                return i + 1
        return None

    @property
    def acquires(self) -> bool:
        """The return value is a new reference (is_acquire_function without a map)."""
        return self.id in _ACQUIRE

    def acquires_with(self, map_type: int | None) -> bool:
        """is_acquire_function(): lookups in sockmap/sockhash also acquire a socket."""
        if self.id is HelperId.map_lookup_elem and map_type in (MapType.SOCKMAP, MapType.SOCKHASH):
            return True
        return self.acquires

    @property
    def calls_back(self) -> bool:
        """The helper calls a BPF subprogram passed as ARG_PTR_TO_FUNC."""
        return self.id in _SYNC_CALLBACK or self.id in _ASYNC_CALLBACK

    @property
    def async_callback(self) -> bool:
        return self.id in _ASYNC_CALLBACK

    @property
    def ptr_cast(self) -> bool:
        """is_ptr_cast_function(): the result shares the argument's reference."""
        return self.id in _PTR_CAST

    @property
    def changes_pkt_data(self) -> bool:
        return self.id in CHANGES_PKT_DATA

    @property
    def map_types(self) -> frozenset[int] | None:
        """Map types the helper's ARG_CONST_MAP_PTR must be, or None for any."""
        return FUNC_MAP_TYPES.get(self.id)

    def check_proto(self) -> list[str]:
        """The kernel's check_func_proto() sanity rules; returns the ones this proto breaks."""
        problems: list[str] = []
        if sum(a.is_raw_mem for a in self.args) > 1:
            problems.append("check_raw_mode_ok: more than one uninit memory argument")
        slots = list(self.args) + [ArgSpec(A.ARG_DONTCARE)] * (5 - len(self.args))
        if slots[0].is_mem_size:
            problems.append("check_arg_pair_ok: size in arg1")
        for i, arg in enumerate(slots):
            nxt = slots[i + 1].is_mem_size if i + 1 < 5 else False
            if arg.type is not A.ARG_PTR_TO_MEM:
                bad = nxt
            else:
                fixed = F.MEM_FIXED_SIZE in arg.flags
                has_size = arg.size != 0
                bad = has_size == nxt or nxt == fixed
            if bad:
                problems.append(f"check_arg_pair_ok: arg{i + 1} {arg.kernel_name}")
        if sum(a.is_release for a in self.args) > 1:
            problems.append("check_proto_release_reg: more than one OBJ_RELEASE argument")
        for arg in self.args:
            if arg.type in (A.ARG_PTR_TO_BTF_ID, A.ARG_PTR_TO_SPIN_LOCK) and arg.btf_id is None:
                problems.append(f"check_btf_id_ok: {arg.kernel_name} without btf id")
        return problems


PROTOS: dict[str, HelperProto] = {}


def _p(symbol: str, hid: HelperId, ret: RetSpec, *args: ArgSpec, gpl: bool = False,
       pkt: bool = False, sleep: bool = False, fastcall: bool = False) -> None:
    assert symbol not in PROTOS, symbol
    PROTOS[symbol] = HelperProto(symbol, hid, ret, args, gpl, pkt, sleep, fastcall)


def _same(hid: HelperId, ret: RetSpec, args: Iterable[ArgSpec], *symbols: str, gpl: bool = False,
          pkt: bool = False) -> None:
    """Several kernel protos with one shape (the per-program-type variants)."""
    for sym in symbols:
        _p(sym, hid, ret, *args, gpl=gpl, pkt=pkt)


# --- kernel/bpf/helpers.c ----------------------------------------------------
_p("bpf_map_lookup_elem_proto", _H.map_lookup_elem, R_MAP_VALUE_OR_NULL, MAP, KEY, pkt=True)
_p("bpf_map_update_elem_proto", _H.map_update_elem, INT, MAP, KEY, VALUE, ANY, pkt=True)
_p("bpf_map_delete_elem_proto", _H.map_delete_elem, INT, MAP, KEY, pkt=True)
_p("bpf_map_push_elem_proto", _H.map_push_elem, INT, MAP, VALUE, ANY, pkt=True)
_p("bpf_map_pop_elem_proto", _H.map_pop_elem, INT, MAP,
   ArgSpec(A.ARG_PTR_TO_MAP_VALUE, F.MEM_UNINIT | F.MEM_WRITE))
_p("bpf_map_peek_elem_proto", _H.map_peek_elem, INT, MAP,
   ArgSpec(A.ARG_PTR_TO_MAP_VALUE, F.MEM_UNINIT | F.MEM_WRITE))
_p("bpf_map_lookup_percpu_elem_proto", _H.map_lookup_percpu_elem, R_MAP_VALUE_OR_NULL, MAP, KEY, ANY,
   pkt=True)
_p("bpf_get_prandom_u32_proto", _H.get_prandom_u32, INT)
_p("bpf_get_smp_processor_id_proto", _H.get_smp_processor_id, INT, fastcall=True)
_p("bpf_get_raw_smp_processor_id_proto", _H.get_smp_processor_id, INT)
_p("bpf_get_numa_node_id_proto", _H.get_numa_node_id, INT)
_p("bpf_ktime_get_ns_proto", _H.ktime_get_ns, INT)
_p("bpf_ktime_get_boot_ns_proto", _H.ktime_get_boot_ns, INT)
_p("bpf_ktime_get_coarse_ns_proto", _H.ktime_get_coarse_ns, INT)
_p("bpf_ktime_get_tai_ns_proto", _H.ktime_get_tai_ns, INT)
_p("bpf_get_current_pid_tgid_proto", _H.get_current_pid_tgid, INT)
_p("bpf_get_current_uid_gid_proto", _H.get_current_uid_gid, INT)
_p("bpf_get_current_comm_proto", _H.get_current_comm, INT, UNINIT, SIZE)
_p("bpf_spin_lock_proto", _H.spin_lock, VOID, SPIN_LOCK)
_p("bpf_spin_unlock_proto", _H.spin_unlock, VOID, SPIN_LOCK)
_p("bpf_jiffies64_proto", _H.jiffies64, INT)
_p("bpf_get_current_cgroup_id_proto", _H.get_current_cgroup_id, INT)
_p("bpf_get_current_ancestor_cgroup_id_proto", _H.get_current_ancestor_cgroup_id, INT, ANY)
_p("bpf_strtol_proto", _H.strtol, INT, MEM_RO, SIZE, ANY,
   _fixed(8, F.MEM_UNINIT | F.MEM_WRITE | F.MEM_ALIGNED))
_p("bpf_strtoul_proto", _H.strtoul, INT, MEM_RO, SIZE, ANY,
   _fixed(8, F.MEM_UNINIT | F.MEM_WRITE | F.MEM_ALIGNED))
_p("bpf_strncmp_proto", _H.strncmp, INT, MEM_RO, SIZE, CONST_STR)
_p("bpf_get_ns_current_pid_tgid_proto", _H.get_ns_current_pid_tgid, INT, ANY, ANY, UNINIT, SIZE)
_p("bpf_event_output_data_proto", _H.perf_event_output, INT, CTX, MAP, ANY, MEM_RO, SIZE0, gpl=True)
_p("bpf_copy_from_user_proto", _H.copy_from_user, INT, UNINIT, SIZE0, ANY, sleep=True)
_p("bpf_copy_from_user_task_proto", _H.copy_from_user_task, INT, UNINIT, SIZE0, ANY, TASK, ANY,
   gpl=True, sleep=True)
_p("bpf_per_cpu_ptr_proto", _H.per_cpu_ptr,
   RetSpec(RetType.RET_PTR_TO_MEM_OR_BTF_ID, F.PTR_MAYBE_NULL | F.MEM_RDONLY),
   ArgSpec(A.ARG_PTR_TO_PERCPU_BTF_ID), ANY)
_p("bpf_this_cpu_ptr_proto", _H.this_cpu_ptr, RetSpec(RetType.RET_PTR_TO_MEM_OR_BTF_ID, F.MEM_RDONLY),
   ArgSpec(A.ARG_PTR_TO_PERCPU_BTF_ID))
_p("bpf_snprintf_proto", _H.snprintf, INT, MEM_OR_NULL, SIZE0, CONST_STR, MEM_RO_OR_NULL, SIZE0,
   gpl=True)
_p("bpf_timer_init_proto", _H.timer_init, INT, TIMER, MAP, ANY, gpl=True)
_p("bpf_timer_set_callback_proto", _H.timer_set_callback, INT, TIMER, FUNC, gpl=True)
_p("bpf_timer_start_proto", _H.timer_start, INT, TIMER, ANY, ANY, gpl=True)
_p("bpf_timer_cancel_proto", _H.timer_cancel, INT, TIMER, gpl=True)
_p("bpf_kptr_xchg_proto", _H.kptr_xchg, RetSpec(RetType.RET_PTR_TO_BTF_ID, F.PTR_MAYBE_NULL, "poison"),
   ArgSpec(A.ARG_KPTR_XCHG_DEST),
   ArgSpec(A.ARG_PTR_TO_BTF_ID, F.PTR_MAYBE_NULL | F.OBJ_RELEASE, btf_id="poison"))
_p("bpf_dynptr_from_mem_proto", _H.dynptr_from_mem, INT, UNINIT, SIZE0, ANY,
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.DYNPTR_TYPE_LOCAL | F.MEM_UNINIT | F.MEM_WRITE))
_p("bpf_dynptr_read_proto", _H.dynptr_read, INT, UNINIT, SIZE0,
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.MEM_RDONLY), ANY, ANY)
_p("bpf_dynptr_write_proto", _H.dynptr_write, INT, ArgSpec(A.ARG_PTR_TO_DYNPTR, F.MEM_RDONLY), ANY,
   MEM_RO, SIZE0, ANY)
_p("bpf_dynptr_data_proto", _H.dynptr_data, RetSpec(RetType.RET_PTR_TO_MEM, F.PTR_MAYBE_NULL),
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.MEM_RDONLY), ANY, ALLOC_SIZE0)
_p("bpf_tail_call_proto", _H.tail_call, VOID, CTX, MAP, ANY)
_p("bpf_for_each_map_elem_proto", _H.for_each_map_elem, INT, MAP, FUNC, STACK_OR_NULL, ANY)
_p("bpf_loop_proto", _H.loop, INT, ANY, FUNC, STACK_OR_NULL, ANY)
_p("bpf_cgrp_storage_get_proto", _H.cgrp_storage_get, R_MAP_VALUE_OR_NULL, MAP, CGROUP_OR_NULL,
   VALUE_OR_NULL, ANY)
_p("bpf_cgrp_storage_delete_proto", _H.cgrp_storage_delete, INT, MAP, CGROUP_OR_NULL)

# --- kernel/bpf/ringbuf.c ----------------------------------------------------
_p("bpf_ringbuf_output_proto", _H.ringbuf_output, INT, MAP, MEM_RO, SIZE0, ANY)
_p("bpf_ringbuf_reserve_proto", _H.ringbuf_reserve, R_RINGBUF_MEM_OR_NULL, MAP, ALLOC_SIZE0, ANY)
_p("bpf_ringbuf_submit_proto", _H.ringbuf_submit, VOID,
   ArgSpec(A.ARG_PTR_TO_RINGBUF_MEM, F.OBJ_RELEASE), ANY)
_p("bpf_ringbuf_discard_proto", _H.ringbuf_discard, VOID,
   ArgSpec(A.ARG_PTR_TO_RINGBUF_MEM, F.OBJ_RELEASE), ANY)
_p("bpf_ringbuf_query_proto", _H.ringbuf_query, INT, MAP, ANY)
_p("bpf_ringbuf_reserve_dynptr_proto", _H.ringbuf_reserve_dynptr, INT, MAP, ANY, ANY,
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.DYNPTR_TYPE_RINGBUF | F.MEM_UNINIT | F.MEM_WRITE))
_p("bpf_ringbuf_submit_dynptr_proto", _H.ringbuf_submit_dynptr, VOID,
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.DYNPTR_TYPE_RINGBUF | F.OBJ_RELEASE), ANY)
_p("bpf_ringbuf_discard_dynptr_proto", _H.ringbuf_discard_dynptr, VOID,
   ArgSpec(A.ARG_PTR_TO_DYNPTR, F.DYNPTR_TYPE_RINGBUF | F.OBJ_RELEASE), ANY)
_p("bpf_user_ringbuf_drain_proto", _H.user_ringbuf_drain, INT, MAP, FUNC, STACK_OR_NULL, ANY)

# --- kernel/bpf/syscall.c (BPF_PROG_TYPE_SYSCALL) -----------------------------
_p("bpf_sys_bpf_proto", _H.sys_bpf, INT, ANY, MEM_RO, SIZE)
_p("bpf_sys_close_proto", _H.sys_close, INT, ANY)
_p("bpf_btf_find_by_name_kind_proto", _H.btf_find_by_name_kind, INT, MEM_RO, SIZE, ANY, ANY)
_p("bpf_kallsyms_lookup_name_proto", _H.kallsyms_lookup_name, INT, MEM_RO, SIZE, ANY,
   _fixed(8, F.MEM_UNINIT | F.MEM_WRITE | F.MEM_ALIGNED))

# --- kernel/trace/bpf_trace.c ------------------------------------------------
_p("bpf_trace_printk_proto", _H.trace_printk, INT, MEM_RO, SIZE, gpl=True)
_p("bpf_trace_vprintk_proto", _H.trace_vprintk, INT, MEM_RO, SIZE, MEM_RO_OR_NULL, SIZE0, gpl=True)
_p("bpf_probe_read_user_proto", _H.probe_read_user, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_read_user_str_proto", _H.probe_read_user_str, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_read_kernel_proto", _H.probe_read_kernel, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_read_kernel_str_proto", _H.probe_read_kernel_str, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_read_compat_proto", _H.probe_read, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_read_compat_str_proto", _H.probe_read_str, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_probe_write_user_proto", _H.probe_write_user, INT, ANY, MEM_RO, SIZE, gpl=True)
_p("bpf_get_current_task_proto", _H.get_current_task, INT, gpl=True)
_p("bpf_get_current_task_btf_proto", _H.get_current_task_btf,
   RetSpec(RetType.RET_PTR_TO_BTF_ID, F.PTR_TRUSTED, "task_struct"), gpl=True)
_p("bpf_task_pt_regs_proto", _H.task_pt_regs, RetSpec(RetType.RET_PTR_TO_BTF_ID, btf_id="pt_regs"),
   TASK, gpl=True)
_p("bpf_perf_event_read_proto", _H.perf_event_read, INT, MAP, ANY, gpl=True)
_p("bpf_perf_event_read_value_proto", _H.perf_event_read_value, INT, MAP, ANY, UNINIT, SIZE, gpl=True)
_p("bpf_current_task_under_cgroup_proto", _H.current_task_under_cgroup, INT, MAP, ANY)
_p("bpf_send_signal_proto", _H.send_signal, INT, ANY)
_p("bpf_send_signal_thread_proto", _H.send_signal_thread, INT, ANY)
_p("bpf_get_task_stack_proto", _H.get_task_stack, INT, TASK, UNINIT, SIZE0, ANY)
_p("bpf_snprintf_btf_proto", _H.snprintf_btf, INT, MEM_WR, SIZE, MEM_RO, SIZE, ANY)
_p("bpf_find_vma_proto", _H.find_vma, INT, TASK, ANY, FUNC, STACK_OR_NULL, ANY)
_p("bpf_get_branch_snapshot_proto", _H.get_branch_snapshot, INT, UNINIT, SIZE0, ANY, gpl=True)
_p("bpf_task_storage_get_proto", _H.task_storage_get, R_MAP_VALUE_OR_NULL, MAP, TASK_OR_NULL,
   VALUE_OR_NULL, ANY)
_p("bpf_task_storage_get_recur_proto", _H.task_storage_get, R_MAP_VALUE_OR_NULL, MAP, TASK_OR_NULL,
   VALUE_OR_NULL, ANY)
_p("bpf_task_storage_delete_proto", _H.task_storage_delete, INT, MAP, TASK_OR_NULL)
_p("bpf_task_storage_delete_recur_proto", _H.task_storage_delete, INT, MAP, TASK_OR_NULL)
_same(_H.perf_event_output, INT, (CTX, MAP, ANY, MEM_RO, SIZE0), "bpf_perf_event_output_proto",
      "bpf_perf_event_output_proto_tp", "bpf_perf_event_output_proto_raw_tp", gpl=True)
_same(_H.get_stackid, INT, (CTX, MAP, ANY), "bpf_get_stackid_proto", "bpf_get_stackid_proto_tp",
      "bpf_get_stackid_proto_raw_tp", gpl=True)
# The perf_event variant alone is not GPL-only (the running kernel agrees).
_p("bpf_get_stackid_proto_pe", _H.get_stackid, INT, CTX, MAP, ANY)
_same(_H.get_stack, INT, (CTX, UNINIT, SIZE0, ANY), "bpf_get_stack_proto", "bpf_get_stack_proto_tp",
      "bpf_get_stack_proto_pe", gpl=True)
# The raw-tracepoint variant really declares its output buffer read-only.
_p("bpf_get_stack_proto_raw_tp", _H.get_stack, INT, CTX, MEM_RO, SIZE0, ANY, gpl=True)
_p("bpf_override_return_proto", _H.override_return, INT, CTX, ANY, gpl=True)
_same(_H.get_func_ip, INT, (CTX,), "bpf_get_func_ip_proto_kprobe", "bpf_get_func_ip_proto_kprobe_multi",
      "bpf_get_func_ip_proto_tracing", gpl=True)
_same(_H.get_attach_cookie, INT, (CTX,), "bpf_get_attach_cookie_proto_trace",
      "bpf_get_attach_cookie_proto_kmulti", "bpf_get_attach_cookie_proto_pe",
      "bpf_get_attach_cookie_proto_tracing")
_p("bpf_perf_prog_read_value_proto", _H.perf_prog_read_value, INT, CTX, UNINIT, SIZE, gpl=True)
_p("bpf_read_branch_records_proto", _H.read_branch_records, INT, CTX, MEM_OR_NULL, SIZE0, ANY, gpl=True)

# --- net/core/filter.c -------------------------------------------------------
_p("bpf_skb_load_bytes_proto", _H.skb_load_bytes, INT, CTX, ANY, UNINIT, SIZE)
_p("bpf_flow_dissector_load_bytes_proto", _H.skb_load_bytes, INT, CTX, ANY, UNINIT, SIZE)
_p("bpf_skb_load_bytes_relative_proto", _H.skb_load_bytes_relative, INT, CTX, ANY, UNINIT, SIZE, ANY)
_p("bpf_skb_store_bytes_proto", _H.skb_store_bytes, INT, CTX, ANY, MEM_RO, SIZE, ANY)
_same(_H.skb_pull_data, INT, (CTX, ANY), "bpf_skb_pull_data_proto", "sk_skb_pull_data_proto")
_p("bpf_csum_diff_proto", _H.csum_diff, INT, MEM_RO_OR_NULL, SIZE0, MEM_RO_OR_NULL, SIZE0, ANY, pkt=True)
_p("bpf_csum_update_proto", _H.csum_update, INT, CTX, ANY)
_p("bpf_csum_level_proto", _H.csum_level, INT, CTX, ANY)
_p("bpf_l3_csum_replace_proto", _H.l3_csum_replace, INT, CTX, ANY, ANY, ANY, ANY)
_p("bpf_l4_csum_replace_proto", _H.l4_csum_replace, INT, CTX, ANY, ANY, ANY, ANY)
_p("bpf_clone_redirect_proto", _H.clone_redirect, INT, CTX, ANY, ANY)
_p("bpf_get_cgroup_classid_proto", _H.get_cgroup_classid, INT, CTX)
_p("bpf_get_cgroup_classid_curr_proto", _H.get_cgroup_classid, INT)
_p("bpf_skb_vlan_push_proto", _H.skb_vlan_push, INT, CTX, ANY, ANY)
_p("bpf_skb_vlan_pop_proto", _H.skb_vlan_pop, INT, CTX)
_p("bpf_skb_change_proto_proto", _H.skb_change_proto, INT, CTX, ANY, ANY)
_p("bpf_skb_change_type_proto", _H.skb_change_type, INT, CTX, ANY)
_same(_H.skb_adjust_room, INT, (CTX, ANY, ANY, ANY), "bpf_skb_adjust_room_proto", "sk_skb_adjust_room_proto")
_same(_H.skb_change_tail, INT, (CTX, ANY, ANY), "bpf_skb_change_tail_proto", "sk_skb_change_tail_proto")
_same(_H.skb_change_head, INT, (CTX, ANY, ANY), "bpf_skb_change_head_proto", "sk_skb_change_head_proto")
_p("bpf_skb_get_tunnel_key_proto", _H.skb_get_tunnel_key, INT, CTX, UNINIT, SIZE, ANY)
_p("bpf_skb_set_tunnel_key_proto", _H.skb_set_tunnel_key, INT, CTX, MEM_RO, SIZE, ANY)
_p("bpf_skb_get_tunnel_opt_proto", _H.skb_get_tunnel_opt, INT, CTX, UNINIT, SIZE)
_p("bpf_skb_set_tunnel_opt_proto", _H.skb_set_tunnel_opt, INT, CTX, MEM_RO, SIZE)
_p("bpf_redirect_proto", _H.redirect, INT, ANY, ANY)
_p("bpf_xdp_redirect_proto", _H.redirect, INT, ANY, ANY)
_p("bpf_redirect_neigh_proto", _H.redirect_neigh, INT, ANY, MEM_RO_OR_NULL, SIZE0, ANY)
_p("bpf_redirect_peer_proto", _H.redirect_peer, INT, ANY, ANY)
_p("bpf_xdp_redirect_map_proto", _H.redirect_map, INT, MAP, ANY, ANY)
_p("bpf_get_route_realm_proto", _H.get_route_realm, INT, CTX)
_p("bpf_get_hash_recalc_proto", _H.get_hash_recalc, INT, CTX)
_p("bpf_set_hash_invalid_proto", _H.set_hash_invalid, INT, CTX)
_p("bpf_set_hash_proto", _H.set_hash, INT, CTX, ANY)
_same(_H.perf_event_output, INT, (CTX, MAP, ANY, MEM_RO, SIZE0), "bpf_skb_event_output_proto",
      "bpf_xdp_event_output_proto", gpl=True)
_p("bpf_skb_under_cgroup_proto", _H.skb_under_cgroup, INT, CTX, MAP, ANY)
_p("bpf_get_socket_cookie_proto", _H.get_socket_cookie, INT, CTX)
_p("bpf_get_socket_cookie_sock_proto", _H.get_socket_cookie, INT, CTX)
_p("bpf_get_socket_cookie_sock_addr_proto", _H.get_socket_cookie, INT, CTX)
_p("bpf_get_socket_cookie_sock_ops_proto", _H.get_socket_cookie, INT, CTX)
_p("bpf_get_socket_uid_proto", _H.get_socket_uid, INT, CTX)
_same(_H.fib_lookup, INT, (CTX, MEM, SIZE, ANY), "bpf_skb_fib_lookup_proto", "bpf_xdp_fib_lookup_proto",
      gpl=True)
_same(_H.check_mtu, INT, (CTX, ANY, _fixed(4, F.MEM_UNINIT | F.MEM_WRITE | F.MEM_ALIGNED), ANY, ANY),
      "bpf_skb_check_mtu_proto", "bpf_xdp_check_mtu_proto", gpl=True)
_p("bpf_sk_fullsock_proto", _H.sk_fullsock, R_SOCKET_OR_NULL, SOCK_COMMON)
_same(_H.sk_storage_get, R_MAP_VALUE_OR_NULL, (MAP, BTF_SOCK_COMMON, VALUE_OR_NULL, ANY),
      "bpf_sk_storage_get_proto", "bpf_sk_storage_get_cg_sock_proto")
_p("bpf_sk_storage_delete_proto", _H.sk_storage_delete, INT, MAP, BTF_SOCK_COMMON)
_p("bpf_skb_get_xfrm_state_proto", _H.skb_get_xfrm_state, INT, CTX, ANY, UNINIT, SIZE, ANY)
_p("bpf_skb_cgroup_classid_proto", _H.skb_cgroup_classid, INT, CTX)
_p("bpf_skb_cgroup_id_proto", _H.skb_cgroup_id, INT, CTX)
_p("bpf_skb_ancestor_cgroup_id_proto", _H.skb_ancestor_cgroup_id, INT, CTX, ANY)
_p("bpf_sk_cgroup_id_proto", _H.sk_cgroup_id, INT, BTF_SOCK_COMMON)
_p("bpf_sk_ancestor_cgroup_id_proto", _H.sk_ancestor_cgroup_id, INT, BTF_SOCK_COMMON, ANY)
_LOOKUP_ARGS = (CTX, MEM_RO, SIZE, ANY, ANY)
_same(_H.sk_lookup_tcp, R_SOCKET_OR_NULL, _LOOKUP_ARGS, "bpf_sk_lookup_tcp_proto",
      "bpf_xdp_sk_lookup_tcp_proto", "bpf_sock_addr_sk_lookup_tcp_proto", pkt=True)
_same(_H.sk_lookup_udp, R_SOCKET_OR_NULL, _LOOKUP_ARGS, "bpf_sk_lookup_udp_proto",
      "bpf_xdp_sk_lookup_udp_proto", "bpf_sock_addr_sk_lookup_udp_proto", pkt=True)
_same(_H.skc_lookup_tcp, R_SOCK_COMMON_OR_NULL, _LOOKUP_ARGS, "bpf_skc_lookup_tcp_proto",
      "bpf_xdp_skc_lookup_tcp_proto", "bpf_sock_addr_skc_lookup_tcp_proto", pkt=True)
_p("bpf_sk_release_proto", _H.sk_release, INT, ArgSpec(A.ARG_PTR_TO_BTF_ID_SOCK_COMMON, F.OBJ_RELEASE))
_p("bpf_tcp_sock_proto", _H.tcp_sock, R_TCP_SOCK_OR_NULL, SOCK_COMMON)
_p("bpf_get_listener_sock_proto", _H.get_listener_sock, R_SOCKET_OR_NULL, SOCK_COMMON)
_p("bpf_tcp_check_syncookie_proto", _H.tcp_check_syncookie, INT, BTF_SOCK_COMMON, MEM_RO, SIZE,
   MEM_RO, SIZE, gpl=True, pkt=True)
_p("bpf_tcp_gen_syncookie_proto", _H.tcp_gen_syncookie, INT, BTF_SOCK_COMMON, MEM_RO, SIZE,
   MEM_RO, SIZE, gpl=True, pkt=True)
_p("bpf_tcp_raw_gen_syncookie_ipv4_proto", _H.tcp_raw_gen_syncookie_ipv4, INT, _fixed(20), MEM_RO, SIZE0,
   gpl=True, pkt=True)
_p("bpf_tcp_raw_gen_syncookie_ipv6_proto", _H.tcp_raw_gen_syncookie_ipv6, INT, _fixed(40), MEM_RO, SIZE0,
   gpl=True, pkt=True)
_p("bpf_tcp_raw_check_syncookie_ipv4_proto", _H.tcp_raw_check_syncookie_ipv4, INT, _fixed(20), _fixed(20),
   gpl=True, pkt=True)
_p("bpf_tcp_raw_check_syncookie_ipv6_proto", _H.tcp_raw_check_syncookie_ipv6, INT, _fixed(40), _fixed(20),
   gpl=True, pkt=True)
_p("bpf_skb_ecn_set_ce_proto", _H.skb_ecn_set_ce, INT, CTX)
_p("bpf_sk_assign_proto", _H.sk_assign, INT, CTX, BTF_SOCK_COMMON, ANY)
_p("bpf_skb_set_tstamp_proto", _H.skb_set_tstamp, INT, CTX, ANY, ANY)
_p("bpf_xdp_adjust_head_proto", _H.xdp_adjust_head, INT, CTX, ANY)
_p("bpf_xdp_adjust_tail_proto", _H.xdp_adjust_tail, INT, CTX, ANY)
_p("bpf_xdp_adjust_meta_proto", _H.xdp_adjust_meta, INT, CTX, ANY)
_p("bpf_xdp_get_buff_len_proto", _H.xdp_get_buff_len, INT, CTX)
_p("bpf_xdp_load_bytes_proto", _H.xdp_load_bytes, INT, CTX, ANY, UNINIT, SIZE)
_p("bpf_xdp_store_bytes_proto", _H.xdp_store_bytes, INT, CTX, ANY, MEM_RO, SIZE)
_p("bpf_lwt_in_push_encap_proto", _H.lwt_push_encap, INT, CTX, ANY, MEM_RO, SIZE)
_p("bpf_lwt_xmit_push_encap_proto", _H.lwt_push_encap, INT, CTX, ANY, MEM_RO, SIZE)
_p("bpf_lwt_seg6_store_bytes_proto", _H.lwt_seg6_store_bytes, INT, CTX, ANY, MEM_RO, SIZE)
_p("bpf_lwt_seg6_action_proto", _H.lwt_seg6_action, INT, CTX, ANY, MEM_RO, SIZE)
_p("bpf_lwt_seg6_adjust_srh_proto", _H.lwt_seg6_adjust_srh, INT, CTX, ANY, ANY)
_p("bpf_sk_redirect_map_proto", _H.sk_redirect_map, INT, CTX, MAP, ANY, ANY)
_p("bpf_sk_redirect_hash_proto", _H.sk_redirect_hash, INT, CTX, MAP, KEY, ANY)
_p("bpf_msg_redirect_map_proto", _H.msg_redirect_map, INT, CTX, MAP, ANY, ANY)
_p("bpf_msg_redirect_hash_proto", _H.msg_redirect_hash, INT, CTX, MAP, KEY, ANY)
_p("bpf_msg_apply_bytes_proto", _H.msg_apply_bytes, INT, CTX, ANY)
_p("bpf_msg_cork_bytes_proto", _H.msg_cork_bytes, INT, CTX, ANY)
_p("bpf_msg_pull_data_proto", _H.msg_pull_data, INT, CTX, ANY, ANY, ANY)
_p("bpf_msg_push_data_proto", _H.msg_push_data, INT, CTX, ANY, ANY, ANY)
_p("bpf_msg_pop_data_proto", _H.msg_pop_data, INT, CTX, ANY, ANY, ANY)
_p("bpf_get_local_storage_proto", _H.get_local_storage, RetSpec(RetType.RET_PTR_TO_MAP_VALUE), MAP, ANY)
_p("bpf_get_retval_proto", _H.get_retval, INT)
_p("bpf_set_retval_proto", _H.set_retval, INT, ANY)
_p("bpf_get_netns_cookie_proto", _H.get_netns_cookie, INT, CTX_OR_NULL)
_p("bpf_get_netns_cookie_sock_proto", _H.get_netns_cookie, INT, CTX_OR_NULL)
_p("bpf_get_netns_cookie_sock_addr_proto", _H.get_netns_cookie, INT, CTX_OR_NULL)
_p("bpf_get_netns_cookie_sock_ops_proto", _H.get_netns_cookie, INT, CTX_OR_NULL)
_p("bpf_get_netns_cookie_sk_msg_proto", _H.get_netns_cookie, INT, CTX_OR_NULL)
_p("bpf_sock_ops_setsockopt_proto", _H.setsockopt, INT, CTX, ANY, ANY, MEM_RO, SIZE)
_p("bpf_sock_ops_getsockopt_proto", _H.getsockopt, INT, CTX, ANY, ANY, UNINIT, SIZE)
_p("bpf_sock_ops_cb_flags_set_proto", _H.sock_ops_cb_flags_set, INT, CTX, ANY)
_p("bpf_sock_map_update_proto", _H.sock_map_update, INT, CTX, MAP, KEY, ANY)
_p("bpf_sock_hash_update_proto", _H.sock_hash_update, INT, CTX, MAP, KEY, ANY)
_p("bpf_sock_ops_load_hdr_opt_proto", _H.load_hdr_opt, INT, CTX, MEM, SIZE, ANY)
_p("bpf_sock_ops_store_hdr_opt_proto", _H.store_hdr_opt, INT, CTX, MEM_RO, SIZE, ANY)
_p("bpf_sock_ops_reserve_hdr_opt_proto", _H.reserve_hdr_opt, INT, CTX, ANY, ANY)
_SKC = "bpf_skc_to_{}_proto"
for _name, _btf in (("tcp6_sock", "tcp6_sock"), ("tcp_sock", "tcp_sock"),
                    ("tcp_timewait_sock", "tcp_timewait_sock"), ("tcp_request_sock", "tcp_request_sock"),
                    ("udp6_sock", "udp6_sock"), ("unix_sock", "unix_sock"), ("mptcp_sock", "mptcp_sock")):
    _p(_SKC.format(_name), HelperId[f"skc_to_{_name}"],
       RetSpec(RetType.RET_PTR_TO_BTF_ID, F.PTR_MAYBE_NULL, _btf), ArgSpec(A.ARG_PTR_TO_BTF_ID_SOCK_COMMON))


# The prototype each helper has where no program type overrides it (the one
# in bpf_base_func_proto / bpf_tracing_func_proto, else the networking one).
DEFAULT_PROTO: dict[HelperId, HelperProto] = {}
for _proto in PROTOS.values():
    DEFAULT_PROTO.setdefault(_proto.id, _proto)
for _sym in ("bpf_get_smp_processor_id_proto", "bpf_perf_event_output_proto", "bpf_get_stackid_proto",
             "bpf_get_stack_proto", "bpf_get_func_ip_proto_tracing", "bpf_redirect_proto",
             "bpf_skb_load_bytes_proto", "bpf_get_cgroup_classid_proto", "bpf_get_socket_cookie_proto"):
    DEFAULT_PROTO[PROTOS[_sym].id] = PROTOS[_sym]


def proto(key: int | str) -> HelperProto:
    """The prototype for a kernel proto symbol, or the default one for a helper id.

    Raises :class:`KeyError` when pybpf has no data for it.
    """
    if isinstance(key, str):
        return PROTOS[key]
    return DEFAULT_PROTO[HelperId(key)]


def _check_all(protos: Mapping[str, HelperProto]) -> None:
    # Data sanity at import: a malformed table would silently mislead the
    # verifier, so fail loudly instead.
    for sym, p in protos.items():
        bad = p.check_proto()
        assert not bad, (sym, bad)


_check_all(PROTOS)
