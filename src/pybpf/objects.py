"""Run real programs: an ELF object's maps created, its programs bound, test runs like the kernel's.

>>> obj = load_object("xdp_prog.o")                                 # doctest: +SKIP
>>> res = obj.programs["xdp_pass"].test_run(packet)                 # doctest: +SKIP
>>> res.verdict, res.data_out == packet                             # doctest: +SKIP
('XDP_PASS', True)

:func:`load_object` takes a path, the object's bytes or an
:class:`~pybpf.elf.ObjectSpec`; it creates every map (initial contents,
``.rodata`` frozen, prog_array and map-in-map slots filled), checks each
program as the kernel's loader would (helpers allowed for the program type
and implemented, ctx accesses allowed) and binds it to the maps.  A
:class:`BpfProgram` then runs with :meth:`BpfProgram.test_run`, which
follows ``BPF_PROG_TEST_RUN`` (see :mod:`pybpf.runtime.testrun`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .elf import ObjectSpec, ProgramSpec, load_spec
from .errors import PyBpfError
from .interp import Interpreter, TraceStep
from .isa import Insn, Program, PseudoSrc
from .maps import ArrayMap, Map, MapInvalidError, MapType, ProgArrayMap, create_map
from .platform import ProgType, prog_type_info
from .runtime.context import check_ctx_accesses
from .runtime.fib import FibTable
from .runtime.helpers import HelperFn, HelperRegistry
from .runtime.linux_helpers import Env, Redirect, Run, TailCall, check_helpers, linux_registry
from .runtime.maps_rt import MapRuntime
from .runtime.memory import Memory
from .runtime.sockets import SocketTable
from .runtime.task import Task
from .runtime.testrun import TestRunError, prepare

__all__ = ["BpfObject", "BpfProgram", "TestRunError", "TestRunResult", "load_object"]


@dataclass(frozen=True)
class TestRunResult:
    """What one test run produced (the fields of BPF_PROG_TEST_RUN plus what pybpf can add).

    ``retval`` is the kernel's 32-bit retval (the full 64-bit r0 for programs
    without a type); ``verdict`` names it for the program type (``XDP_PASS``,
    ``TC_ACT_OK``, ``SK_PASS`` ...); ``insns`` counts executed instructions;
    ``redirects`` lists the redirects the program asked for.
    """

    __test__ = False

    retval: int
    data_out: bytes
    ctx_out: bytes | None
    duration_ns: int
    insns: int
    verdict: str | None
    trace: tuple[TraceStep, ...] | None = None
    redirects: tuple[Redirect, ...] = ()


def verdict_of(prog_type: int | None, retval: int) -> str | None:
    """The name of ``retval`` for ``prog_type`` (None when the value has no name)."""
    if prog_type is None:
        return None
    info = prog_type_info(prog_type)
    if info.ret_meaning == "bytes":
        return "drop" if retval == 0 else f"keep {retval} bytes"
    signed = retval - (1 << 32) if retval >> 31 else retval
    return info.ret_codes.get(signed, info.ret_codes.get(retval))


class BpfProgram:
    """One program of a loaded object, bound to the object's maps."""

    def __init__(self, obj: BpfObject, spec: ProgramSpec, prog_type: int | None) -> None:
        self.object = obj
        self.spec = spec
        self.name = spec.name
        self.section = spec.section
        self.prog_type: ProgType | None = None if prog_type is None else ProgType(prog_type)
        self.insns: Program = spec.insns
        check_helpers(self.insns, self.prog_type, obj.user_helpers, name=self.name)
        if self.prog_type is not None:
            check_ctx_accesses(self.insns, self.prog_type, attach=spec.attach_type, name=self.name)
        try:
            self._interp = Interpreter(self.insns, helpers=obj.registry, resolver=obj.resolve,
                                       budget=obj.budget)
        except PyBpfError as exc:
            raise PyBpfError(f"program {self.name!r}: {exc.reason}", pc=exc.pc) from exc

    def __repr__(self) -> str:
        kind = self.prog_type.name.lower() if self.prog_type is not None else "raw"
        return f"BpfProgram({self.name!r}, section={self.section!r}, type={kind})"

    def test_run(self, data: bytes = b"", *, ctx: bytes | dict[str, int] | None = None, repeat: int = 1,
                 trace: bool = False) -> TestRunResult:
        """Run like BPF_PROG_TEST_RUN: ``repeat`` times on the same packet/ctx; the last retval counts."""
        if repeat < 1:
            repeat = 1
        env = self.object.env
        env.run = Run(prog_type=self.prog_type)
        prepared = prepare(env, self.prog_type, bytes(data), ctx)
        steps: list[TraceStep] = []
        insns = 0
        r0 = 0
        try:
            start = time.perf_counter_ns()
            for _ in range(repeat):
                env.run.tail_calls = 0
                prog: BpfProgram = self
                while True:
                    packet = prepared.ld_abs()
                    try:
                        res = prog._interp.run(env.memory, r1=prepared.r1, r2=prepared.r2, trace=trace,
                                               packet=packet)
                    except TailCall as call:
                        target = call.target
                        if not isinstance(target, BpfProgram):
                            raise PyBpfError(f"prog_array slot holds {target!r}, not a program") from None
                        prog = target
                        continue
                    insns += res.insns
                    r0 = res.r0
                    if res.trace is not None:
                        steps.extend(res.trace)
                    break
                self._check_run_end(env.run)
            elapsed = time.perf_counter_ns() - start
            data_out, ctx_out = prepared.finish()
        finally:
            for release in reversed(prepared.release):
                release()
            for region in env.run.sockets.values():
                env.memory.remove(region)
            env.run.sockets.clear()
        retval = r0 if self.prog_type is None else r0 & 0xFFFF_FFFF
        return TestRunResult(retval=retval, data_out=data_out, ctx_out=ctx_out,
                             duration_ns=elapsed // repeat, insns=insns // repeat,
                             verdict=verdict_of(self.prog_type, retval),
                             trace=tuple(steps) if trace else None,
                             redirects=tuple(env.run.redirects))

    def _check_run_end(self, run: Run) -> None:
        # The verifier refuses programs that can leave these behind; report rather than leak.
        if run.ringbuf_records:
            addrs = ", ".join(f"{a:#x}" for a in run.ringbuf_records)
            run.ringbuf_records.clear()
            raise PyBpfError(f"program {self.name!r} ended with ring buffer records neither "
                             f"submitted nor discarded ({addrs})")
        if run.locks:
            run.locks.clear()
            raise PyBpfError(f"program {self.name!r} ended holding a bpf_spin_lock")


