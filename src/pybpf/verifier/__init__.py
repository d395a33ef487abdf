"""A static verifier that behaves like Linux's: same verdicts, same messages, same log.

The pieces, as kernel/bpf/verifier.c splits them: :mod:`.tnum` and
:mod:`.bounds` (scalar value tracking), :mod:`.regstate` and :mod:`.stack`
(register and stack state), :mod:`.cfg` (structure), :mod:`.checker` (path
exploration), :mod:`.messages` (the catalogue of texts) and :mod:`.log` (the
kernel's log format).  :func:`verify` runs them all.

>>> from pybpf.asm import assemble
>>> report = verify(assemble("exit\\nexit"), prog_type="xdp")
>>> report.accepted, report.error
(False, 'unreachable insn 1')
"""

from .analyzer import Report, VerifierError, verify
from .messages import CATALOGUE, M, Message

__all__ = ["CATALOGUE", "M", "Message", "Report", "VerifierError", "verify"]
