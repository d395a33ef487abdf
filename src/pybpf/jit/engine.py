"""LLVM binding layer: parse -> verify -> optimise -> MCJIT; the only importer of ``llvmlite.binding``.

:func:`compile_program` returns a frozen :class:`CompiledProgram` holding the
native entry points and the three texts worth looking at (``llvm_ir`` as
generated, ``optimized_ir`` after the O2/O3 pipeline of LLVM's new pass
manager, and the native ``asm``).  Results are cached by program bytes and
options, so building the same program twice costs one dictionary lookup.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import PyBpfError
from ..isa import Program
from ..runtime.loader import MAX_SLOTS, Loaded, Resolver, load
from .irgen import IrOptions, build_module, build_prefix_module

__all__ = ["CompiledProgram", "JitUnavailableError", "available", "clear_cache", "compile_prefix",
           "compile_program"]

RUN_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, *([ctypes.c_uint64] * 5))
REPEAT_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, *([ctypes.c_uint64] * 6))
PREFIX_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)

_lock = threading.Lock()
_initialised = False
_target_machines: dict[int, Any] = {}
_cache: dict[tuple[bytes, bool, int, tuple[tuple[int, int], ...]], CompiledProgram] = {}
CACHE_LIMIT = 256  # compiled programs kept (each holds an execution engine)


class JitUnavailableError(PyBpfError, RuntimeError):
    """llvmlite is not installed (or cannot initialise a native target)."""


def available() -> bool:
    """Whether the JIT can run here (llvmlite importable with a native target)."""
    try:
        _init()
    except JitUnavailableError:
        return False
    return True


def _init() -> Any:
    global _initialised
    try:
        import llvmlite.binding as llvm
    except ImportError as exc:  # pragma: no cover - llvmlite is a default dependency
        raise JitUnavailableError("the JIT needs llvmlite (pip install llvmlite)") from exc
    if not _initialised:
        with _lock:
            if not _initialised:
                llvm.initialize_native_target()
                llvm.initialize_native_asmprinter()
                _initialised = True
    return llvm


def _target_machine(opt: int, *, fresh: bool = False) -> Any:
    """The host's target machine; ``fresh`` for MCJIT, which takes ownership of (and frees) it."""
    llvm = _init()
    tm = None if fresh else _target_machines.get(opt)
    if tm is None:
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                          features=llvm.get_host_cpu_features().flatten(),
                                          opt=opt, codemodel="jitdefault")
        if not fresh:
            _target_machines[opt] = tm
    return tm


@dataclass(frozen=True, eq=False)
class CompiledProgram:
    """Native code for one program and option set; immutable once built."""

    program: Program
    layout: Loaded
    checked: bool
    opt: int
    llvm_ir: str
    optimized_ir: str
    compile_seconds: float
    run: Any = field(repr=False)  # RUN_CFUNC: (ctx, r1..r5) -> status
    repeat: Any = field(repr=False)  # REPEAT_CFUNC: (ctx, r1..r5, times) -> status
    invoke: tuple[Any, ...] = field(repr=False)  # RUN_CFUNC per subprogram: (ctx, r1..r5) -> r0
    _keep: Any = field(repr=False, default=None)  # the execution engine owning the code
    _asm: list[str] = field(repr=False, default_factory=list)

    @property
    def asm(self) -> str:
        """The native assembly (made on first use: it costs a second code generation)."""
        if not self._asm:
            llvm = _init()
            mod = llvm.parse_assembly(self.optimized_ir)
            self._asm.append(str(_target_machine(self.opt).emit_assembly(mod)))
        return self._asm[0]


def _jit(module: Any, opt: int) -> tuple[str, str, Any]:
    """(IR text, optimised IR text, finalised MCJIT engine) of an ``llvmlite.ir`` module."""
    llvm = _init()
    tm = _target_machine(opt)
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    text = str(module)
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:  # pragma: no cover - a bug in irgen, never the program's fault
        raise PyBpfError(f"internal JIT error: generated IR does not verify: {exc}") from exc
    pto = llvm.create_pipeline_tuning_options(speed_level=opt)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    optimized = str(mod)
    engine = llvm.create_mcjit_compiler(mod, _target_machine(opt, fresh=True))
    engine.finalize_object()
    return text, optimized, engine


_prefixes: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def compile_prefix(compiled: CompiledProgram, seg_start: int, count: int) -> Any:
    """The budget's slow path for one segment and count, compiled on first use (a rare error path)."""
    key = (compiled.program.to_bytes(), seg_start, count, compiled.checked,
           tuple(sorted(compiled.layout.consts.items())))
    got = _prefixes.get(key)
    if got is None:
        module = build_prefix_module(compiled.layout, seg_start, count, IrOptions(checked=compiled.checked))
        _, _, engine = _jit(module, 1)
        fn = PREFIX_CFUNC(engine.get_function_address("bpf_prefix"))
        got = (fn, engine)
        with _lock:
            if len(_prefixes) >= CACHE_LIMIT:
                _prefixes.pop(next(iter(_prefixes)))
            _prefixes[key] = got
    return got[0]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _prefixes.clear()


def compile_program(program: Program, *, checked: bool = True, opt: int = 3,
                    max_insns: int = MAX_SLOTS, resolver: Resolver | None = None) -> CompiledProgram:
    """Compile ``program`` (load-time checks first, as the interpreter's loader).

    Map LD_IMM64 values from ``resolver`` are compiled in as constants, so
    they are part of the cache key.
    """
    layout = load(program, None, max_slots=max_insns, resolver=resolver)
    key = (program.to_bytes(), checked, opt, tuple(sorted(layout.consts.items())))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    started = time.perf_counter()
    module = build_module(layout, IrOptions(checked=checked), name=program.name or "bpf")
    text, optimized, engine = _jit(module, opt)
    run = RUN_CFUNC(engine.get_function_address("bpf_run"))
    repeat = REPEAT_CFUNC(engine.get_function_address("bpf_repeat"))
    invoke = tuple(RUN_CFUNC(engine.get_function_address(f"bpf_sub{sp.index}")) for sp in layout.subprogs)
    elapsed = time.perf_counter() - started
    compiled = CompiledProgram(program, layout, checked, opt, text, optimized, elapsed, run, repeat,
                               invoke, engine)
    with _lock:
        if len(_cache) >= CACHE_LIMIT:
            _cache.pop(next(iter(_cache)))
        _cache[key] = compiled
    return compiled

