"""The context layouts against the real uapi headers, measured by gcc (one compile)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.platform.contexts import BPF_SOCK, PERF_EVENT_DATA, PT_REGS, SK_BUFF, XDP_MD, CtxLayout

HEADERS = ("/usr/include/linux/bpf.h", "/usr/include/x86_64-linux-gnu/asm/ptrace.h")
# (C struct, layout, measure the uapi spelling of member names)
STRUCTS: tuple[tuple[str, CtxLayout, bool], ...] = (
    ("__sk_buff", SK_BUFF, False),
    ("xdp_md", XDP_MD, False),
    ("pt_regs", PT_REGS, True),
    ("bpf_perf_event_data", PERF_EVENT_DATA, False),
    ("bpf_sock", BPF_SOCK, False),
)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[int, int]]]:
    """offsetof/sizeof of every modelled member, per struct, as gcc lays them out."""
    missing = [h for h in HEADERS if not Path(h).exists()]
    if missing:
        pytest.skip(f"missing uapi headers: {missing}")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    lines = []
    for struct, layout, uapi in STRUCTS:
        for f in layout.fields:
            member = f.alias if uapi and f.alias else f.name
            lines.append(f'printf("{struct} {f.name} %zu %zu\\n", offsetof(struct {struct}, {member}), '
                         f"sizeof(((struct {struct} *)0)->{member}));")
        lines.append(f'printf("{struct} __size__ %zu 0\\n", sizeof(struct {struct}));')
    tmp = tmp_path_factory.mktemp("layouts")
    src = tmp / "layout.c"
    src.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\n#include <asm/ptrace.h>\n"
        "#include <linux/bpf_perf_event.h>\n"
        "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n"
    )
    exe = tmp / "layout"
    build = subprocess.run(["gcc", "-o", str(exe), str(src)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"uapi headers unusable: {build.stderr[:300]}")
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for line in out.splitlines():
        struct, name, off, size = line.split()
        found.setdefault(struct, {})[name] = (int(off), int(size))
    return found


@pytest.mark.parametrize("struct, layout", [(s, lay) for s, lay, _ in STRUCTS],
                         ids=[s for s, _, _ in STRUCTS])
def test_layout_matches_uapi(measured: dict[str, dict[str, tuple[int, int]]], struct: str,
                             layout: CtxLayout) -> None:
    want = {f.name: (f.offset, f.size) for f in layout.fields}
    want["__size__"] = (layout.size, 0)
    assert measured[struct] == want


def test_every_sk_buff_member_is_modelled() -> None:
    # The header's member list, read from the struct body, must match ours in order.
    if not Path(HEADERS[0]).exists():
        pytest.skip("no linux/bpf.h")
    text = Path(HEADERS[0]).read_text()
    body = text.split("struct __sk_buff {", 1)[1].split("};", 1)[0]
    names = []
    for raw in body.splitlines():
        line = raw.split("/*")[0].strip()
        if not line or line.startswith("__u32 :"):
            continue
        if line.startswith("__bpf_md_ptr("):
            names.append(line.split(",")[1].strip(" );"))
        else:
            names.append(line.rstrip(";").split()[-1].split("[")[0])
    assert names == [f.name for f in SK_BUFF.fields]
