"""bpf_tail_call: replace the running program by a prog_array slot's program.

The helper cannot return into the old program, so it raises
:class:`TailCall`, which unwinds the interpreter (its stack frames are
released on the way out) to the object layer, which runs the target with the
same ctx.  TailCall derives from BaseException on purpose: the helper-call
wrapper turns every ``Exception`` into a HelperError, and a tail call is
control flow, not an error.  An empty slot, an index beyond the array, or the
33rd chained call falls through (the helper returns and the program goes on).
"""

from __future__ import annotations

import errno as E
from typing import Any

from ...isa.helper_ids import HelperId as H
from ...maps import ProgArrayMap
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS", "MAX_TAIL_CALL_CNT", "TailCall"]

MAX_TAIL_CALL_CNT = 33


class TailCall(BaseException):
    def __init__(self, target: Any, ctx: int) -> None:
        super().__init__("tail call")
        self.target = target
        self.ctx = ctx


def tail_call(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    m = env.maps.map_at(r2)
    if not isinstance(m, ProgArrayMap):
        return neg(E.EINVAL)
    index = r3 & 0xFFFF_FFFF
    if index >= m.max_entries or env.run.tail_calls >= MAX_TAIL_CALL_CNT:
        return neg(E.ENOENT)
    target = m.tail_call_target(index)
    if target is None:
        return neg(E.ENOENT)
    env.run.tail_calls += 1
    raise TailCall(target, r1)


HELPERS = {H.tail_call: tail_call}
