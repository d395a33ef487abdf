"""Differential tests: the running kernel's verifier against pybpf's platform data.

Each case loads a tiny program (a ctx load or store, or a helper call) and
compares the kernel's accept/reject, and its message, with what the data says.
Skips where bpf() cannot load programs (not root, no syscall).
"""

from __future__ import annotations

import kernel_probe as kp
import pytest

from pybpf.isa.helper_ids import HelperId
from pybpf.platform import LINUX, ProgType
from pybpf.platform.contexts import check_ctx_access, invalid_access_message
from pybpf.platform.progtypes import CONFIG_DEPENDENT, AttachType

pytestmark = pytest.mark.kernel

_why = kp.available()
if _why is not None:
    pytest.skip(_why, allow_module_level=True)

# Program type -> bytes of ctx to probe (the struct's size, or a window for tracepoints).
CTX_TYPES = {
    ProgType.SOCKET_FILTER: 192,
    ProgType.SCHED_CLS: 192,
    ProgType.SCHED_ACT: 192,
    ProgType.XDP: 24,
    ProgType.KPROBE: 168,
    ProgType.CGROUP_SKB: 192,
    ProgType.LWT_IN: 192,
    ProgType.LWT_XMIT: 192,
    ProgType.SK_SKB: 192,
    ProgType.FLOW_DISSECTOR: 192,
    ProgType.TRACEPOINT: 64,
    ProgType.RAW_TRACEPOINT: 96,
    ProgType.PERF_EVENT: 184,
}


def _ctx_program(off: int, size: int, write: bool) -> bytes:
    if write:
        return kp.mov_imm(2, 0) + kp.stx(size, 1, 2, off) + kp.mov_imm(0, 0) + kp.EXIT
    # r0 is overwritten so a pointer load does not leak into the return value.
    return kp.ldx(size, 0, 1, off) + kp.mov_imm(0, 0) + kp.EXIT


def _ctx_mismatches(ptype: ProgType, span: int, attach: int = 0) -> list[str]:
    bad = []
    for write in (False, True):
        for size in (1, 2, 4, 8):
            for off in range(-16, span + 16):
                if off % size:
                    continue
                got = kp.load(int(ptype), _ctx_program(off, size, write), attach=attach)
                mine = check_ctx_access(ptype, off, size, write, attach=attach or None)
                what = f"{'store' if write else 'load'} off={off} size={size}"
                if got.ok != mine.ok:
                    bad.append(f"{what}: kernel {'accepts' if got.ok else 'rejects'}, pybpf says {mine.ok}")
                elif not got.ok and invalid_access_message(off, size) not in got.log:
                    bad.append(f"{what}: kernel message differs: {got.log.splitlines()[2:3]}")
    return bad


@pytest.mark.parametrize("ptype", list(CTX_TYPES), ids=lambda t: t.name.lower())
def test_ctx_access_matches_kernel(ptype: ProgType) -> None:
    assert _ctx_mismatches(ptype, CTX_TYPES[ptype]) == []


def test_xdp_devmap_ctx_access_matches_kernel() -> None:
    assert _ctx_mismatches(ProgType.XDP, 24, attach=AttachType.XDP_DEVMAP) == []


@pytest.mark.parametrize("attach", [AttachType.CGROUP_INET_SOCK_CREATE, AttachType.CGROUP_INET4_POST_BIND,
                                    AttachType.CGROUP_INET6_POST_BIND], ids=lambda a: a.name.lower())
def test_cgroup_sock_ctx_access_matches_kernel(attach: AttachType) -> None:
    assert _ctx_mismatches(ProgType.CGROUP_SOCK, 80, attach=attach) == []


HELPER_TYPES = {
    ProgType.SOCKET_FILTER: 0,
    ProgType.SCHED_CLS: 0,
    ProgType.SCHED_ACT: 0,
    ProgType.XDP: 0,
    ProgType.KPROBE: 0,
    ProgType.TRACEPOINT: 0,
    ProgType.RAW_TRACEPOINT: 0,
    ProgType.PERF_EVENT: 0,
    ProgType.CGROUP_SKB: 0,
    ProgType.LWT_IN: 0,
    ProgType.LWT_OUT: 0,
    ProgType.LWT_XMIT: 0,
    ProgType.SK_SKB: 0,
    ProgType.FLOW_DISSECTOR: AttachType.FLOW_DISSECTOR,
    ProgType.CGROUP_SOCK: AttachType.CGROUP_INET_SOCK_CREATE,
    ProgType.SOCK_OPS: AttachType.CGROUP_SOCK_OPS,
    ProgType.SK_MSG: AttachType.SK_MSG_VERDICT,
}


@pytest.mark.parametrize("ptype", list(HELPER_TYPES), ids=lambda t: t.name.lower())
def test_allowed_helpers_and_gpl_only_match_kernel(ptype: ProgType) -> None:
    attach = int(HELPER_TYPES[ptype])
    allowed = LINUX.allowed_helpers(ptype)
    bad = []
    for hid in HelperId:
        if hid is HelperId.unspec or hid in CONFIG_DEPENDENT:
            continue
        # A proprietary license: an allowed GPL-only helper is refused with its own message.
        got = kp.load(int(ptype), kp.call(int(hid)) + kp.mov_imm(0, 0) + kp.EXIT, license="Proprietary",
                      attach=attach)
        refused = f"program of this type cannot use helper bpf_{hid.name}#{int(hid)}" in got.log
        if refused == (hid in allowed):
            bad.append(f"{hid.name}: kernel {'refuses' if refused else 'allows'}")
            continue
        if not refused:
            gpl = "cannot call GPL-restricted function from non-GPL compatible program" in got.log
            proto = LINUX.helper_proto(ptype, hid)
            assert proto is not None
            if proto.gpl_only != gpl:
                bad.append(f"{hid.name}: kernel gpl_only={gpl}, pybpf {proto.symbol} says {proto.gpl_only}")
    assert bad == []


def test_unknown_helper_id_message() -> None:
    got = kp.load(1, kp.call(5000) + kp.mov_imm(0, 0) + kp.EXIT)
    assert not got.ok and "invalid func unknown#5000" in got.log
