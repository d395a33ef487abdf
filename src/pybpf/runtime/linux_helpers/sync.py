"""bpf_spin_lock/unlock, bpf_loop and bpf_get_func_ip (kernel/bpf/helpers.c, bpf_trace.c).

A run is single-threaded, so a lock only has to be checked, not waited for:
taking a lock the run already holds would deadlock in the kernel (the
verifier refuses it), so it is an error here; the lock word is set while held.
"""

from __future__ import annotations

import errno as E

from ...isa.helper_ids import HelperId as H
from ...platform import ProgType
from ...platform.contexts import PT_REGS
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["BPF_MAX_LOOPS", "HELPERS"]

BPF_MAX_LOOPS = 1 << 23


def spin_lock(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    if r1 in env.run.locks:
        raise ValueError(f"bpf_spin_lock at {r1:#x} is already held by this program (deadlock)")
    env.memory.store(r1, 4, 1)
    env.run.locks.add(r1)
    return 0


def spin_unlock(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    if r1 not in env.run.locks:
        raise ValueError(f"bpf_spin_unlock at {r1:#x} without bpf_spin_lock")
    env.memory.store(r1, 4, 0)
    env.run.locks.discard(r1)
    return 0


def loop(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """bpf_loop(nr_loops, callback_fn, callback_ctx, flags): callback(i, ctx) until it returns 1."""
    nr = r1 & 0xFFFF_FFFF
    if r4:
        return neg(E.EINVAL)
    if nr > BPF_MAX_LOOPS:
        return neg(E.E2BIG)
    call = h.state["call_subprog"]
    for i in range(nr):
        if call(r2, i, r3, 0, 0, 0) & 0xFFFF_FFFF_FFFF_FFFF:
            return i + 1
    return nr


def get_func_ip(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    # kprobes report the probed address; pybpf's probe point is the ctx's saved ip.
    ctx = env.run.ctx
    if env.run.prog_type == ProgType.KPROBE and ctx is not None and ctx.size >= PT_REGS.size:
        off = PT_REGS.offsetof("ip")
        return int.from_bytes(ctx.buffer[off:off + 8], "little")
    return 0


HELPERS = {H.spin_lock: spin_lock, H.spin_unlock: spin_unlock, H.loop: loop, H.get_func_ip: get_func_ip}
