"""bpf() map commands for differential tests of pybpf.maps: a thin face on :class:`pybpf.kernel.BpfMap`.

The map tests compare outcomes, so here an absent element is an error with
ENOENT, as the syscall reports it, rather than ``None``.  Failures raise
:class:`KernelMapError` (:class:`pybpf.errors.KernelError`, an ``OSError``)
with the errno; batch failures carry ``count``.  Every :class:`KernelMap`
closes its fd.  Values and keys cross as bytes; ``None`` stands for a NULL pointer.
"""

from __future__ import annotations

import errno
import os

from pybpf.errors import KernelError
from pybpf.kernel import BpfMap

__all__ = ["KernelMap", "KernelMapError", "available"]

KernelMapError = KernelError


def _present(value: bytes | bool | None, what: str) -> None:
    if value is None or value is False:
        raise KernelMapError(f"{what}: {os.strerror(errno.ENOENT)}", errno=errno.ENOENT)


class KernelMap(BpfMap):
    def __init__(self, map_type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0,
                 *, inner_map_fd: int = 0, map_extra: int = 0) -> None:
        super().__init__(map_type=map_type, key_size=key_size, value_size=value_size,
                         max_entries=max_entries, flags=flags, inner_map_fd=inner_map_fd,
                         map_extra=map_extra)

    def lookup(self, key: int | bytes | None, flags: int = 0, *,
               value_size: int | None = None) -> bytes:
        value = super().lookup(key, flags, value_size=self.value_size if value_size is None else value_size)
        _present(value, "lookup")
        assert value is not None
        return value

    def lookup_with_value(self, value: bytes, flags: int = 0) -> None:
        """Bloom filter membership: the value goes in, nothing comes back."""
        _present(self.contains_value(value, flags), "lookup")

    def delete(self, key: int | bytes | None) -> None:  # type: ignore[override]
        _present(super().delete(key), "delete")

    def get_next_key(self, key: bytes | None) -> bytes:
        nxt = self.next_key(key)
        _present(nxt, "get_next_key")
        assert nxt is not None
        return nxt

    def lookup_and_delete(self, key: int | bytes | None, flags: int = 0, *,
                          value_size: int | None = None) -> bytes:
        size = self.value_size if value_size is None else value_size
        value = super().lookup_and_delete(key, flags, value_size=size)
        _present(value, "lookup_and_delete")
        assert value is not None
        return value


def available() -> bool:
    """True when bpf() map creation works here (root or CAP_BPF)."""
    try:
        with KernelMap(2, 4, 4, 1):
            return True
    except OSError:
        return False
