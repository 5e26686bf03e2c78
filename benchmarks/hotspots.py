"""Summarize a cProfile of ``run_batchtasks.py --profile FILE`` by layer, then the top functions.

Usage: ``python benchmarks/hotspots.py FILE [--top 25]``; a ``.json`` FILE is a ``--sample``
profile (sampled CPU time, nearly free, so timing-dependent costs stay visible).

Each function's own time is charged to one layer by its file (a builtin such as ``len`` to its
callers' layers), so the layers add up to the profiled total. cProfile's own overhead inflates many
small Python calls more than a few C calls: read the shares, not the seconds.
Reads a profile; runs nothing.
"""

from __future__ import annotations

import argparse
import json
import pstats

LAYERS = (
    ("models: serialization (pydantic, format_duration)", ("batchtasks/models", "pydantic")),
    ("bulk engine: feed, pack, results, ledger", ("batchtasks/_private/bulk",)),
    (
        "request path: pipeline, signing, protocol, transport",
        (
            "batchtasks/_private/pipeline",
            "batchtasks/_private/signing",
            "batchtasks/_private/credentials",
            "batchtasks/_private/protocol",
            "batchtasks/_private/transport",
            "batchtasks/_private/tasks",
            "batchtasks/_private/operations",
            "batchtasks/_private/retry",
            "batchtasks/_private/errors",
            "batchtasks/_private/client",
        ),
    ),
    ("tenacity (retry machinery)", ("tenacity",)),
    ("aiohttp / yarl / multidict", ("aiohttp", "yarl", "multidict")),
    ("json (decode responses)", ("json/",)),
    ("asyncio event loop", ("asyncio",)),
)

_BUILTIN_HINTS = {
    "SchemaSerializer": 0,  # to_json: pydantic-core
    "socket": 4,
    "select.epoll": 6,
}


def layer_of(filename: str, funcname: str) -> str:
    """The layer a function's own time is charged to."""
    if filename == "~":
        for hint, index in _BUILTIN_HINTS.items():
            if hint in funcname:
                return LAYERS[index][0]
        return "builtins (len, isinstance, list.append, ...)"
    for name, needles in LAYERS:
        if any(n in filename for n in needles):
            return name
    return "other"


def sampled(path: str, top: int) -> None:
    """Summarize a ``--sample`` JSON profile (C calls are charged to their Python caller)."""
    with open(path) as f:
        data = json.load(f)
    total = data["samples"] or 1
    by_layer: dict[str, int] = {}
    for key, count in data["self"].items():
        name = layer_of(key.rsplit(":", 1)[0], key)
        by_layer[name] = by_layer.get(name, 0) + count
    print(f"samples: {data['samples']} (every {data['interval'] * 1e3:g} ms of CPU)\n")
    print("| layer | share of CPU |")
    print("|---|---:|")
    for name, count in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {count / total:.0%} |")
    for title, counts in (("own", data["self"]), ("inclusive", data["total"])):
        print(f"\nTop {top} functions by {title} samples:\n")
        print(f"| function | {title} share |")
        print("|---|---:|")
        for key, count in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
            print(f"| `{key}` | {count / total:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.profile.endswith(".json"):
        sampled(args.profile, args.top)
        return
    stats = pstats.Stats(args.profile)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    by_layer: dict[str, float] = {}
    for (filename, _line, funcname), entry in raw.items():
        name = layer_of(filename, funcname)
        callers = entry[4]
        if name.startswith("builtins") and callers:
            # Charge len/isinstance/append... to the layers that called them.
            for (cfile, _cline, cfunc), cstats in callers.items():
                cname = layer_of(cfile, cfunc)
                by_layer[cname] = by_layer.get(cname, 0.0) + cstats[2]
            continue
        by_layer[name] = by_layer.get(name, 0.0) + entry[2]
    print(f"profiled CPU: {total:.3f} s\n")
    print("| layer | share of CPU |")
    print("|---|---:|")
    for name, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {seconds / total:.0%} |")
    print(f"\nTop {args.top} functions by own time:\n")
    print("| function | calls | own share | cumulative share |")
    print("|---|---:|---:|---:|")
    top = sorted(raw.items(), key=lambda kv: -kv[1][2])[: args.top]
    for (filename, line, funcname), (_cc, ncalls, tt, ct, _callers) in top:
        where = funcname if filename == "~" else f"{filename.split('site-packages/')[-1]}"
        where = where.replace("/work/main/", "")
        label = funcname if filename == "~" else f"{where}:{line}({funcname})"
        print(f"| `{label}` | {ncalls} | {tt / total:.1%} | {ct / total:.1%} |")


if __name__ == "__main__":
    main()
