"""Helper functions a program calls with ``call N``.

A helper is a Python callable ``fn(ctx, r1, r2, r3, r4, r5) -> int``.  The
arguments are the unsigned 64-bit register values; the result is masked to 64
bits and becomes ``r0``.  ``ctx`` (:class:`HelperContext`) gives the memory,
the pc of the call and a per-run scratch dict, so helpers can read and write
program memory through the same checked accessors as the program.

>>> reg = HelperRegistry()
>>> @reg.helper(7, name="add")
... def add(ctx, r1, r2, r3, r4, r5):
...     return r1 + r2
>>> 7 in reg, reg[7].name
(True, 'add')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from ..errors import HelperError, PyBpfError, UnknownHelperError
from .memory import MASK64, Memory

__all__ = ["Helper", "HelperContext", "HelperFn", "HelperRegistry", "call_helper"]


@dataclass
class HelperContext:
    """What a helper may use besides its arguments.

    ``program`` is the running :class:`~pybpf.isa.Program`; ``state`` is a dict
    that lives for one run (helpers keep per-run data there, e.g. a PRNG).
    """

    memory: Memory
    pc: int = 0
    program: Any = None
    state: dict[str, Any] = field(default_factory=dict)


class HelperFn(Protocol):
    def __call__(self, ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int, /) -> int: ...


@dataclass(frozen=True)
class Helper:
    """A registered helper.  ``unwind``: a result of 0 stops the program with r0 = 0 (uBPF)."""

    id: int
    fn: HelperFn
    name: str
    unwind: bool = False


class HelperRegistry:
    """Helpers keyed by their Linux helper id."""

    def __init__(self) -> None:
        self._helpers: dict[int, Helper] = {}

    @overload
    def register(self, id: int, fn: HelperFn, *, name: str | None = None,
                 unwind: bool = False) -> Helper: ...
    @overload
    def register(self, id: int, fn: None = None, *, name: str | None = None,
                 unwind: bool = False) -> Callable[[HelperFn], HelperFn]: ...
    def register(self, id: int, fn: HelperFn | None = None, *, name: str | None = None,
                 unwind: bool = False) -> Helper | Callable[[HelperFn], HelperFn]:
        """Register ``fn`` as helper ``id``; without ``fn``, a decorator that does it."""
        if fn is None:
            return self.helper(id, name=name, unwind=unwind)
        if not 0 <= id < (1 << 31):
            raise ValueError(f"helper id {id} out of range")
        label = name or str(getattr(fn, "__name__", f"helper_{id}"))
        helper = Helper(id, fn, label, unwind)
        self._helpers[id] = helper
        return helper

    def helper(self, id: int, *, name: str | None = None,
               unwind: bool = False) -> Callable[[HelperFn], HelperFn]:
        """Decorator form of :meth:`register` (``@reg.helper(7)`` or ``@reg.register(7)``)."""

        def deco(fn: HelperFn) -> HelperFn:
            self.register(id, fn, name=name, unwind=unwind)
            return fn

        return deco

    def get(self, id: int) -> Helper | None:
        return self._helpers.get(id)

    def lookup(self, id: int, *, pc: int | None = None) -> Helper:
        """The helper ``id``, or UnknownHelperError naming it."""
        helper = self._helpers.get(id)
        if helper is None:
            raise UnknownHelperError(f"call to unknown helper {id}", pc=pc)
        return helper

    def __getitem__(self, id: int) -> Helper:
        return self.lookup(id)

    def __contains__(self, id: object) -> bool:
        return id in self._helpers

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._helpers))

    def __len__(self) -> int:
        return len(self._helpers)

    def copy(self) -> HelperRegistry:
        new = HelperRegistry()
        new._helpers = dict(self._helpers)
        return new


def call_helper(helper: Helper, ctx: HelperContext, pc: int, insn: str | Callable[[], str] | None,
                r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """Run ``helper`` for the call at ``pc``; its exceptions become HelperError.

    A PyBpfError raised by the helper (e.g. a MemoryAccessError from a checked
    access) is wrapped too, so the caller always sees which call failed, and
    the original stays reachable as ``__cause__``.  ``insn`` may be a callable
    giving the instruction's text: formatting it costs more than most helper
    calls, so it is only done when the call fails.
    """
    ctx.pc = pc
    try:
        result = helper.fn(ctx, r1, r2, r3, r4, r5)
        return int(result) & MASK64
    except PyBpfError as exc:
        raise HelperError(f"helper {helper.name} ({helper.id}) failed: {exc}", pc=pc,
                          insn=insn() if callable(insn) else insn) from exc
    except Exception as exc:  # any bug or bad argument in a helper must not escape raw
        raise HelperError(f"helper {helper.name} ({helper.id}) failed: {type(exc).__name__}: {exc}",
                          pc=pc, insn=insn() if callable(insn) else insn) from exc
