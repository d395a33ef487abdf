"""BPF_MAP_TYPE_BLOOM_FILTER (kernel/bpf/bloom_filter.c).

No keys; push (syscall update) adds a value, peek (syscall lookup with the
value as input) tests membership: ENOENT means "certainly absent", success
means "probably present" - false positives happen, as in the kernel.
``map_extra & 0xF`` is the number of hash functions (0 means 5).  The bit
array is sized as the kernel sizes it: ``max_entries * nr_hashes / ln 2``
bits rounded up to a power of two (at least 32 bits).  The hash is not the
kernel's jhash with a random seed (its answers could not be reproduced
anyway); it is BLAKE2b keyed by the hash function's index.

Pop and delete are EOPNOTSUPP, get_next_key too, as in the kernel.
"""

from __future__ import annotations

import errno as E
import hashlib
import math
from typing import Any

from .base import BPF_ANY, Map
from .errors import ENOTSUPP, MapInvalidError, MapKeyNotFoundError, MapNotSupportedError
from .spec import MapSpec, MapType

__all__ = ["BloomFilterMap"]


class BloomFilterMap(Map):
    types = (MapType.BLOOM_FILTER,)

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.nr_hashes = (spec.map_extra & 0xF) or 5
        bits = math.ceil(spec.max_entries * self.nr_hashes / math.log(2))
        self.nr_bits = max(32, 1 << max(0, (bits - 1).bit_length()))
        self.bits = bytearray(self.nr_bits // 8)
        self.pushed = 0

    def _positions(self, value: bytes) -> list[int]:
        out = []
        for i in range(self.nr_hashes):
            h = hashlib.blake2b(value, digest_size=8, key=i.to_bytes(4, "little")).digest()
            out.append(int.from_bytes(h, "little") & (self.nr_bits - 1))
        return out

    def _push(self, value: bytes, flags: int) -> None:
        if flags != BPF_ANY:
            raise MapInvalidError(f"bloom filter push flags must be BPF_ANY, got {flags:#x}")
        for p in self._positions(value):
            self.bits[p >> 3] |= 1 << (p & 7)
        self.pushed += 1

    def _peek(self, value: bytes) -> None:
        for p in self._positions(value):
            if not self.bits[p >> 3] & (1 << (p & 7)):
                raise MapKeyNotFoundError("value is not in the bloom filter")

    def _sys_key(self, key: Any) -> bytes:
        if key is not None and key != b"":
            raise MapInvalidError("bloom filters take no key")
        return b""

    # Syscall update is a push; syscall lookup passes the value *in*.
    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        self._push(value, flags)

    def _delete(self, key: bytes) -> None:
        raise MapNotSupportedError("bloom filters cannot delete", errno=E.EOPNOTSUPP)

    def _get_next_key(self, key: bytes | None) -> bytes:
        raise MapNotSupportedError("bloom filters have no keys", errno=E.EOPNOTSUPP)

    def _lookup_and_delete(self, key: bytes, flags: int) -> bytes:
        raise MapNotSupportedError("bloom filters cannot pop", errno=ENOTSUPP)

    def _clear(self) -> None:
        self.bits[:] = bytes(len(self.bits))
        self.pushed = 0

    # -- Python API ------------------------------------------------------------------

    def push(self, value: Any, flags: int = BPF_ANY) -> None:
        """BPF_MAP_UPDATE_ELEM: add ``value``."""
        self.update(None, value, flags)

    def add(self, value: Any) -> None:
        self.push(value)

    def peek(self, value: Any, flags: int = 0) -> None:
        """BPF_MAP_LOOKUP_ELEM: raises ENOENT when ``value`` is certainly absent."""
        v = self._encode_one(value)
        with self.lock:
            self._check_sys_read()
            if flags:
                raise MapInvalidError(f"lookup flags {flags:#x} not valid for a bloom filter")
            self._peek(v)

    def __contains__(self, value: Any) -> bool:
        """Membership test (may be a false positive, never a false negative)."""
        try:
            self.peek(value)
        except MapKeyNotFoundError:
            return False
        return True

    def __iter__(self) -> Any:
        raise MapNotSupportedError("bloom filters cannot be iterated", errno=E.EOPNOTSUPP)

    # -- program side -----------------------------------------------------------------

    def prog_push(self, value: bytes, flags: int = 0) -> int:
        with self.lock:
            if not self.prog_writable:
                return -E.EPERM
            try:
                self._push(bytes(value[: self.value_size]), flags)
            except MapInvalidError:
                return -E.EINVAL
            return 0

    def prog_peek(self, value: bytes) -> int:
        """bpf_map_peek_elem(): 0 when probably present, -ENOENT when absent."""
        with self.lock:
            try:
                self._peek(bytes(value[: self.value_size]))
            except MapKeyNotFoundError:
                return -E.ENOENT
            return 0
