"""What a running program touches: the memory model and the helper functions."""

from .helpers import Helper, HelperContext, HelperFn, HelperRegistry, call_helper
from .memory import MASK64, Memory, Region
from .ubpf_helpers import ubpf_test_helpers

__all__ = [
    "MASK64", "Helper", "HelperContext", "HelperFn", "HelperRegistry", "Memory", "Region",
    "call_helper", "ubpf_test_helpers",
]
