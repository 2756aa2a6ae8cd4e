"""Where the test suite's time goes: a per-file timeline of a whole run, per xdist worker.

Usage: ``python benchmarks/suite_timeline.py [pytest arguments]`` (default: the whole suite, as ``make test`` runs
it; ``-m "not slow" tests`` times the fast tier). Each test file's first start and last stop on its worker, and the
seconds its tests took, are read from the reports pytest sends the controller. Prints the files, slowest first, the
wall time and each worker's busy time, and writes ``benchmarks/results/suite_timeline.json``. Nothing asserts.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Timeline:
    """A pytest plugin on the controller: collects every test report's worker, file, start and stop."""

    def __init__(self) -> None:
        self.files: dict[str, dict] = defaultdict(lambda: {"start": float("inf"), "stop": 0.0, "seconds": 0.0})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.files[report.nodeid.split("::")[0]]
        entry["worker"] = getattr(report, "node", None) and report.node.gateway.id or "main"
        entry["start"] = min(entry["start"], report.start)
        entry["stop"] = max(entry["stop"], report.stop)
        entry["seconds"] += report.duration


def main(argv: list[str]) -> int:
    timeline, began = Timeline(), time.time()
    code = pytest.main(argv, plugins=[timeline])
    wall = time.time() - began
    rows = sorted(timeline.files.items(), key=lambda kv: -kv[1]["seconds"])
    print(f"\n{'file':60s} {'worker':>6s} {'from s':>7s} {'to s':>7s} {'test s':>7s}")
    for name, e in rows:
        print(f"{name:60s} {e['worker']:>6s} {e['start'] - began:7.1f} {e['stop'] - began:7.1f} {e['seconds']:7.1f}")
    busy = defaultdict(float)
    for e in timeline.files.values():
        busy[e["worker"]] += e["seconds"]
    print(f"\nwall {wall:.1f} s; test seconds per worker: " + ", ".join(f"{w} {s:.1f}" for w, s in sorted(busy.items())))
    out = ROOT / "benchmarks" / "results" / "suite_timeline.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"argv": argv, "wall_s": wall, "exit": int(code), "files": {
        k: {**v, "start": v["start"] - began, "stop": v["stop"] - began} for k, v in timeline.files.items()}}, indent=1))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
