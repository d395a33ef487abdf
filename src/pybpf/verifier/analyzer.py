"""``verify()``: the whole of ``bpf_check()`` -- structure, maps, then path exploration.

>>> from pybpf.asm import assemble
>>> verify(assemble("r0 = r2\\nexit"), prog_type="socket_filter").error
'R2 !read_ok'
>>> verify(assemble("r0 = 0\\nexit"), prog_type="xdp").accepted
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import PyBpfError
from ..isa import Form, Program
from ..isa.helper_ids import HelperId
from ..isa.opcodes import OPCODES
from ..maps.spec import MapSpec, MapType
from ..platform import LINUX, Platform
from ..platform.progtypes import ProgType, ProgTypeInfo, UnknownProgTypeError
from .cfg import CfgError, call_graph, check_cfg, check_subprogs, live_regs, successors
from .checker import COMPLEXITY_LIMIT, Checker, Options, Reject, insn_text
from .log import VerifierLog
from .messages import M

__all__ = ["Report", "VerifierError", "verify"]


class VerifierError(PyBpfError, ValueError):
    """Raised by :meth:`Report.raise_for_error` (and loaders) when a program is rejected.

    ``code`` is the catalogue code, ``log`` the full verifier log, ``pc`` the
    failing instruction when there is one.
    """

    def __init__(self, reason: str, *, pc: int | None = None, code: str = "", log: str = "") -> None:
        self.code = code
        self.log = log
        super().__init__(reason, pc=pc)


@dataclass(frozen=True)
class Report:
    """What the verifier decided, and the log that explains it."""

    accepted: bool
    error: str | None
    code: str | None
    pc: int | None
    log: str
    processed_insns: int
    total_states: int = 0
    peak_states: int = 0
    max_states_per_insn: int = 0
    stack_depth: tuple[int, ...] = ()

    def summary(self, lines: int = 6) -> str:
        """The last relevant lines of the log: the failing instruction and the message."""
        body = [ln for ln in self.log.splitlines() if ln and not ln.startswith("processed ")]
        head = "accepted" if self.accepted else f"rejected: {self.error}"
        return "\n".join([head, *body[-lines:]]) if not self.accepted else head

    def raise_for_error(self) -> None:
        if not self.accepted:
            raise VerifierError(self.error or "rejected", pc=self.pc, code=self.code or "", log=self.log)


def _prog_type(platform: Platform, prog_type: int | str | ProgType) -> ProgTypeInfo:
    try:
        return platform.prog_type(prog_type if not isinstance(prog_type, ProgType) else int(prog_type))
    except UnknownProgTypeError:
        raise
    except (KeyError, ValueError) as exc:
        raise UnknownProgTypeError(f"unknown program type {prog_type!r}") from exc


def _resolve_maps(program: Program, maps: Mapping[int | str, MapSpec]) -> dict[int, MapSpec]:
    """resolve_pseudo_ldimm64(): every LD_IMM64 that names a map must find one."""
    found: dict[int, MapSpec] = {}
    for pc, insn in program.items():
        if OPCODES.get(insn.opcode) is None:
            raise CfgError(M.UNKNOWN_OPCODE.format(opcode=insn.opcode), M.UNKNOWN_OPCODE.code)
        if not insn.is_ld_imm64 or insn.src in (0, 4):
            continue
        if insn.src == 3:
            raise CfgError("kernel is missing BTF, make sure CONFIG_DEBUG_INFO_BTF=y "
                           "is specified in Kconfig.", "NO_BTF")
        if insn.src in (5, 6):
            raise CfgError("fd_idx without fd_array is invalid", "FD_IDX")
        if insn.src not in (1, 2):
            raise CfgError(M.UNRECOGNIZED_LDIMM64.format(), M.UNRECOGNIZED_LDIMM64.code)
        name = (insn.meta or {}).get("map")
        fd = insn.imm & 0xFFFF_FFFF
        spec = maps.get(name) if isinstance(name, str) else None
        if spec is None:
            spec = maps.get(fd)
        if spec is None:
            raise CfgError(M.BAD_MAP_FD.format(fd=s32(fd)), M.BAD_MAP_FD.code)
        if insn.src == 2:
            off = insn.imm >> 32
            if spec.type not in (MapType.ARRAY,):
                raise CfgError("no direct value access support for this map type", "DIRECT_VALUE")
            if off >= spec.value_size:
                raise CfgError(f"invalid access to map value pointer, value_size={spec.value_size} off={off}",
                               "MAP_VALUE_PTR")
        found[pc] = spec
    return found


def s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _prune_points(program: Program) -> set[int]:
    points: set[int] = set()
    for pc, insn in program.items():
        info = OPCODES.get(insn.opcode)
        if info is None:
            continue
        if info.form is Form.JCOND:
            points.add(pc)
            points.add(pc + 1 + insn.off)
        elif info.form is Form.JA:
            points.update(t for t, _ in successors(insn, pc))
        elif info.form is Form.CALL:
            points.add(pc + 1)
            if insn.src == 1:
                points.add(pc)
                points.add(pc + 1 + insn.imm)
    return points


def _helper_arg_counts(platform: Platform, info: ProgTypeInfo, program: Program) -> dict[int, int]:
    counts: dict[int, int] = {}
    for insn in program:
        if OPCODES.get(insn.opcode) is not None and OPCODES[insn.opcode].form is Form.CALL and insn.src == 0:
            try:
                proto = platform.helper_proto(info.type, insn.imm)
            except (KeyError, ValueError):
                proto = None
            if proto is not None:
                counts[insn.imm] = len(proto.args)
    return counts


def verify(program: Program, *, prog_type: int | str | ProgType, platform: Platform = LINUX,
           maps: Mapping[int | str, MapSpec] | None = None, log_level: int = 1, unprivileged: bool = False,
           strict_alignment: bool = False, attach: int | None = None, gpl: bool = True,
           sleepable: bool = False, insn_limit: int = COMPLEXITY_LIMIT) -> Report:
    """Verify ``program`` as ``BPF_PROG_LOAD`` would for ``prog_type``.

    ``maps`` resolves LD_IMM64 map references: by fd (the instruction's imm)
    or by name (``insn.meta["map"]``, as the ELF loader sets it).  The default
    mode is a root load (CAP_BPF + CAP_PERFMON); ``unprivileged`` verifies as
    an unprivileged user would be.  ``insn_limit`` lowers the kernel's
    1,000,000 processed-instruction limit (for tests).  Never raises on a bad program: the
    verdict, the first error line and the kernel-format log are in the
    :class:`Report`.
    """
    info = _prog_type(platform, prog_type)
    opts = Options(log_level=log_level, unprivileged=unprivileged, strict_alignment=strict_alignment,
                   attach=attach, gpl=gpl)
    log = VerifierLog(log_level)
    if len(program) == 0:
        log.write("BPF program is empty\n")  # the kernel refuses with EINVAL before the verifier runs
        return Report(False, "BPF program is empty", "EMPTY", None, log.text(), 0)
    if unprivileged and ProgType(info.type) not in (ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB):
        text = f"unprivileged users may not load {info.name} programs"
        return Report(False, text, "EPERM", None, "", 0)
    checker: Checker | None = None
    ptype = ProgType(info.type)
    if ptype in (ProgType.TRACING, ProgType.LSM, ProgType.EXT, ProgType.STRUCT_OPS):
        # The kernel refuses these at BPF_PROG_LOAD without attach_btf_id (EINVAL, empty log).
        text = M.NEEDS_BTF.format(type=info.name)
        return Report(False, text, M.NEEDS_BTF.code, None, "", 0)
    if ptype is ProgType.SYSCALL and not sleepable:
        log.write(M.SYSCALL_SLEEPABLE.format() + "\n")
        return _finish(log, None, False, M.SYSCALL_SLEEPABLE.format(), M.SYSCALL_SLEEPABLE.code, None)
    try:
        cfg = check_subprogs(program)
        if log_level & 2:
            for i, start in enumerate(cfg.subprogs):
                log.write(f"func#{i} @{start}\n")
        map_at = _resolve_maps(program, maps or {})
        check_cfg(program, allow_loops=not unprivileged)
        live = live_regs(program, _helper_arg_counts(platform, info, program))
        if log_level & 2:
            log.write("Live regs before insn:\n")
            for pc, insn in program.items():
                mask = live.get(pc, 0)
                regs = "".join(str(j) if mask >> j & 1 else "." for j in range(10))
                log.write(f"    {pc:3d}: {regs} {insn_text(insn, pc)}\n")
        checker = Checker(program, info, platform, {}, map_at, opts, log, live, _prune_points(program),
                          cfg.subprogs)
        checker.insn_limit = insn_limit
        checker.run()
        _check_max_stack_depth(program, cfg.subprogs, checker.stack_depth)
    except CfgError as exc:
        log.write(exc.text + "\n")
        return _finish(log, checker, False, exc.text, exc.code, None)
    except Reject as exc:
        return _finish(log, checker, False, exc.text, exc.code, exc.pc)
    if log_level == 1:
        log.reset(0)  # a successful level-1 load only reports the statistics
    return _finish(log, checker, True, None, None, None)


def _check_max_stack_depth(program: Program, subprogs: tuple[int, ...], depth: Mapping[int, int]) -> None:
    """check_max_stack_depth(): frames of a call chain, each rounded up to 32 bytes, fit in 512."""
    graph = call_graph(program, subprogs)

    def walk(i: int, total: int, frames: int, seen: tuple[int, ...]) -> None:
        total += -(-max(depth.get(i, 0), 1) // 32) * 32
        if total > 512:
            raise CfgError(M.COMBINED_STACK.format(frames=frames, size=total), M.COMBINED_STACK.code)
        for j in sorted(graph[i]):
            if j not in seen:
                walk(j, total, frames + 1, (*seen, j))

    walk(0, 0, 1, (0,))


def _finish(log: VerifierLog, checker: Checker | None, ok: bool, error: str | None, code: str | None,
            pc: int | None) -> Report:
    processed = checker.insn_processed if checker else 0
    total = checker.total_states if checker else 0
    peak = checker.peak_states if checker else 0
    mx = checker.max_states_per_insn if checker else 0
    limit = checker.insn_limit if checker else COMPLEXITY_LIMIT
    log.write(f"processed {processed} insns (limit {limit}) max_states_per_insn {mx} "
              f"total_states {total} peak_states {peak} mark_read 0\n")
    depth = tuple(sorted(checker.stack_depth.values())) if checker else ()
    return Report(ok, error, code, pc, log.text(), processed, total, peak, mx, depth)


_ = HelperId
