"""Linux helpers by id, one module per family, bound to an :class:`~.env.Env`.

:data:`LINUX_HELPERS` maps every implemented helper id to its function;
:func:`linux_registry` builds the HelperRegistry a program of a given type
runs with; :func:`check_helpers` is the load-time check that every call
names a helper the program type may call and pybpf implements.
"""

from __future__ import annotations

from ...errors import PyBpfError
from ...isa import OPCODES, CallSrc, Form, Program
from ...isa.helper_ids import HelperId
from ...platform import LINUX
from ..helpers import HelperRegistry
from . import maps, misc, probe, redirect, ringbuf, skb, sockets, sync, tail_call, trace, xdp
from .env import Env, LinuxHelper, Redirect, Run, bind, neg
from .tail_call import MAX_TAIL_CALL_CNT, TailCall

__all__ = [
    "LINUX_HELPERS",
    "MAX_TAIL_CALL_CNT",
    "Env",
    "HelperCheckError",
    "LinuxHelper",
    "Redirect",
    "Run",
    "TailCall",
    "bind",
    "check_helpers",
    "linux_registry",
    "neg",
]

LINUX_HELPERS: dict[int, LinuxHelper] = {}
for _family in (maps, misc, probe, trace, ringbuf, skb, xdp, redirect, sockets, sync, tail_call):
    LINUX_HELPERS.update({int(k): v for k, v in _family.HELPERS.items()})


class HelperCheckError(PyBpfError, ValueError):
    """A program calls a helper that is unknown, not allowed for its type, or not implemented."""


def _name(hid: int) -> str:
    try:
        return f"bpf_{HelperId(hid).name}#{hid}"
    except ValueError:
        return f"unknown#{hid}"


def check_helpers(program: Program, prog_type: int | None, user: HelperRegistry | None = None, *,
                  name: str = "") -> None:
    """Raise HelperCheckError naming the program, pc and helper for the first bad call."""
    allowed = None if prog_type is None else LINUX.allowed_helpers(prog_type)
    where = f"program {name!r}: " if name else ""
    for pc, insn in program.items():
        if OPCODES[insn.opcode].form is not Form.CALL or insn.src != CallSrc.HELPER:
            continue
        hid = insn.imm
        if user is not None and hid in user:
            continue
        if allowed is not None and hid not in allowed:
            if hid in HelperId.__members__.values() and hid != 0:
                raise HelperCheckError(f"{where}program of this type cannot use helper {_name(hid)}", pc=pc)
            raise HelperCheckError(f"{where}invalid func {_name(hid)}", pc=pc)
        if hid not in LINUX_HELPERS:
            raise HelperCheckError(f"{where}helper {_name(hid)} is not implemented by pybpf "
                                   "(register a Python helper for it)", pc=pc)


def linux_registry(env: Env, user: HelperRegistry | None = None) -> HelperRegistry:
    """Every implemented Linux helper bound to ``env``, then the user's helpers over them."""
    reg = HelperRegistry()
    for hid, fn in LINUX_HELPERS.items():
        reg.register(hid, bind(env, fn), name=_name(hid).split("#")[0])
    if user is not None:
        for hid in user:
            helper = user[hid]
            reg.register(hid, helper.fn, name=helper.name, unwind=helper.unwind)
    return reg
