"""Every case of tests/verifier/data/*.txt gets its recorded verdict and first error line.

The expected verdicts and messages are the running kernel's (filled from it and
re-checked by test_verifier_kernel.py); ``log:`` lines must appear verbatim in
pybpf's level-2 log.
"""

from __future__ import annotations

import pytest
from vcases import Case, load_all

from pybpf.asm import assemble
from pybpf.verifier import CATALOGUE, verify

CASES = load_all()


TOO_LARGE = "BPF program is too large. Processed "
SMALL_LIMIT = 2000


def _verify(case: Case, log_level: int = 1):  # type: ignore[no-untyped-def]
    # Cases that run into the 1M instruction limit are explored to a smaller limit (same code path).
    limit = SMALL_LIMIT if (case.error or "").startswith(TOO_LARGE) else 1_000_000
    return verify(assemble(case.asm), prog_type=case.prog_type, maps=case.maps, log_level=log_level,
                  unprivileged=case.unprivileged, strict_alignment=case.strict, insn_limit=limit)


def _expected_error(case: Case) -> str | None:
    if (case.error or "").startswith(TOO_LARGE):
        return f"{TOO_LARGE}{SMALL_LIMIT + 1} insn"
    return case.error


def test_corpus_is_large_and_named_uniquely() -> None:
    assert len(CASES) >= 250
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert all(c.expect in ("accept", "reject") for c in CASES)
    assert all((c.expect == "reject") == (c.error is not None) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_verdict_and_first_error(case: Case) -> None:
    report = _verify(case)
    assert report.accepted == (case.expect == "accept"), report.log
    expected = _expected_error(case)
    assert report.error == expected, report.log
    if not report.accepted:
        # The message is in the log, right before the statistics, as the kernel prints it.
        assert expected is not None and expected in report.log


@pytest.mark.parametrize("case", [c for c in CASES if c.log], ids=lambda c: c.id)
def test_level2_log_lines(case: Case) -> None:
    log = _verify(case, log_level=2).log
    for line in case.log:
        assert line in log.splitlines(), f"{line!r} not in\n{log}"


def test_error_codes_come_from_the_catalogue() -> None:
    codes = {m.code for m in CATALOGUE.values()}
    for case in CASES:
        if case.expect == "reject":
            report = _verify(case)
            assert report.code is not None
            if report.code in codes:
                assert report.error is not None


def test_level1_success_logs_only_statistics() -> None:
    report = verify(assemble("r0 = 0\nif r1 == 0 goto +1\nr0 = 1\nexit"), prog_type="socket_filter")
    assert report.log == ("processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
                          "peak_states 0 mark_read 0\n")


def test_level0_has_no_log_but_a_verdict() -> None:
    report = verify(assemble("r0 = r2\nexit"), prog_type="xdp", log_level=0)
    assert report.error == "R2 !read_ok" and report.log == ""


def test_report_raise_for_error() -> None:
    from pybpf.errors import PyBpfError
    from pybpf.verifier import VerifierError

    report = verify(assemble("exit\nexit"), prog_type="xdp")
    with pytest.raises(VerifierError) as info:
        report.raise_for_error()
    assert isinstance(info.value, PyBpfError) and info.value.code == "UNREACHABLE"
    assert "unreachable insn 1" in report.summary()
