"""Read a BPF ELF object into an :class:`~pybpf.elf.spec.ObjectSpec` (pure data).

What libbpf's ``bpf_object__open`` and cilium/ebpf's ``LoadCollectionSpec``
do before touching the kernel, in stages over one
:class:`~.context.LoadContext`:

* the container: sections, symbols, relocations (:mod:`.reader`, pyelftools);
* ``license``, ``version``, ``.BTF`` and ``.BTF.ext`` (:mod:`.btf`);
* maps: legacy (``maps``, any record size, iproute2's ``struct bpf_elf_map``
  included: :mod:`.maps_legacy`), BTF-defined (``.maps``: :mod:`.maps_btf`)
  and global data (``.data*``, ``.rodata*``, ``.bss*`` as one-element arrays:
  :mod:`.datasec`);
* programs: every function symbol of an executable section other than
  ``.text``, with the ``.text`` subprograms they call appended
  (:mod:`.programs`, :mod:`.relocate`).

Both byte orders are read: the ELF header says which.  Every problem is an
:class:`~pybpf.errors.ElfError` naming the section, relocation and symbol.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from ..errors import ElfError, PyBpfError
from .btf import parse_btf, parse_btf_ext
from .context import LoadContext, Where
from .datasec import fixup_datasecs, load_data_maps
from .maps_btf import load_btf_maps
from .maps_legacy import load_legacy_maps
from .programs import SectionType, load_programs, section_program_type
from .reader import open_elf
from .spec import ObjectSpec

__all__ = ["SectionType", "load_spec", "section_program_type"]


def load_spec(source: str | os.PathLike[str] | bytes | bytearray | memoryview, *,
              prog_types: Mapping[str, str | int] | None = None) -> ObjectSpec:
    """Read a BPF ELF object (a path or its bytes) into an :class:`ObjectSpec`.

    ``prog_types`` overrides the program type by program name or section
    name; values are section names (``"xdp"``, ``"kprobe/foo"``), program
    type names (``"sched_cls"``) or :class:`~pybpf.platform.progtypes.ProgType`.
    It also makes sections with names libbpf does not know loadable, and
    ``.text`` functions (subprograms otherwise) programs of their own.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        origin = os.fspath(source)
        try:
            with open(origin, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ElfError(f"cannot read {origin}: {exc.strerror or exc}") from exc
    where = Where()
    try:
        return _load(data, where, dict(prog_types or {}))
    except ElfError:
        raise
    except PyBpfError as exc:
        raise where.error(str(exc)) from exc
    except MemoryError as exc:  # a size field claiming more than this machine has
        raise where.error("object claims more memory than is available (corrupt size field?)") from exc
    except (struct.error, KeyError, IndexError, ValueError, UnicodeError, OverflowError, TypeError,
            AttributeError, RecursionError, ZeroDivisionError) as exc:
        # A corrupt object reached code that trusted it (BTF, map definitions): report where we were.
        raise where.error(f"corrupt object ({type(exc).__name__}: {exc})") from exc


def _load(data: bytes, where: Where, prog_types: dict[str, str | int]) -> ObjectSpec:
    ctx = LoadContext(open_elf(data), where, prog_types)
    license_ = _license(ctx)
    version = _version(ctx)
    btf_sec = ctx.elf.by_name.get(".BTF")
    if btf_sec is not None:
        where.set(".BTF")
        ctx.btf = parse_btf(btf_sec.data, byteorder=ctx.byteorder)
        fixup_datasecs(ctx)
        ext = ctx.elf.by_name.get(".BTF.ext")
        if ext is not None:
            where.set(".BTF.ext")
            ctx.btf_ext = parse_btf_ext(ext.data, ctx.btf)
    load_legacy_maps(ctx)
    load_btf_maps(ctx)
    load_data_maps(ctx)
    programs = load_programs(ctx, license_, version)
    where.set()
    return ObjectSpec(programs=programs, maps=ctx.maps, license=license_, kernel_version=version,
                      byteorder=ctx.byteorder, btf=ctx.btf)


def _license(ctx: LoadContext) -> str:
    sec = ctx.elf.by_name.get("license")
    if sec is None:
        return ""
    return sec.data.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _version(ctx: LoadContext) -> int:
    sec = ctx.elf.by_name.get("version")
    if sec is None:
        return 0
    if sec.size != 4:
        raise ElfError(f"version section is {sec.size} bytes, not 4", section="version")
    return int.from_bytes(sec.data, "little" if ctx.byteorder == "little" else "big")
