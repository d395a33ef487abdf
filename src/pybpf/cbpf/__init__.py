"""Classic BPF: the model, codec, text formats, checker, interpreter, eBPF converter, seccomp.

>>> from pybpf.cbpf import parse_asm, check, run_filter, convert
>>> prog = parse_asm("ldh [12]\\njeq #0x800, yes, no\\nyes: ret #65535\\nno: ret #0")
>>> check(prog)
>>> run_filter(prog, bytes(12) + b"\\x08\\x00")
65535
>>> len(convert(prog))
9
"""

from .checker import LDX_W_ABS, SECCOMP_DATA_SIZE, FilterError, check, check_seccomp
from .codec import SOCK_FILTER_SIZE, decode, encode
from .convert import CBPF_HELPERS, SK_BUFF, SK_BUFF_SIZE, convert, prune_unreachable, sk_buff_ctx
from .formats import (
    FORMATS,
    format_asm,
    format_dd,
    format_ddd,
    format_insn,
    format_listing,
    parse_any,
    parse_asm,
    parse_dd,
    parse_ddd,
    parse_listing,
)
from .interp import PacketMeta, run_filter
from .model import (
    ANC_NAMES,
    BPF_MAXINSNS,
    BPF_MEMWORDS,
    CODES,
    SKF_AD_OFF,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Anc,
    CodeInfo,
    SockFilter,
    jump,
    stmt,
)
from .pycompile import compile_program, compile_scanner
from .seccomp import AUDIT_ARCH, Action, SeccompData, SeccompFilter, SeccompResult

__all__ = [
    "SockFilter", "CodeInfo", "CODES", "Anc", "ANC_NAMES", "BPF_MAXINSNS", "BPF_MEMWORDS",
    "SKF_AD_OFF", "SKF_NET_OFF", "SKF_LL_OFF", "stmt", "jump",
    "SOCK_FILTER_SIZE", "decode", "encode",
    "FORMATS", "format_dd", "parse_dd", "format_ddd", "parse_ddd", "format_listing", "parse_listing",
    "format_asm", "parse_asm", "format_insn", "parse_any",
    "FilterError", "check", "check_seccomp", "LDX_W_ABS", "SECCOMP_DATA_SIZE",
    "PacketMeta", "run_filter",
    "convert", "prune_unreachable", "sk_buff_ctx", "SK_BUFF", "SK_BUFF_SIZE", "CBPF_HELPERS",
    "compile_program", "compile_scanner",
    "AUDIT_ARCH", "Action", "SeccompData", "SeccompFilter", "SeccompResult",
]
