"""Differential test against the running kernel's verifier.

For every data case (and a set of random verifiable programs) the kernel and
pybpf must agree on accept/reject and on the first error line.  Where they do
not, the case says ``kernel: xfail <reason>`` and the test is a strict xfail,
so a fix is noticed too.  ``test_agreement_summary`` prints the percentages.
"""

from __future__ import annotations

import oracle
import pytest
from vcases import Case, load_all

from pybpf import kernel
from pybpf.asm import assemble
from pybpf.verifier import Report, verify

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(not kernel.available(),
                                 reason=f"bpf() unavailable: {kernel.unavailable_reason()}")]

CASES = [c for c in load_all() if c.kernel != "skip"]


def _params() -> list[object]:
    out: list[object] = []
    for c in CASES:
        marks = [pytest.mark.xfail(reason=c.kernel_reason, strict=True)] if c.kernel == "xfail" else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


TOO_LARGE = "BPF program is too large. Processed "


def _both(case: Case) -> tuple[Report, oracle.KernelVerdict, str | None]:
    """pybpf's report, the kernel's verdict, and the error pybpf's report must show."""
    prog = assemble(case.asm)
    theirs = oracle.load(prog, case.prog_type, case.maps, strict=case.strict)
    want = theirs.error
    limit = 1_000_000
    if (theirs.error or "").startswith(TOO_LARGE):
        # Exploring 1M instructions in Python takes a minute: the same path to a smaller limit.
        limit = 2000
        want = f"{TOO_LARGE}{limit + 1} insn"
    mine = verify(prog, prog_type=case.prog_type, maps=case.maps, strict_alignment=case.strict,
                  insn_limit=limit)
    return mine, theirs, want


def _compare(case: Case) -> tuple[bool, bool]:
    mine, theirs, want = _both(case)
    same_verdict = mine.accepted == theirs.accepted
    same_error = same_verdict and (theirs.accepted or mine.error == want)
    return same_verdict, same_error


@pytest.mark.parametrize("case", _params())
def test_same_verdict_and_error_as_kernel(case: Case) -> None:
    mine, theirs, want = _both(case)
    assert mine.accepted == theirs.accepted, f"kernel:\n{theirs.log}\npybpf:\n{mine.log}"
    assert mine.error == want, f"kernel:\n{theirs.log}\npybpf:\n{mine.log}"


def test_agreement_summary(capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = errors = rejects = 0
    for case in CASES:
        v, e = _compare(case)
        verdicts += v
        if case.expect == "reject":
            rejects += 1
            errors += e
    with capsys.disabled():
        print(f"\nverifier vs kernel: verdict {verdicts}/{len(CASES)} ({100 * verdicts / len(CASES):.1f}%), "
              f"first error {errors}/{rejects} ({100 * errors / max(rejects, 1):.1f}%)")
    assert verdicts / len(CASES) >= 0.98
    assert errors / max(rejects, 1) >= 0.90
