"""Reading BPF ELF objects (``clang -target bpf -c`` output).

:func:`load_spec` reads a whole object into an :class:`ObjectSpec` (programs
linked, maps described, BTF parsed); :func:`read_code_sections` is the light
reader behind ``pybpf disasm``.  Both sit on one pyelftools-based container
reader (:mod:`.reader`) and raise :class:`~pybpf.errors.ElfError`.
"""

from ..errors import ElfError
from .btf import format_value, to_ctypes
from .loader import load_spec
from .sections import EM_BPF, CodeSection, Relocation, is_elf, read_code_sections
from .spec import MapReference, ObjectSpec, ProgramSpec

__all__ = [
    "load_spec",
    "ObjectSpec",
    "ProgramSpec",
    "MapReference",
    "ElfError",
    "format_value",
    "to_ctypes",
    "EM_BPF",
    "CodeSection",
    "Relocation",
    "is_elf",
    "read_code_sections",
]
