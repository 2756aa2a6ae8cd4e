"""How fast the course runs, measured against baselines in the same run.

Usage: ``python benchmarks/run.py [--quick] [--only notebooks,sliders,hotpaths]``
(or ``make bench``). Prints tables and writes ``benchmarks/results/latest.json``.

* Notebooks: fresh-kernel, top-to-bottom execution of each lesson, against the floor
  (a one-cell notebook importing torch, numpy, matplotlib and ipywidgets).
* Sliders: each lesson's explorer driven through its update path, rendering the PNG
  the learner sees, against a naive baseline that rebuilds the explorer (figure,
  artists, first render) on every move.
* Hot paths: library functions on realistic batches, against a straightforward
  per-sequence Python loop and against the memory-bandwidth floor.

Medians are reported, so the numbers hold on a noisy machine. No test asserts on them.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from hot_paths import bench_hot_paths  # noqa: E402
from notebooks import bench_notebooks  # noqa: E402
from sliders import bench_sliders  # noqa: E402


def machine() -> dict:
    import os

    import torch

    return {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def cpu_model() -> str:
    """The CPU's model name (Linux), so a table says which machine its numbers come from."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a rough look, not a report)")
    parser.add_argument("--only", default="notebooks,sliders,hotpaths")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    results: dict = {"machine": machine()}
    print(f"machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, "
          f"torch {results['machine']['torch']} ({results['machine']['torch_cpu_capability']} kernels)")
    if "hotpaths" in parts:
        results["hot_paths"] = bench_hot_paths(repeats=5 if args.quick else 21)
        print_table(
            "Library hot paths (median ms)",
            ["function", "ms", "loop ms", "speed-up", "floor ms", "x floor", "peak MiB"],
            [[r["name"], r["ms"], r["loop_ms"], r["speedup"], r["floor_ms"], r["x_floor"], r["peak_mib"]]
             for r in results["hot_paths"]["rows"]],
        )
        print(f"memory bandwidth (large torch copy): {results['hot_paths']['bandwidth_gbs']:.1f} GB/s")
    if "sliders" in parts:
        results["sliders"] = bench_sliders(moves=15 if args.quick else 60)
        print_table(
            "Slider update (ms)",
            ["lesson", "explorer", "p50", "p95", "rebuild p50", "ratio"],
            [[r["lesson"], r["explorer"], r["p50_ms"], r["p95_ms"], r["rebuild_p50_ms"], r["ratio"]]
             for r in results["sliders"]],
        )
    if "notebooks" in parts:
        results["notebooks"] = bench_notebooks(repeats=1 if args.quick else 3)
        rows = results["notebooks"]["rows"]
        print_table(
            f"Notebook execution (median s; floor {results['notebooks']['floor_s']:.2f} s)",
            ["notebook", "s", "x floor", "s, reference cached"],
            [[r["notebook"], r["seconds"], r["x_floor"], r.get("warm_seconds", "")] if r["seconds"] is not None
             else [r["notebook"], "failed", r["error"], ""] for r in rows],
        )
        timed = [r["seconds"] for r in rows if r["seconds"] is not None]
        print(f"all lessons that ran, one pass: {sum(timed):.1f} s ({len(rows) - len(timed)} failed)")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out.relative_to(ROOT) / 'latest.json'}")
    return 0


def median(xs: list[float]) -> float:
    return statistics.median(xs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
