"""The reference interpreter (exact Linux semantics, compiled to Python ahead of time)."""

from ..runtime.loader import MAX_SLOTS
from .interpreter import MAX_CALL_DEPTH, Interpreter
from .result import ExecResult, TraceStep

__all__ = ["MAX_CALL_DEPTH", "MAX_SLOTS", "ExecResult", "Interpreter", "TraceStep"]
