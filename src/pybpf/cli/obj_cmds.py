"""``pybpf prog list`` and ``pybpf map dump``: what an object holds, as bpftool shows it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..elf import format_value, load_spec
from ..errors import PyBpfError
from ..maps.spec import MapSpec, MapType
from .testrun_cmd import load_object_or_fail, open_runner, run_capture

__all__ = ["register"]

_PERCPU = {MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH,
           MapType.PERCPU_CGROUP_STORAGE}


def register(sub: Any) -> None:
    prog = sub.add_parser("prog", help="programs of an object (prog list)")
    psub = prog.add_subparsers(dest="prog_command", required=True, metavar="COMMAND")
    pl: argparse.ArgumentParser = psub.add_parser(
        "list", help="name, section, type, instructions and maps of every program",
        description="List the programs of a BPF ELF object: name, section, program type, "
        "instruction count (LD_IMM64 counts once) and the maps each uses.")
    pl.add_argument("object", type=Path, help="BPF ELF object (.o)")
    pl.add_argument("--json", action="store_true", help="one JSON object per program and line")
    pl.set_defaults(func=_prog_list)

    mp = sub.add_parser("map", help="maps of an object (map dump)")
    msub = mp.add_subparsers(dest="map_command", required=True, metavar="COMMAND")
    md: argparse.ArgumentParser = msub.add_parser(
        "dump", help="keys and values of the object's maps, by BTF field",
        description="Print every element of the object's maps as bpftool map dump does: keys and "
        "values by field when the object has BTF, hex bytes otherwise, per-CPU values per CPU.  "
        "With --after-run, first run every packet of --pcap through --prog.")
    md.add_argument("object", type=Path, help="BPF ELF object (.o)")
    md.add_argument("--map", dest="map_name", help="only this map")
    md.add_argument("--after-run", action="store_true", help="dump after running --pcap through --prog")
    md.add_argument("--prog", help="program for --after-run (default: the only one)")
    md.add_argument("--pcap", type=Path, metavar="IN", help="capture for --after-run")
    md.add_argument("--nonzero", action="store_true", help="skip elements whose value is all zero bytes")
    md.add_argument("--json", action="store_true", help="one JSON object per map and line")
    md.set_defaults(func=_map_dump)


# -- prog list ---------------------------------------------------------------------

def _prog_list(args: argparse.Namespace) -> int:
    spec = load_spec(args.object)
    rows = [{"name": p.name, "section": p.section, "type": p.prog_type.name.lower(),
             "insns": len(p.insns), "maps": list(p.maps_used)} for p in spec.programs.values()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    headers = ["name", "section", "type", "insns", "maps"]
    table = [headers] + [[p.name, p.section, p.prog_type.name.lower(), str(len(p.insns)),
                          ", ".join(p.maps_used) or "-"] for p in spec.programs.values()]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0


# -- map dump ----------------------------------------------------------------------

def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def _fmt(btf_type: Any, data: bytes) -> str:
    if btf_type is None:
        return _hex(data)
    try:
        return format_value(btf_type, data)
    except PyBpfError:
        return _hex(data)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _dump_one(name: str, m: Any, spec: MapSpec | None, nonzero: bool) -> dict[str, Any]:
    """One map as data: header facts plus elements [(key, value | [per-CPU values])]."""
    mtype = MapType(int(m.type))
    doc: dict[str, Any] = {"name": name, "type": mtype.name.lower(), "key_size": m.key_size,
                           "value_size": m.value_size, "max_entries": m.max_entries}
    key_t = spec.key_type if spec is not None else None
    val_t = spec.value_type if spec is not None else None
    if mtype is MapType.RINGBUF:
        # No keys to walk: the pending records are the contents (consumed, as a reader would).
        doc["records"] = [r.hex() for r in m.consume()]
        return doc
    elements: list[dict[str, Any]] = []
    try:
        keys = m.keys_raw()
        for key in keys:
            raw = bytes(m.lookup(key))
            if nonzero and not any(raw):
                continue
            el: dict[str, Any] = {"key": _fmt(key_t, key), "key_hex": key.hex()}
            if mtype in _PERCPU:
                slot = (m.value_size + 7) // 8 * 8
                el["values"] = [{"cpu": c, "value": _fmt(val_t, raw[c * slot: c * slot + m.value_size])}
                                for c in range(len(raw) // slot)]
            else:
                el["value"] = _fmt(val_t, raw)
            elements.append(el)
    except PyBpfError as exc:
        doc["error"] = f"cannot dump: {exc}"
    doc["elements"] = elements
    return doc


def _print_map(doc: dict[str, Any]) -> None:
    head = (f"{doc['name']}: {doc['type']}  key {doc['key_size']}B  value {doc['value_size']}B  "
            f"max_entries {doc['max_entries']}")
    if "records" in doc:
        print(f"{head}  {len(doc['records'])} records")
        for i, rec in enumerate(doc["records"]):
            print(f"record {i}: {_hex(bytes.fromhex(rec))}")
        return
    print(f"{head}  {len(doc['elements'])} elements")
    for el in doc["elements"]:
        if "values" in el:
            print(f"key: {el['key']}")
            for v in el["values"]:
                print(f"  cpu {v['cpu']}: {v['value']}")
        else:
            print(f"key: {el['key']}  value: {el['value']}")
    if "error" in doc:
        print(doc["error"])


def _as_json(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    if "elements" in doc:
        out["elements"] = []
        for el in doc["elements"]:
            j = {"key": _json_value(el["key"]), "key_hex": el["key_hex"]}
            if "values" in el:
                j["values"] = [{"cpu": v["cpu"], "value": _json_value(v["value"])} for v in el["values"]]
            else:
                j["value"] = _json_value(el["value"])
            out["elements"].append(j)
    return out


def _map_dump(args: argparse.Namespace) -> int:
    if args.after_run and args.pcap is None:
        raise PyBpfError("map dump --after-run needs --pcap IN")
    if not args.after_run and (args.pcap is not None or args.prog is not None):
        raise PyBpfError("map dump: --prog and --pcap go with --after-run")
    if args.after_run:
        runner: Any = open_runner(args.object, args.prog, "interp")
        try:
            for _ in run_capture(runner, args.pcap):
                pass
        finally:
            runner.close()
        obj = runner.obj
    else:
        obj = load_object_or_fail(args.object)
    names = list(obj.maps)
    if args.map_name is not None:
        if args.map_name not in obj.maps:
            have = ", ".join(names) or "none"
            raise PyBpfError(f"{args.object}: no map named {args.map_name!r} (have {have})")
        names = [args.map_name]
    for name in names:
        doc = _dump_one(name, obj.maps[name], obj.spec.maps.get(name), args.nonzero)
        if args.json:
            print(json.dumps(_as_json(doc)))
        else:
            _print_map(doc)
    return 0
