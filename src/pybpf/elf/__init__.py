"""Reading BPF ELF objects (``clang -target bpf -c`` output).

For now: the executable sections with their symbols and relocations
(:func:`read_code_sections`); the full loader builds on it.
"""

from .sections import EM_BPF, CodeSection, ElfError, Relocation, is_elf, read_code_sections

__all__ = ["EM_BPF", "CodeSection", "ElfError", "Relocation", "is_elf", "read_code_sections"]
