"""Paired before/after CPU comparison of scenario A for batchtasks (a helper's tool).

Usage: ``python benchmarks/profile_ab.py --tree before=/tmp/a --tree after=/work/main [--pairs 5]
[--mode bulk|sender] [-n 20000]``. Starts one fake service, then runs ``run_batchtasks.py`` once
per tree per pair, alternating which tree goes first, each with its tree first on ``PYTHONPATH``,
and prints per-run client CPU µs/task, medians and the after/before ratio of medians and the
median of per-pair ratios. Measures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", required=True, help="name=path")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--mode", default="bulk")
    parser.add_argument("-n", type=int, default=20_000)
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.tree]
    service = subprocess.Popen(
        [sys.executable, str(HERE / "fake_service.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None
        port = int(service.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}"
        results: dict[str, list[float]] = {name: [] for name, _ in trees}
        for pair in range(args.pairs):
            order = trees if pair % 2 == 0 else trees[::-1]
            for name, path in order:
                env = dict(os.environ, PYTHONPATH=path)
                out = subprocess.run(
                    [
                        sys.executable,
                        str(HERE / "run_batchtasks.py"),
                        "--url",
                        url,
                        "--job",
                        f"ab{name}{pair}{time.time_ns()}",
                        "-n",
                        str(args.n),
                        "--mode",
                        args.mode,
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                line = next(x for x in out.splitlines() if x.startswith("BENCH-RESULT"))
                data = json.loads(line.split(" ", 1)[1] if " " in line else line[12:])
                results[name].append(data["cpu_us_per_task"])
                print(f"pair {pair} {name}: {data['cpu_us_per_task']:.2f}", flush=True)
        for name, values in results.items():
            print(f"{name}: median {statistics.median(values):.2f} runs {values}")
        if len(trees) == 2:
            a, b = (results[n] for n, _ in trees)
            ratios = [y / x for x, y in zip(a, b, strict=True)]
            print(
                f"{trees[1][0]}/{trees[0][0]}: ratio of medians "
                f"{statistics.median(b) / statistics.median(a):.3f}; "
                f"median pair ratio {statistics.median(ratios):.3f}"
            )
    finally:
        service.terminate()
        service.wait()


if __name__ == "__main__":
    main()
