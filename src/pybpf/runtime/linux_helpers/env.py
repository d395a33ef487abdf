"""What Linux helpers see besides their arguments: the object's environment and the run.

:class:`Env` lives as long as a loaded object (its memory, maps, task, CPU,
tables and captured trace output); :class:`Run` lives for one test run (the
packet, the ctx, redirects, tail call count, open ring buffer records).
Helpers are plain functions ``fn(env, hctx, r1, ..., r5)``; :func:`bind`
turns one into the ``fn(hctx, r1, ..., r5)`` a HelperRegistry holds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import PyBpfError
from ..context import Packet
from ..fib import FibTable
from ..helpers import HelperContext, HelperFn
from ..maps_rt import MapRuntime
from ..memory import MASK64, Memory, Region
from ..sockets import SocketTable
from ..task import Task

__all__ = ["Env", "LinuxHelper", "Redirect", "Run", "bind", "neg"]

LinuxHelper = Callable[["Env", HelperContext, int, int, int, int, int], int]


def neg(errno: int) -> int:
    """A negative errno as the 64-bit register value helpers return."""
    return -errno & MASK64


@dataclass(frozen=True)
class Redirect:
    """A redirect the program asked for (bpf_redirect, redirect_map, clone_redirect)."""

    helper: str
    ifindex: int
    flags: int = 0
    map: str | None = None
    key: int | None = None


@dataclass
class Run:
    """State of one test run."""

    prog_type: int | None = None
    ctx: Region | None = None
    packet: Packet | None = None
    redirects: list[Redirect] = field(default_factory=list)
    ringbuf_records: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # addr -> (map, record)
    tail_calls: int = 0
    locks: set[int] = field(default_factory=set)
    sockets: dict[int, Any] = field(default_factory=dict)  # socket pointer -> Socket
    sync_ctx: Callable[[], None] | None = None  # refresh ctx packet fields after a packet change


class Env:
    """The environment of one object's programs."""

    def __init__(self, memory: Memory, maps: MapRuntime, *, task: Task | None = None, cpu: int = 0,
                 num_cpus: int = 1, sockets: SocketTable | None = None, fib: FibTable | None = None,
                 seed: int | None = None, numa_node: int = 0) -> None:
        self.memory = memory
        self.maps = maps
        self.task = task or Task()
        self.cpu = cpu
        self.num_cpus = num_cpus
        self.numa_node = numa_node
        self.sockets = sockets or SocketTable()
        self.fib = fib or FibTable()
        self.trace_output: list[str] = []
        self.random = random.Random(seed)
        self.boot = time.monotonic_ns()
        self.run: Run = Run()

    def packet(self) -> Packet:
        pkt = self.run.packet
        if pkt is None:
            raise PyBpfError("this run has no packet")
        return pkt


def bind(env: Env, fn: LinuxHelper) -> HelperFn:
    """``fn`` with ``env`` bound, in the shape a HelperRegistry holds."""

    def helper(hctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        return fn(env, hctx, r1, r2, r3, r4, r5)

    helper.__name__ = getattr(fn, "__name__", "helper")
    return helper
