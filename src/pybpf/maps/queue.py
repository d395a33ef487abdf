"""BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel/bpf/queue_stack_maps.c).

No keys (key_size 0).  Syscall update pushes, lookup peeks,
lookup_and_delete pops; delete and get_next_key fail with EINVAL.  Pushing
into a full map fails with E2BIG unless the flag is BPF_EXIST, which drops
the *oldest* element to make room, for a stack as well as for a queue.
Peeked/popped values are copies, so programs never hold pointers into them.
"""

from __future__ import annotations

import errno as E
from collections import deque
from typing import Any

from .base import BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, Map
from .errors import MapFullError, MapInvalidError, MapKeyNotFoundError, map_error
from .spec import MapSpec, MapType

__all__ = ["QueueMap", "StackMap"]


class QueueMap(Map):
    """FIFO: pop/peek give the oldest element."""

    types = (MapType.QUEUE,)
    lifo = False

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._items: deque[bytes] = deque()

    # -- core -------------------------------------------------------------------------

    def _push(self, value: bytes, flags: int) -> None:
        if flags & BPF_NOEXIST or flags > BPF_EXIST:
            raise MapInvalidError(f"push flags {flags:#x}: only BPF_ANY or BPF_EXIST")
        if len(self._items) >= self.max_entries:
            if flags != BPF_EXIST:
                raise MapFullError(f"{self.type.name.lower()} '{self.name}' is full")
            self._items.popleft()  # oldest goes, whichever end pops
        self._items.append(value)

    def _peek(self) -> bytes:
        if not self._items:
            raise MapKeyNotFoundError(f"{self.type.name.lower()} '{self.name}' is empty")
        return self._items[-1] if self.lifo else self._items[0]

    def _pop(self) -> bytes:
        value = self._peek()
        if self.lifo:
            self._items.pop()
        else:
            self._items.popleft()
        return value

    # -- syscall hooks -----------------------------------------------------------------

    def _lookup(self, key: bytes, flags: int) -> bytes:
        return self._peek()

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        self._push(value, flags)

    def _delete(self, key: bytes) -> None:
        raise MapInvalidError(f"{self.type.name} maps have no delete; pop instead")

    def _get_next_key(self, key: bytes | None) -> bytes:
        raise MapInvalidError(f"{self.type.name} maps have no keys to iterate")

    def _lookup_and_delete(self, key: bytes, flags: int) -> bytes:
        if flags & BPF_F_LOCK:
            raise MapInvalidError("BPF_F_LOCK on a queue/stack")
        return self._pop()

    def _count(self) -> int:
        return len(self._items)

    def _clear(self) -> None:
        self._items.clear()

    def _sys_key(self, key: Any) -> bytes:
        if key is not None and key != b"":
            raise MapInvalidError(f"{self.type.name} maps take no key")
        return b""

    # -- Python API -------------------------------------------------------------------

    def push(self, value: Any, flags: int = 0) -> None:
        """BPF_MAP_UPDATE_ELEM with a NULL key."""
        self.update(None, value, flags)

    def pop(self) -> Any:
        """BPF_MAP_LOOKUP_AND_DELETE_ELEM with a NULL key (ENOENT when empty)."""
        return self.decode_value(self.lookup_and_delete(None))

    def peek(self) -> Any:
        """BPF_MAP_LOOKUP_ELEM with a NULL key (ENOENT when empty)."""
        return self.decode_value(self.lookup(None))

    def __iter__(self) -> Any:
        raise map_error(E.EINVAL, f"{self.type.name} maps cannot be iterated; pop() them")

    def __contains__(self, key: Any) -> bool:
        raise map_error(E.EINVAL, f"{self.type.name} maps have no keys")

    def snapshot(self) -> list[Any]:
        """Every element, in pop order, without popping (for tests and printing)."""
        with self.lock:
            items = list(reversed(self._items)) if self.lifo else list(self._items)
        return [self.decode_value(v) for v in items]

    # -- program side -------------------------------------------------------------------

    def prog_push(self, value: bytes, flags: int = 0) -> int:
        """bpf_map_push_elem(): 0 or a negative errno."""
        with self.lock:
            if not self.prog_writable:
                return -E.EPERM
            try:
                self._push(bytes(value[: self.value_size]), flags)
            except MapInvalidError:
                return -E.EINVAL
            except MapFullError:
                return -E.E2BIG
            return 0

    def prog_pop(self) -> bytes | int:
        """bpf_map_pop_elem(): the value, or a negative errno (-ENOENT when empty)."""
        with self.lock:
            if not self.prog_writable:
                return -E.EPERM
            try:
                return self._pop()
            except MapKeyNotFoundError:
                return -E.ENOENT

    def prog_peek(self) -> bytes | int:
        """bpf_map_peek_elem(): the value, or -ENOENT when empty."""
        with self.lock:
            try:
                return self._peek()
            except MapKeyNotFoundError:
                return -E.ENOENT


class StackMap(QueueMap):
    """LIFO: pop/peek give the newest element."""

    types = (MapType.STACK,)
    lifo = True
