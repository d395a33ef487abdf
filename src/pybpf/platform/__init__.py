"""The platform as data: helper prototypes, program types, context layouts.

Consumed by the runtime (helper implementations, ctx setup), the verifier
(argument/return kinds, ctx access rules, the kernel's names for its
messages) and the JIT.  :data:`LINUX` bundles it all.

>>> from pybpf.platform import LINUX
>>> LINUX.helper_proto("xdp", 51).symbol
'bpf_xdp_redirect_map_proto'
>>> LINUX.ctx_access("sched_cls", 76, 4, False).reg_type.name
'PTR_TO_PACKET'
"""

from .contexts import LAYOUTS, CtxAccess, CtxField, CtxLayout, FieldRule, check_ctx_access, field_rules
from .helpers import DEFAULT_PROTO, PROTOS, HelperProto, map_func_incompatibility
from .platform import LINUX, HelperNotAllowedError, Platform
from .progtypes import (
    PROG_TYPES,
    SECTION_DEFS,
    AttachType,
    Cap,
    ProgType,
    ProgTypeInfo,
    SectionMatch,
    UnknownProgTypeError,
    UnknownSectionError,
    prog_type_info,
    resolve_section,
    return_range,
)
from .types import ArgSpec, ArgType, RegType, RetSpec, RetType, TypeFlag, reg_type_str

__all__ = [
    "DEFAULT_PROTO",
    "LAYOUTS",
    "LINUX",
    "PROG_TYPES",
    "PROTOS",
    "SECTION_DEFS",
    "ArgSpec",
    "ArgType",
    "AttachType",
    "Cap",
    "CtxAccess",
    "CtxField",
    "CtxLayout",
    "FieldRule",
    "HelperNotAllowedError",
    "HelperProto",
    "Platform",
    "ProgType",
    "ProgTypeInfo",
    "RegType",
    "RetSpec",
    "RetType",
    "SectionMatch",
    "TypeFlag",
    "UnknownProgTypeError",
    "UnknownSectionError",
    "check_ctx_access",
    "field_rules",
    "map_func_incompatibility",
    "prog_type_info",
    "reg_type_str",
    "resolve_section",
    "return_range",
]
