"""BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c): longest-prefix match.

A key is ``struct bpf_lpm_trie_key_u8``: a u32 ``prefixlen`` (host order)
followed by ``key_size - 4`` data bytes, compared most significant bit first
(network order).  Update and delete act on the exact prefix; lookup returns
the entry with the longest prefix ``p <= key.prefixlen`` whose first ``p``
bits equal the key's.

get_next_key order is the kernel's: a post-order walk of its trie, children
of a node taken bit 0 first, intermediate nodes skipped.  For a set of
prefixes the kernel's trie shape is unique (every intermediate node has two
children), so that order is simply: a longer prefix comes before any prefix
it extends, and otherwise the prefix with a 0 at the first differing bit comes
first.  Appending a terminator ``2`` to each prefix's bit string and comparing
those strings gives exactly that order (``_sort_key``).  A key that is not in
the trie (or has prefixlen beyond the maximum) restarts from the first
element, as the kernel's ``find_leftmost``.

The kernel stores the data bytes as given, even bits beyond the prefix, and
hands them back from get_next_key; so does pybpf (the last update wins).
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any

from .base import BPF_EXIST, BPF_NOEXIST, Map, ValueRef
from .errors import MapExistsError, MapInvalidError, MapKeyNotFoundError, MapNoSpaceError
from .spec import MapSpec, MapType

__all__ = ["LpmTrieMap", "lpm_key"]


def lpm_key(prefixlen: int, data: bytes) -> bytes:
    """Build an LPM key: little-endian u32 prefixlen then the data bytes."""
    return prefixlen.to_bytes(4, "little") + bytes(data)


class LpmTrieMap(Map):
    """Prefix -> value with longest-prefix-match lookup."""

    types = (MapType.LPM_TRIE,)
    batch_ops = frozenset({"lookup", "update", "delete"})

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.data_size = spec.key_size - 4
        self.max_prefixlen = self.data_size * 8
        # (prefixlen, masked data as int) -> (key bytes as last given, value buffer)
        self._elems: dict[tuple[int, int], tuple[bytes, bytearray]] = {}
        self._lens: Counter[int] = Counter()
        self._sorted: list[str] = []  # sort keys, kernel get_next_key order
        self._by_sort: dict[str, tuple[int, int]] = {}

    # -- helpers -------------------------------------------------------------------

    def _split(self, key: bytes) -> tuple[int, int]:
        plen = int.from_bytes(key[:4], "little")
        return plen, int.from_bytes(key[4:], "big")

    def _masked(self, plen: int, data: int) -> int:
        drop = self.max_prefixlen - plen
        return (data >> drop) << drop

    def _sort_key(self, plen: int, data: int) -> str:
        bits = format(data, f"0{self.max_prefixlen}b")[:plen] if plen else ""
        return bits + "2"

    def _find(self, key: bytes) -> tuple[int, int] | None:
        """The longest stored prefix matching ``key`` (the kernel's lookup)."""
        plen, data = self._split(key)
        if plen > self.max_prefixlen:
            # Reading trie_lookup_elem, such a key would still match the longest
            # full-length prefix; the running kernel (6.18) finds nothing: it wins.
            return None
        for p in sorted(self._lens, reverse=True):
            if p <= plen and (p, self._masked(p, data)) in self._elems:
                return (p, self._masked(p, data))
        return None

    # -- hooks -----------------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int) -> bytes:
        ident = self._find(key)
        if ident is None:
            raise MapKeyNotFoundError(f"no prefix of {key.hex()} in map '{self.name}'")
        return bytes(self._elems[ident][1])

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        ident = self._find(key)
        if ident is None:
            return None
        return ValueRef(self._elems[ident][1], 0, self.value_size)

    def _exact(self, key: bytes) -> tuple[int, int]:
        plen, data = self._split(key)
        if plen > self.max_prefixlen:
            raise MapInvalidError(f"prefixlen {plen} exceeds the maximum {self.max_prefixlen}")
        return plen, self._masked(plen, data)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        if flags > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for LPM_TRIE")
        ident = self._exact(key)
        old = self._elems.get(ident)
        if old is not None:
            if flags == BPF_NOEXIST:
                raise MapExistsError(f"prefix {key.hex()} already in map '{self.name}' (BPF_NOEXIST)")
            # The kernel swaps in a new node (RCU); the old value buffer is retired.
            self._elems[ident] = (key, bytearray(value))
            self._retire(old[1])
            return
        if flags == BPF_EXIST:
            raise MapKeyNotFoundError(f"prefix {key.hex()} not in map '{self.name}' (BPF_EXIST)")
        if len(self._elems) >= self.max_entries:
            raise MapNoSpaceError(f"LPM trie '{self.name}' is full ({self.max_entries} entries)")
        self._elems[ident] = (key, bytearray(value))
        self._lens[ident[0]] += 1
        sk = self._sort_key(*ident)
        bisect.insort(self._sorted, sk)
        self._by_sort[sk] = ident

    def _delete(self, key: bytes) -> None:
        ident = self._exact(key)
        old = self._elems.pop(ident, None)
        if old is None:
            raise MapKeyNotFoundError(f"prefix {key.hex()} not in map '{self.name}'")
        self._lens[ident[0]] -= 1
        if not self._lens[ident[0]]:
            del self._lens[ident[0]]
        sk = self._sort_key(*ident)
        del self._sorted[bisect.bisect_left(self._sorted, sk)]
        del self._by_sort[sk]
        self._retire(old[1])

    def _get_next_key(self, key: bytes | None) -> bytes:
        if not self._sorted:
            raise MapKeyNotFoundError("the trie is empty")
        pos = 0
        if key is not None:
            plen, data = self._split(key)
            if plen <= self.max_prefixlen and (plen, self._masked(plen, data)) in self._elems:
                pos = bisect.bisect_right(self._sorted, self._sort_key(plen, self._masked(plen, data)))
        if pos >= len(self._sorted):
            raise MapKeyNotFoundError("no key after the last prefix")
        return self._elems[self._by_sort[self._sorted[pos]]][0]

    def _count(self) -> int:
        return len(self._elems)

    def _clear(self) -> None:
        for _, buf in self._elems.values():
            self._retire(buf)
        self._elems.clear()
        self._lens.clear()
        self._sorted.clear()
        self._by_sort.clear()
