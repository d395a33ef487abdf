"""What a run returns: the engine-neutral result types, re-exported from :mod:`pybpf.runtime.result`."""

from __future__ import annotations

from ..runtime.result import ExecResult, TraceStep

__all__ = ["ExecResult", "TraceStep"]
