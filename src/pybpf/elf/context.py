"""State shared by the loader's stages while one object is read.

The stages (:mod:`.maps_legacy`, :mod:`.maps_btf`, :mod:`.datasec`,
:mod:`.programs`) run in that order over one :class:`LoadContext`: the map
stages record where each map sits so the program stage can resolve the
relocations that name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ElfError
from ..maps.spec import MapSpec
from .btf import Btf, BtfExt
from .reader import ElfObject

__all__ = ["LoadContext", "Where"]


class Where:
    """Where the loader is, so an unexpected low-level failure can say so."""

    def __init__(self) -> None:
        self.section: str | None = None
        self.relocation: int | None = None
        self.symbol: str | None = None

    def set(self, section: str | None = None, relocation: int | None = None,
            symbol: str | None = None) -> None:
        self.section, self.relocation, self.symbol = section, relocation, symbol

    def error(self, reason: str) -> ElfError:
        return ElfError(reason, section=self.section, relocation=self.relocation, symbol=self.symbol)


@dataclass
class LoadContext:
    """One object being loaded: the container, its BTF, and the maps found so far."""

    elf: ElfObject
    where: Where
    prog_types: dict[str, str | int]
    btf: Btf | None = None
    btf_ext: BtfExt | None = None
    maps: dict[str, MapSpec] = field(default_factory=dict)
    map_at: dict[tuple[int, int], str] = field(default_factory=dict)  # (section index, offset) -> map
    data_maps: dict[int, str] = field(default_factory=dict)  # section index -> its global-data map

    @property
    def byteorder(self) -> str:
        return self.elf.byteorder

    def add_map(self, spec: MapSpec, section: str) -> None:
        if spec.name in self.maps:
            raise ElfError(f"duplicate map name {spec.name!r}", section=section, symbol=spec.name)
        self.maps[spec.name] = spec
