"""What an ELF object describes, before anything exists: pure data.

:class:`ObjectSpec` is what :func:`pybpf.elf.loader.load_spec` returns (as
cilium/ebpf's ``CollectionSpec``): programs with their linked instructions
and the map references still unresolved, and the maps to create.  The runtime
turns them into live maps and programs later.  Errors are
:class:`pybpf.errors.ElfError` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import ElfError
from ..isa import Program, PseudoSrc
from ..maps.spec import MapSpec
from ..platform.progtypes import AttachType, ProgType

if TYPE_CHECKING:
    from .btf import Btf, CoreRelo, FuncInfo, LineInfo

__all__ = ["ElfError", "MapReference", "ObjectSpec", "ProgramSpec"]


@dataclass(frozen=True)
class MapReference:
    """An LD_IMM64 at ``pc`` (slot in the linked program) that needs a map.

    ``kind`` is ``PseudoSrc.MAP_FD`` (the instruction loads the map pointer)
    or ``PseudoSrc.MAP_VALUE`` (it loads a pointer ``offset`` bytes into the
    map's value: global data).  ``symbol`` is the ELF symbol the relocation
    named.  The same facts are on the instruction's ``meta`` (``map``,
    ``map_offset``).
    """

    pc: int
    map: str
    kind: PseudoSrc
    offset: int = 0
    symbol: str = ""


@dataclass(frozen=True)
class ProgramSpec:
    """One program of an object, linked and self-contained.

    ``insns`` holds the program followed by every subprogram it calls
    (transitively), with bpf-to-bpf call offsets fixed; its ``labels`` name
    each function's first slot.  ``prog_type``/``attach_type`` come from the
    section name as libbpf reads it (:func:`pybpf.platform.progtypes.resolve_section`)
    and ``attach_to`` is what follows the section prefix
    (``kprobe/do_unlinkat`` gives ``"do_unlinkat"``).  ``map_references`` lists every instruction
    still waiting for a map fd.
    """

    name: str
    section: str
    prog_type: ProgType
    insns: Program
    attach_type: AttachType | None = None
    attach_to: str = ""
    sleepable: bool = False
    license: str = ""
    kernel_version: int = 0
    byteorder: str = "little"
    map_references: tuple[MapReference, ...] = ()
    subprograms: Mapping[str, int] = field(default_factory=dict)  # name -> first slot in insns
    section_offset: int = 0  # byte offset of the program in its section
    # From .BTF.ext, with ``insn_off`` as a slot in ``insns`` (as the kernel wants them):
    func_info: tuple[FuncInfo, ...] = ()
    line_info: tuple[LineInfo, ...] = ()
    core_relos: tuple[CoreRelo, ...] = ()  # CO-RE relocations, not applied (no kernel BTF)

    def replace(self, **changes: Any) -> ProgramSpec:
        return replace(self, **changes)

    def bind_maps(self, fds: Mapping[str, int]) -> Program:
        """``insns`` with each map reference's fd filled in, ready for BPF_PROG_LOAD.

        MAP_FD loads get ``imm = fd``; MAP_VALUE loads ``imm = fd``, next
        ``imm = offset`` (the kernel's ``BPF_PSEUDO_MAP_VALUE`` encoding).  ``meta``
        keeps the map name.  A reference to a map missing from ``fds`` is an
        :class:`ElfError`.
        """
        insns = list(self.insns)
        for ref in self.map_references:
            if ref.map not in fds:
                raise ElfError(f"program {self.name!r} needs map {ref.map!r}, which has no fd",
                               section=self.section, symbol=ref.symbol or ref.map)
            index = self.insns.index_of(ref.pc)
            assert index is not None  # references are made at instruction starts
            high = ref.offset << 32 if ref.kind is PseudoSrc.MAP_VALUE else 0
            insns[index] = insns[index].replace(imm=high | (fds[ref.map] & 0xFFFF_FFFF))
        return Program(insns, labels=self.insns.labels, name=self.insns.name)

    @property
    def maps_used(self) -> tuple[str, ...]:
        """Names of the maps this program refers to, in first-use order."""
        return tuple(dict.fromkeys(r.map for r in self.map_references))


@dataclass(frozen=True)
class ObjectSpec:
    """Everything one BPF ELF object describes."""

    programs: Mapping[str, ProgramSpec]
    maps: Mapping[str, MapSpec]
    license: str = ""
    kernel_version: int = 0
    byteorder: str = "little"
    btf: Btf | None = field(default=None, compare=False, repr=False)

    def program(self, name: str) -> ProgramSpec:
        try:
            return self.programs[name]
        except KeyError:
            raise ElfError(f"no program named {name!r} (have {', '.join(self.programs) or 'none'})",
                           symbol=name) from None

    def map(self, name: str) -> MapSpec:
        try:
            return self.maps[name]
        except KeyError:
            raise ElfError(f"no map named {name!r} (have {', '.join(self.maps) or 'none'})",
                           symbol=name) from None
