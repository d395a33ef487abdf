"""Time, randomness, CPU and current-task helpers (kernel/bpf/helpers.c)."""

from __future__ import annotations

import errno as E
import time

from ...isa.helper_ids import HelperId as H
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS", "HZ"]

HZ = 1000  # CONFIG_HZ of the reference kernel; jiffies64 counts at this rate
INITIAL_JIFFIES = (-300 * HZ) & 0xFFFF_FFFF  # the kernel starts jiffies 5 minutes before wrap


def ktime_get_ns(env: Env, h: HelperContext, *_: int) -> int:
    return time.monotonic_ns()


def ktime_get_boot_ns(env: Env, h: HelperContext, *_: int) -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") \
        else time.monotonic_ns()


def ktime_get_coarse_ns(env: Env, h: HelperContext, *_: int) -> int:
    # CLOCK_MONOTONIC_COARSE: the last tick's value; one-tick resolution is what matters.
    now = time.monotonic_ns()
    return now - now % (1_000_000_000 // HZ)


def ktime_get_tai_ns(env: Env, h: HelperContext, *_: int) -> int:
    return time.clock_gettime_ns(time.CLOCK_TAI) if hasattr(time, "CLOCK_TAI") else time.time_ns()


def jiffies64(env: Env, h: HelperContext, *_: int) -> int:
    return INITIAL_JIFFIES + time.monotonic_ns() * HZ // 1_000_000_000


def get_prandom_u32(env: Env, h: HelperContext, *_: int) -> int:
    return env.random.getrandbits(32)


def get_smp_processor_id(env: Env, h: HelperContext, *_: int) -> int:
    return env.cpu


def get_numa_node_id(env: Env, h: HelperContext, *_: int) -> int:
    return env.numa_node


def get_current_pid_tgid(env: Env, h: HelperContext, *_: int) -> int:
    return env.task.pid_tgid


def get_current_uid_gid(env: Env, h: HelperContext, *_: int) -> int:
    return env.task.uid_gid


def get_current_comm(env: Env, h: HelperContext, r1: int, r2: int, *_: int) -> int:
    size = r2 & 0xFFFF_FFFF
    if size == 0:
        return neg(E.EINVAL)
    env.memory.write(r1, env.task.comm_bytes(size))
    return 0


HELPERS = {
    H.ktime_get_ns: ktime_get_ns, H.ktime_get_boot_ns: ktime_get_boot_ns,
    H.ktime_get_coarse_ns: ktime_get_coarse_ns, H.ktime_get_tai_ns: ktime_get_tai_ns,
    H.jiffies64: jiffies64, H.get_prandom_u32: get_prandom_u32,
    H.get_smp_processor_id: get_smp_processor_id, H.get_numa_node_id: get_numa_node_id,
    H.get_current_pid_tgid: get_current_pid_tgid, H.get_current_uid_gid: get_current_uid_gid,
    H.get_current_comm: get_current_comm,
}
