"""Converted programs pass pybpf's verifier as socket filters (and the kernel's, where bpf() works)."""

from __future__ import annotations

import pytest
from cbpf_strategies import valid_program
from hypothesis import assume, given, settings
from test_differential import EXPRESSIONS

from pybpf import kernel
from pybpf.cbpf import Anc, SockFilter, check, convert, libpcap
from pybpf.verifier import verify


@pytest.mark.skipif(not libpcap.available(), reason="needs libpcap")
@pytest.mark.parametrize("expr", EXPRESSIONS[::3])
def test_tcpdump_programs_verify(expr: str) -> None:
    report = verify(convert(libpcap.compile_filter(expr), prune=True), prog_type="socket_filter")
    assert report.accepted, report.error


@settings(max_examples=40, deadline=None)
@given(valid_program(negative=False, max_len=25))
def test_random_programs_verify(prog: list[SockFilter]) -> None:
    # hatype has no __sk_buff field: it calls a pybpf-only helper that no verifier knows.
    assume(all(f.k != Anc.HATYPE.k for f in prog))
    check(prog)
    program = convert(prog, prune=True)
    report = verify(program, prog_type="socket_filter")
    assert report.accepted, report.error
    if kernel.available():
        with kernel.load_program(program, kernel.BPF_PROG_TYPE_SOCKET_FILTER):
            pass