class BpfObject:
    """Live maps and programs of one object."""

    def __init__(self, spec: ObjectSpec, *, num_cpus: int | None = None, task: Task | None = None,
                 sockets: SocketTable | None = None, fib: FibTable | None = None,
                 helpers: HelperRegistry | Mapping[int, HelperFn] | None = None, cpu: int = 0,
                 budget: int = 1_000_000, seed: int | None = None,
                 prog_types: Mapping[str, int | str | None] | None = None) -> None:
        self.spec = spec
        self.budget = budget
        ncpu = num_cpus if num_cpus is not None else (os.cpu_count() or 1)
        if not 0 <= cpu < ncpu:
            raise PyBpfError(f"cpu {cpu} is not one of the {ncpu} CPUs")
        self.memory = Memory()
        self.map_runtime = MapRuntime(self.memory)
        self.env = Env(self.memory, self.map_runtime, task=task, cpu=cpu, num_cpus=ncpu,
                       sockets=sockets, fib=fib, seed=seed)
        self.user_helpers = HelperRegistry()
        if isinstance(helpers, HelperRegistry):
            self.user_helpers = helpers.copy()
        elif helpers is not None:
            for hid, fn in helpers.items():
                self.user_helpers.register(hid, fn)
        self.registry = linux_registry(self.env, self.user_helpers)
        self.maps: dict[str, Map] = {}
        for name, mspec in spec.maps.items():
            try:
                self.maps[name] = create_map(mspec, num_cpus=ncpu)
            except PyBpfError as exc:
                raise PyBpfError(f"map {name!r}: {exc}") from exc
            self.map_runtime.add(name, self.maps[name])
            m = self.maps[name]
            if isinstance(m, ProgArrayMap):
                m.check_program = self._check_tail_target
        self.programs: dict[str, BpfProgram] = {}
        for name, pspec in spec.programs.items():
            ptype: int | str | None = pspec.prog_type
            if prog_types is not None and name in prog_types:
                ptype = prog_types[name]
            resolved = None if ptype is None else prog_type_info(ptype).type
            self.programs[name] = BpfProgram(self, pspec, resolved)
        self._fill_refs()

    @property
    def trace_output(self) -> list[str]:
        """Lines printed by bpf_trace_printk/trace_vprintk, oldest first."""
        return self.env.trace_output

    @property
    def task(self) -> Task:
        return self.env.task

    @task.setter
    def task(self, task: Task) -> None:
        self.env.task = task

    @property
    def cpu(self) -> int:
        return self.env.cpu

    @cpu.setter
    def cpu(self, cpu: int) -> None:
        if not 0 <= cpu < self.env.num_cpus:
            raise PyBpfError(f"cpu {cpu} is not one of the {self.env.num_cpus} CPUs")
        self.env.cpu = cpu

    def register_helper(self, id: int, fn: HelperFn, *, name: str | None = None) -> None:
        """Add (or replace) a helper by Linux id for every program of this object.

        Programs already loaded keep the helpers they were checked with; the
        new helper is bound into the shared registry, so it serves their next
        runs when the id was already callable.
        """
        self.user_helpers.register(id, fn, name=name)
        self.registry.register(id, fn, name=name)
        for prog in self.programs.values():
            prog._interp = Interpreter(prog.insns, helpers=self.registry, resolver=self.resolve,
                                       budget=self.budget)

    def _check_tail_target(self, obj: Any) -> None:
        # The kernel takes program fds of the array owner's type; here: programs of this object.
        if not isinstance(obj, BpfProgram) or obj.object is not self:
            raise MapInvalidError(f"a prog_array slot takes a program of this object, not {obj!r}")

    def _fill_refs(self) -> None:
        for name, mspec in self.spec.maps.items():
            m = self.maps[name]
            for slot, ref in mspec.initial_refs:
                target: Any = self.programs.get(ref) if isinstance(m, ProgArrayMap) else self.maps.get(ref)
                if target is None:
                    raise PyBpfError(f"map {name!r}: slot {slot} names {ref!r}, which this object lacks")
                m[slot] = target

    def resolve(self, pc: int, insn: Insn) -> int:
        """The value of a map LD_IMM64 (the interpreter's load-time resolver)."""
        meta = insn.meta or {}
        name = meta.get("map")
        if name is None or name not in self.maps:
            raise PyBpfError(f"ld_imm64 {PseudoSrc(insn.src).name} names no map of this object", pc=pc)
        m = self.maps[name]
        if insn.src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
            return self.map_runtime.pointer_of(m)
        if not isinstance(m, ArrayMap) or m.type is not MapType.ARRAY:
            # the kernel's map_direct_value_addr exists for BPF_MAP_TYPE_ARRAY only
            raise PyBpfError(f"map {name!r}: direct value access needs an array map", pc=pc)
        offset = int(meta.get("map_offset", insn.imm >> 32))
        if offset >= m.value_size:
            raise PyBpfError(f"map {name!r}: direct value offset {offset} is beyond the "
                             f"{m.value_size}-byte value", pc=pc)
        ref = m.value_ref(0)
        return self.map_runtime.value_pointer(m, ref) + offset

    def close(self) -> None:
        self.map_runtime.close()

    def __enter__(self) -> BpfObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BpfObject(programs={list(self.programs)}, maps={list(self.maps)})"


def load_object(source: str | os.PathLike[str] | bytes | bytearray | ObjectSpec, *,
                num_cpus: int | None = None, task: Task | None = None,
                sockets: SocketTable | None = None, fib: FibTable | None = None,
                helpers: HelperRegistry | Mapping[int, HelperFn] | None = None, **options: Any
                ) -> BpfObject:
    """Create an object's maps and bind its programs; raises a PyBpfError naming what is wrong.

    ``num_cpus`` sizes per-CPU maps (default: ``os.cpu_count()``); ``task``,
    ``sockets`` and ``fib`` are what bpf_get_current_*, bpf_sk_lookup_* and
    bpf_fib_lookup see; ``helpers`` adds Python helpers by Linux id.  Other
    options: ``cpu`` (the CPU programs run on, default 0), ``budget``
    (instructions per run), ``seed`` (bpf_get_prandom_u32), ``prog_types``
    (program name -> type, overriding the section; None runs it uBPF style).
    One object runs one test run at a time (its run state is shared).
    """
    spec = source if isinstance(source, ObjectSpec) else load_spec(source)
    return BpfObject(spec, num_cpus=num_cpus, task=task, sockets=sockets, fib=fib, helpers=helpers,
                     **options)

