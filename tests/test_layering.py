"""The dependency direction of DEVELOPERS.md, checked on the source.

    errors <- isa <- {asm, cbpf, maps, testdata} <- platform <- {elf, runtime, kernel}
           <- {interp, jit, verifier} <- {vm, bench, conformance_plugin} <- pybpf <- cli

A module may import from a lower layer or from its own package; interp, jit
and verifier never import one another.  Function-level (lazy) imports count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pybpf"

LAYERS: dict[str, float] = {
    "errors": 0,
    "isa": 1,
    "asm": 2, "cbpf": 2, "maps": 2, "testdata": 2, "pcap": 2,
    # The platform says which map types each helper takes, so it sits just above maps.
    "platform": 2.5,
    "elf": 3, "runtime": 3, "kernel": 3,
    "interp": 4, "jit": 4, "verifier": 4,
    "vm": 5, "conformance_plugin": 5, "objects": 5,
    # benchmarks time the public engines, objects included
    "bench": 5.5,
    "__init__": 6,
    "cli": 7,
}
APART = {"interp", "jit", "verifier"}

# Edges that point upward on purpose, with the reason.
ALLOWED_UPWARD = {
    # Insn.__str__ hands off to the disassembler's formatter, as dis.Instruction
    # does; the import is lazy so isa never needs asm to load.
    ("isa", "asm"),
}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg = ["pybpf", *path.relative_to(SRC).parts[:-1]]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parent = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            if node.module is None and node.level:
                found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, base))
    return found


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layers(path: Path) -> None:
    me = _top(path)
    assert me in LAYERS, f"{me} has no layer: add it to LAYERS"
    bad = []
    for line, name in _imports(path):
        parts = name.split(".")
        if parts[0] != "pybpf" or len(parts) < 2:
            continue
        other = parts[1]
        if other == me:
            continue
        if other not in LAYERS:
            bad.append(f"line {line}: {name} (no layer)")
        elif me in APART and other in APART:
            bad.append(f"line {line}: {name} ({me} and {other} never import one another)")
        elif LAYERS[other] >= LAYERS[me] and (me, other) not in ALLOWED_UPWARD:
            bad.append(f"line {line}: {name} (layer {LAYERS[other]} from layer {LAYERS[me]})")
    assert not bad, f"{path.relative_to(SRC)} imports upward:\n" + "\n".join(bad)


def test_llvmlite_binding_only_in_jit_engine() -> None:
    for path in _modules():
        for line, name in _imports(path):
            if name.startswith("llvmlite.binding"):
                assert path.relative_to(SRC).as_posix() == "jit/engine.py", f"{path}:{line}"
