"""Slider latency of each lesson's explorer, against rebuilding the figure on every move.

A move is driven through the explorer's own update path (`Explorer.set`), which updates
the artists and renders the PNG the learner sees. The naive baseline constructs the
explorer afresh per move: a new figure, new artists and one render, which is what a
`plt.subplots` + `plt.show()` callback does.
"""

from __future__ import annotations

import importlib
import statistics
import time

import numpy as np

# (lesson, module, class, control to move)
EXPLORERS = [
    ("01", "kl_lessons.explorers.forecasters", "ForecasterExplorer", None),
    ("02", "kl_lessons.explorers.estimator_spread", "EstimatorSpreadExplorer", None),
    ("03", "kl_lessons.explorers.reward_shaping", "RewardShapingExplorer", None),
    ("04", "kl_lessons.explorers.frontier", "FrontierExplorer", None),
    ("05", "kl_lessons.explorers.controller_traces", "ControllerExplorer", None),
    ("06", "kl_lessons.explorers.training_scrubber", "TrainingScrubber", None),
]


def sweep_values(control, moves: int) -> list:
    """Values a learner would drag through: across the slider's range, or every option."""
    if not hasattr(control, "min"):  # selection sliders, dropdowns, toggles
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        # Back and forth across the options, so that every move changes the value.
        period = max(1, 2 * (len(options) - 1))
        return [options[min(i % period, period - i % period)] for i in range(moves)]
    values = np.linspace(control.min, control.max, moves)
    if hasattr(control, "base"):  # a log slider's min and max are exponents
        values = control.base ** values
    if isinstance(control.value, int):
        values = np.round(values).astype(int)
    return [v.item() for v in values]


def first_slider(explorer) -> str:
    return next(name for name, c in explorer.controls.items() if "Slider" in type(c).__name__)


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def bench_one(cls, control: str | None, moves: int) -> dict:
    explorer = cls()
    name = control or first_slider(explorer)
    values = sweep_values(explorer.controls[name], moves)
    updates = []
    for value in values:
        start = time.perf_counter()
        explorer.set(**{name: value})
        updates.append(1e3 * (time.perf_counter() - start))
    rebuilds = []
    for _ in range(max(5, moves // 4)):
        start = time.perf_counter()
        cls()
        rebuilds.append(1e3 * (time.perf_counter() - start))
    p50, rebuild = statistics.median(updates), statistics.median(rebuilds)
    return {"explorer": cls.__name__, "control": name, "moves": moves, "p50_ms": p50,
            "p95_ms": percentile(updates, 95), "rebuild_p50_ms": rebuild, "ratio": p50 / rebuild}


def bench_sliders(moves: int = 60) -> list[dict]:
    rows = []
    for lesson, module, name, control in EXPLORERS:
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            print(f"lesson {lesson}: skipped ({err})")
            continue
        rows.append({"lesson": lesson, **bench_one(cls, control, moves)})
    return rows
