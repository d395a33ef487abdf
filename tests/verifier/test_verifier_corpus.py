"""The rest of the differential corpus: random verifiable programs and the project's C programs.

* ``tests/randprog.py`` programs, wrapped as the kernel runner wraps them
  (XDP, memory and result in array map values): pybpf must give the kernel's
  verdict, and every accepted one must run in pybpf's interpreter without a
  memory error (the soundness property: what the verifier accepts is safe).
* Every program of the clang-built objects in ``tests/data/elf`` (maps created
  for real, relocated like libbpf does).  Known disagreements are listed in
  ``ELF_XFAIL`` with their reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf import kernel
from pybpf.errors import KernelError, PyBpfError
from pybpf.isa import Program
from pybpf.maps.spec import MapSpec, MapType
from pybpf.verifier import verify

SEEDS = range(150)
ELF_DIR = Path(__file__).resolve().parents[1] / "data" / "elf"
_KERNEL = pytest.mark.skipif(not kernel.available(),
                             reason=f"bpf() unavailable: {kernel.unavailable_reason()}")

# (object, program) -> why pybpf and the kernel disagree.
ELF_XFAIL = {
    ("xdp_counter-el.o", "xdp_count"): "the oracle loads no BTF, so the kernel refuses bpf_spin_lock "
                                       "('map has to have BTF'); pybpf reads the lock from the object's BTF",
}


def _random(seed: int) -> tuple[Program, dict[int | str, MapSpec], Program, bytes]:
    from randprog import MEM_SIZE, generate

    rp = generate(seed)
    wrapped = kernel.wrap_memory_program(rp.program, mem_fd=1, mem_len=MEM_SIZE, result_fd=2)
    maps: dict[int | str, MapSpec] = {1: MapSpec("pybpf_mem", MapType.ARRAY, 4, MEM_SIZE, 1),
                                      2: MapSpec("pybpf_r0", MapType.ARRAY, 4, 8, 1)}
    return wrapped, maps, rp.program, rp.mem


@pytest.mark.parametrize("seed", SEEDS)
def test_random_programs_are_accepted_and_run_safely(seed: int) -> None:
    from pybpf.vm import Vm

    wrapped, maps, body, mem = _random(seed)
    report = verify(wrapped, prog_type="xdp", maps=maps)
    assert report.accepted, report.log
    # Soundness: the accepted program runs on its memory without a memory error.
    Vm(body, engine="interp").run(mem)


@_KERNEL
@pytest.mark.kernel
@pytest.mark.parametrize("seed", SEEDS[::3])
def test_random_programs_same_verdict_as_kernel(seed: int) -> None:
    import oracle

    wrapped, maps, _, _ = _random(seed)
    mine = verify(wrapped, prog_type="xdp", maps=maps)
    theirs = oracle.load(wrapped, "xdp", {k: v for k, v in maps.items() if isinstance(k, int)})
    assert (mine.accepted, mine.error) == (theirs.accepted, theirs.error), theirs.log


def _elf_programs() -> list[object]:
    from pybpf.elf import load_spec

    out: list[object] = []
    for path in sorted(ELF_DIR.glob("*-el.o")):
        try:
            spec = load_spec(path)
        except PyBpfError:
            continue  # the bad_* fixtures: the ELF loader's own tests cover them
        for prog in spec.programs.values():
            reason = ELF_XFAIL.get((path.name, prog.name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(path, prog.name, id=f"{path.name}:{prog.name}", marks=marks))
    return out


@_KERNEL
@pytest.mark.kernel
@pytest.mark.parametrize(("path", "name"), _elf_programs())
def test_elf_programs_same_verdict_as_kernel(path: Path, name: str) -> None:
    import oracle

    from pybpf.elf import load_spec

    spec = load_spec(path)
    prog = spec.programs[name]
    mine = verify(prog.insns, prog_type=prog.prog_type.name.lower(), maps=dict(spec.maps),
                  sleepable=prog.sleepable,
                  attach=int(prog.attach_type) if prog.attach_type is not None else None)
    created: dict[str, oracle._Map] = {}
    try:
        insns = []
        for insn in prog.insns:
            ref = (insn.meta or {}).get("map")
            if ref is not None:
                if ref not in created:
                    created[ref] = oracle._Map(spec.maps[ref])
                insn = insn.replace(imm=(insn.imm & ~0xFFFF_FFFF) | created[ref].fd)
            insns.append(insn)
        flags = 1 << 4 if prog.sleepable else 0  # BPF_F_SLEEPABLE
        attach = int(prog.attach_type) if prog.attach_type is not None else 0
        try:
            loaded = kernel.load_program(Program(insns), int(prog.prog_type), log_level=1,
                                         license=prog.license or "GPL", prog_flags=flags,
                                         expected_attach_type=attach)
            loaded.close()
            theirs: tuple[bool, str | None] = (True, None)
        except KernelError as exc:
            theirs = (False, oracle.first_error(exc.log) if exc.log else None)
    except KernelError as exc:
        pytest.skip(f"cannot create the object's maps: {exc}")
    finally:
        for m in created.values():
            m.close()
    assert mine.accepted == theirs[0], mine.log
    if theirs[1] is not None:
        assert mine.error == theirs[1], mine.log
