"""The public face of pybpf: load a program, run it, read the result.

>>> from pybpf import Vm
>>> vm = Vm("r0 = *(u8 *)(r1 + 1)\\nr0 += 1\\nexit")
>>> vm.run(bytes([7, 41])).r0
42

``engine`` chooses who runs the program:

* ``"interp"``: pybpf's reference interpreter (exact Linux semantics, every
  memory access checked);
* ``"kernel"``: the running kernel, through ``bpf()`` and ``BPF_PROG_TEST_RUN``
  (root only; the memory is the value of a one-element array map);
* ``"jit"``: native code through LLVM (llvmlite), every access checked
  against the same regions as the interpreter, the same results;
* ``"auto"`` (default): the JIT when llvmlite is installed, else the
  interpreter.  A run with ``trace=True`` always uses the interpreter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PyBpfError
from .isa import Program, decode
from .runtime.helpers import HelperRegistry

if TYPE_CHECKING:
    from .interp import Interpreter, TraceStep
    from .jit import JitProgram

__all__ = ["ENGINES", "RunResult", "Vm", "load_program", "run"]

ENGINES = ("auto", "interp", "jit", "kernel")

_ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class RunResult:
    """What one run produced.

    ``regs`` (r0-r10 at exit), ``insns`` (instructions executed) and ``trace``
    are None where the engine cannot report them (the kernel).
    """

    r0: int
    mem: bytes | None
    regs: tuple[int, ...] | None = None
    insns: int | None = None
    trace: tuple[TraceStep, ...] | None = None
    engine: str = "interp"


def _looks_binary(data: bytes) -> bool:
    try:
        data.decode("ascii")
    except UnicodeDecodeError:
        return True
    return b"\x00" in data


def load_program(source: Program | bytes | bytearray | str | os.PathLike[str], *,
                 section: str | None = None, syntax: str = "auto") -> Program:
    """A :class:`Program` from whatever the user has.

    ``source`` may be a Program, raw instruction bytes, assembly text, or a
    path to a ``.bin`` file, an assembly file, or an ELF object (then
    ``section`` picks the code section; default: the first one).
    """
    if isinstance(source, Program):
        return source
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        if data.startswith(_ELF_MAGIC):
            return _program_from_elf_bytes(data, section)
        return decode(data)
    if isinstance(source, str) and ("\n" in source or not Path(source).exists()):
        from .asm import assemble

        return assemble(source, syntax=syntax)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PyBpfError(f"cannot read {path}: {exc.strerror}") from exc
    if data.startswith(_ELF_MAGIC):
        return _program_from_elf_bytes(data, section, name=str(path))
    if path.suffix in (".bin", ".o") or _looks_binary(data):
        return decode(data)
    from .asm import assemble

    return assemble(data.decode(), syntax=syntax)


def _program_from_elf_bytes(data: bytes, section: str | None, name: str = "<bytes>") -> Program:
    """One program of an ELF object, subprograms linked (``section``: program or section name).

    Objects whose only code is in ``.text`` (plain functions, as the uBPF calling
    convention uses) have those functions loaded as programs.
    """
    from .elf import load_spec

    spec = load_spec(data)
    if not spec.programs:
        spec = load_spec(data, prog_types={".text": "syscall"})
    programs = list(spec.programs.values())
    if not programs:
        raise PyBpfError(f"{name}: no program in this ELF object")
    if section is None:
        chosen = programs[0]
    else:
        found = [p for p in programs if section in (p.name, p.section)]
        if not found:
            have = ", ".join(f"{p.name} ({p.section})" for p in programs)
            raise PyBpfError(f"{name}: no program or section {section!r} (have: {have})")
        chosen = found[0]
    if chosen.map_references:
        maps = sorted({ref.map for ref in chosen.map_references})
        raise PyBpfError(f"{name}: program {chosen.name!r} uses maps ({', '.join(maps)}); "
                         "load the object with its maps to run it")
    return chosen.insns


class Vm:
    """A loaded program, ready to run many times.

    Loading checks what the engine needs (opcodes, jumps, known helpers) and
    raises a :class:`~pybpf.errors.PyBpfError` naming the pc if the program
    cannot run.
    """

    def __init__(self, program: Program | bytes | str | os.PathLike[str], *, engine: str = "auto",
                 helpers: HelperRegistry | None = None, budget: int = 1_000_000,
                 section: str | None = None) -> None:
        if engine not in ENGINES:
            raise PyBpfError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
        self.program = load_program(program, section=section)
        if engine == "auto":
            engine = "jit" if _jit_available() else "interp"
        self.engine = engine
        self.budget = budget
        self._helpers = helpers or HelperRegistry()
        self._interp: Interpreter | None = None
        self._jit: JitProgram | None = None
        if self.engine == "jit":
            from .jit import JitProgram

            self._jit = JitProgram(self.program, helpers=self._helpers, budget=budget)
        elif self.engine == "interp":
            self._interp = self._interpreter()
        elif helpers is not None:
            raise PyBpfError("the kernel engine calls the kernel's own helpers; helpers= is not allowed")

    def run(self, mem: bytes | bytearray | None = None, *, trace: bool = False,
            packet: bytes | None = None) -> RunResult:
        """Run once with r1 = a private writable copy of ``mem``, r2 = its length.

        Without ``mem``, r1 and r2 are 0 (as uBPF and bpf_conformance do).
        """
        if self.engine == "kernel":
            if trace:
                raise PyBpfError("the kernel engine cannot trace; use engine='interp'")
            from .kernel import run_in_kernel

            krun = run_in_kernel(self.program, bytes(mem or b""))
            return RunResult(r0=krun.r0, mem=krun.mem if mem is not None else None, engine="kernel")
        from .runtime.memory import Memory

        memory = Memory()
        r1 = r2 = 0
        region = None
        if mem is not None:
            region = memory.add("mem", bytearray(mem))
            r1, r2 = region.base, len(mem)
        if self._jit is not None and not trace:
            res = self._jit.run(memory, r1=r1, r2=r2, packet=packet)
            engine = "jit"
        else:  # traces come from the interpreter's per-instruction stepper
            if self._interp is None:
                self._interp = self._interpreter()
            res = self._interp.run(memory, r1=r1, r2=r2, trace=trace, packet=packet)
            engine = "interp"
        return RunResult(
            r0=res.r0,
            mem=bytes(region.buffer) if region is not None else None,
            regs=tuple(res.regs),
            insns=res.insns,
            trace=tuple(res.trace) if res.trace is not None else None,
            engine=engine,
        )

    def _interpreter(self) -> Interpreter:
        from .interp import Interpreter

        return Interpreter(self.program, helpers=self._helpers, budget=self.budget)


def _jit_available() -> bool:
    try:
        from .jit import available
    except ImportError:  # pragma: no cover - the jit package itself is always there
        return False
    return bool(available())


def run(program: Program | bytes | str | os.PathLike[str], mem: bytes | bytearray | None = None, *,
        engine: str = "auto", trace: bool = False, budget: int = 1_000_000) -> RunResult:
    """Load and run in one call: ``run("r0 = 1\\nexit").r0 == 1``."""
    return Vm(program, engine=engine, budget=budget).run(mem, trace=trace)
