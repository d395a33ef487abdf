"""Map helpers: lookup/update/delete, push/pop/peek (kernel/bpf/helpers.c).

The map pointer comes from LD_IMM64 (see :mod:`pybpf.runtime.maps_rt`); keys
and values are read from the program's memory with checked accessors.  A
lookup returns a real pointer into the map's value region, or NULL.
"""

from __future__ import annotations

import errno as E

from ...isa.helper_ids import HelperId as H
from ...maps import ArrayOfMapsMap, BloomFilterMap, HashOfMapsMap, Map, QueueMap, StackMap
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS"]


def _map(env: Env, addr: int) -> Map:
    return env.maps.require(addr)


def _key(env: Env, m: Map, addr: int) -> bytes:
    return env.memory.read(addr, m.key_size) if m.key_size else b""


def map_lookup_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = _map(env, r1)
    if not m.prog_readable:
        return 0
    if isinstance(m, ArrayOfMapsMap | HashOfMapsMap):
        # A map-in-map lookup yields the inner map's pointer, usable as a map argument.
        key = _key(env, m, r2)
        inner = m.get_ref(int.from_bytes(key, "little")) if isinstance(m, ArrayOfMapsMap) \
            else m.get_ref(key)
        return 0 if inner is None else env.maps.pointer_of(inner)
    ref = m.prog_lookup(_key(env, m, r2), cpu=env.cpu)
    if ref is None:
        return 0
    return env.maps.value_pointer(m, ref)


def map_update_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = _map(env, r1)
    key = _key(env, m, r2)
    value = env.memory.read(r3, m.value_size)
    return m.prog_update(key, value, r4, cpu=env.cpu) & ((1 << 64) - 1)


def map_delete_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = _map(env, r1)
    return m.prog_delete(_key(env, m, r2)) & ((1 << 64) - 1)


def _queue(env: Env, addr: int) -> QueueMap | StackMap | None:
    m = _map(env, addr)
    return m if isinstance(m, QueueMap | StackMap) else None


def map_push_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    bloom = env.maps.require(r1)
    if isinstance(bloom, BloomFilterMap):  # push adds the value to the filter
        return bloom.prog_push(env.memory.read(r2, bloom.value_size), r3) & ((1 << 64) - 1)
    q = _queue(env, r1)
    if q is None:
        return neg(E.EOPNOTSUPP)
    return q.prog_push(env.memory.read(r2, q.value_size), r3) & ((1 << 64) - 1)


def _pop_or_peek(env: Env, r1: int, r2: int, pop: bool) -> int:
    q = _queue(env, r1)
    if q is None:
        return neg(E.EOPNOTSUPP)
    env.memory.check(r2, q.value_size, True)  # the verifier makes sure the buffer is writable
    got = q.prog_pop() if pop else q.prog_peek()
    if isinstance(got, int):
        return got & ((1 << 64) - 1)
    env.memory.write(r2, got)
    return 0


def map_pop_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _pop_or_peek(env, r1, r2, True)


def map_peek_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    bloom = env.maps.require(r1)
    if isinstance(bloom, BloomFilterMap):  # peek asks whether the value may be in the filter
        return bloom.prog_peek(env.memory.read(r2, bloom.value_size)) & ((1 << 64) - 1)
    return _pop_or_peek(env, r1, r2, False)


def map_lookup_percpu_elem(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int,
                           r5: int) -> int:
    m = _map(env, r1)
    cpu = r3 & 0xFFFF_FFFF
    if cpu >= m.num_cpus:
        return 0
    ref = m.prog_lookup(_key(env, m, r2), cpu=cpu)
    return 0 if ref is None else env.maps.value_pointer(m, ref)


HELPERS = {
    H.map_lookup_elem: map_lookup_elem, H.map_update_elem: map_update_elem,
    H.map_delete_elem: map_delete_elem, H.map_push_elem: map_push_elem, H.map_pop_elem: map_pop_elem,
    H.map_peek_elem: map_peek_elem, H.map_lookup_percpu_elem: map_lookup_percpu_elem,
}
