"""Slider update time of each lesson's explorer, as ``benchmarks/run.py`` reports it.

The explorers are ES modules that update their SVG in the browser, so they are timed in headless
Chromium (:mod:`web_latency`): one move is a slider value set, the module's ``input`` handler and a
forced layout; the baseline throws the widget away and renders it again. Needs ``/usr/bin/chromium``.
"""

from __future__ import annotations

from web_latency import bench_web


def bench_sliders(moves: int = 60) -> list[dict]:
    """One row per lesson: p50/p95 update (ms), the rebuild's p50 (ms) and their ratio."""
    rows = []
    for lesson, (module, r) in enumerate(bench_web(moves).items(), start=1):
        rows.append({
            "lesson": f"{lesson:02d}", "explorer": module, "p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"],
            "rebuild_p50_ms": r["rebuild_p50_ms"], "ratio": r["p50_ms"] / r["rebuild_p50_ms"],
        })
    return rows
