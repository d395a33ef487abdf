"""Shared helpers for the map tests: spec builders and the kernel helper on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/kernel_maps.py lives one level up and tests are not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kernel_maps


@pytest.fixture(scope="session")
def kernel_ok() -> bool:
    return kernel_maps.available()


@pytest.fixture
def need_kernel(kernel_ok: bool) -> None:
    if not kernel_ok:
        pytest.skip("bpf() map creation is not available here (needs root / CAP_BPF)")
