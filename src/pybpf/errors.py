"""The one exception tree of pybpf.

Every error pybpf raises on bad input derives from :class:`PyBpfError`.  Each
subclass also inherits the builtin exception a Python user would reach for
(``ValueError`` for malformed input, ``RuntimeError`` for a failed run), so
``except ValueError`` keeps working for code that does not know pybpf.

Errors carry structured fields (``pc``, ``raw``, ``reason``, ``addr`` ...) as
well as a readable message, so tools can report them without parsing text.
"""

from __future__ import annotations

__all__ = [
    "PyBpfError",
    "DecodeError",
    "EncodeError",
    "AsmError",
    "VmError",
    "MemoryAccessError",
    "BudgetExceededError",
    "CallDepthError",
    "HelperError",
    "UnknownHelperError",
    "KernelError",
    "ElfError",
]


class PyBpfError(Exception):
    """Root of every pybpf error.

    ``pc`` is the instruction slot (8-byte unit) the error is about, when there
    is one; ``reason`` is the bare explanation without location.
    """

    def __init__(self, reason: str, *, pc: int | None = None) -> None:
        self.reason = reason
        self.pc = pc
        super().__init__(self._format())

    def _format(self) -> str:
        if self.pc is None:
            return self.reason
        return f"pc {self.pc}: {self.reason}"


class DecodeError(PyBpfError, ValueError):
    """A malformed program: unknown opcode, reserved field set, bad jump ...

    ``raw`` holds the bytes of the offending instruction (8 or 16 bytes).
    """

    def __init__(self, reason: str, *, pc: int | None = None, raw: bytes | None = None) -> None:
        self.raw = raw
        super().__init__(reason, pc=pc)

    def _format(self) -> str:
        text = super()._format()
        if self.raw is not None:
            text += f" [{self.raw.hex(' ')}]"
        return text


class EncodeError(PyBpfError, ValueError):
    """An instruction that cannot be encoded (field out of range, unresolved label)."""


class AsmError(PyBpfError, ValueError):
    """A parse error in assembly text, with 1-based ``line`` and ``column``."""

    def __init__(self, reason: str, *, line: int, column: int, text: str = "") -> None:
        self.line = line
        self.column = column
        self.text = text
        super().__init__(reason)

    def _format(self) -> str:
        loc = f"line {self.line}, column {self.column}: {self.reason}"
        if self.text:
            loc += f"\n    {self.text}\n    {' ' * (self.column - 1)}^"
        return loc


class VmError(PyBpfError, RuntimeError):
    """A program failed while running. ``insn`` is the instruction's text."""

    def __init__(self, reason: str, *, pc: int | None = None, insn: str | None = None) -> None:
        self.insn = insn
        super().__init__(reason, pc=pc)

    def _format(self) -> str:
        text = super()._format()
        if self.insn:
            text += f" (in '{self.insn}')"
        return text


class MemoryAccessError(VmError):
    """A load or store outside every registered region, or without permission.

    Nothing is written when a store fails.  ``nearest`` describes the region
    closest to ``addr`` so the user sees how far off the access was.
    """

    def __init__(
        self,
        reason: str,
        *,
        pc: int | None = None,
        insn: str | None = None,
        addr: int = 0,
        size: int = 0,
        write: bool = False,
        nearest: str | None = None,
    ) -> None:
        self.addr = addr
        self.size = size
        self.write = write
        self.nearest = nearest
        super().__init__(reason, pc=pc, insn=insn)


class BudgetExceededError(VmError):
    """The program executed more instructions than its budget allows."""


class CallDepthError(VmError):
    """bpf-to-bpf calls nested deeper than the 8 frames Linux allows."""


class HelperError(VmError):
    """A helper call failed (bad arguments, or the helper itself raised)."""


class UnknownHelperError(HelperError):
    """A call to a helper id that is not registered."""


class KernelError(PyBpfError, OSError):
    """The kernel's bpf() syscall refused a request; ``errno`` and ``log`` say why."""

    def __init__(self, reason: str, *, errno: int = 0, log: str = "") -> None:
        self.log = log
        super().__init__(reason)
        # OSError.__init__ with a single argument resets errno, so set it after.
        self.errno = errno


class ElfError(PyBpfError, ValueError):
    """A malformed or unsupported BPF ELF object, with where it went wrong.

    ``section``, ``relocation`` (its index in the relocation section, or a
    description), ``symbol`` and ``offset`` (byte offset in ``section``) say
    where; any of them may be None.
    """

    def __init__(self, reason: str, *, section: str | None = None, relocation: int | str | None = None,
                 symbol: str | None = None, offset: int | None = None) -> None:
        self.section = section
        self.relocation = relocation
        self.symbol = symbol
        self.offset = offset
        super().__init__(reason)

    def _format(self) -> str:
        where = []
        if self.section is not None:
            where.append(f"section {self.section!r}")
        if self.relocation is not None:
            where.append(f"relocation {self.relocation}" if isinstance(self.relocation, str)
                         else f"relocation #{self.relocation}")
        if self.offset is not None:
            where.append(f"offset {self.offset:#x}")
        if self.symbol is not None:
            where.append(f"symbol {self.symbol!r}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason
