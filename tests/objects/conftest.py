"""Shared fixtures for object tests: the kernel helpers on sys.path, the compiled fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

for extra in (Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[1] / "runtime",
              Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture
def need_kernel() -> None:
    from pybpf import kernel

    if not kernel.available():
        pytest.skip(f"bpf() is not available here: {kernel.unavailable_reason()}")
