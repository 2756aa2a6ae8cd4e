"""Lesson 6's training scrubber: the state that replays recorded runs without retraining."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from kl_lessons.explorer_state import SCRUBBER_METRICS, training_scrubber_state
from kl_lessons.web_widgets import TrainingScrubber


def fake_metrics(n_steps: int, offset: float = 0.0) -> dict[str, list[float]]:
    """Distinct, known values per metric and step: metric i at step s is offset + 10·i + s / 100 + 1e-7."""
    return {key: [offset + 10 * i + s / 100 + 1e-7 for s in range(n_steps)] for i, key in enumerate(SCRUBBER_METRICS)}


def fake_run(n_steps: int = 12, offset: float = 0.0, samples: dict | None = None) -> SimpleNamespace:
    # Duck-typed like kl_lessons.rlhf.RLHFRun, without training a model.
    return SimpleNamespace(metrics=fake_metrics(n_steps, offset), samples=samples or {}, policy=None)


def test_state_carries_every_run_rounded_and_small() -> None:
    runs = {"first": fake_run(samples={0: ["start", "b", "c", "d"], 5: ["middle"], 11: ["end"]}),
            "second": fake_run(offset=1.0)}
    state = training_scrubber_state(runs, step=3)
    assert (state["n_steps"], state["step"], state["front"]) == (12, 3, "all runs")
    assert [r["name"] for r in state["runs"]] == ["first", "second"]
    first = state["runs"][0]
    assert set(first["metrics"]) == set(SCRUBBER_METRICS)
    for i, key in enumerate(SCRUBBER_METRICS):
        for s, value in enumerate(first["metrics"][key]):
            assert math.isclose(value, 10 * i + s / 100, rel_tol=1e-5, abs_tol=1e-6)  # 6 significant digits
    # Samples as [step, texts] pairs (JSON keys are strings), at most three texts per step.
    assert first["samples"] == [[0, ["start", "b", "c"]], [5, ["middle"]], [11, ["end"]]]
    assert json.loads(json.dumps(state, allow_nan=False)) == state


def test_a_nan_step_becomes_a_gap() -> None:
    run = fake_run()
    run.metrics["gold"][4] = math.nan
    state = training_scrubber_state({"r": run}, step=0)
    assert state["runs"][0]["metrics"]["gold"][4] is None


def test_lesson6_sized_history_fits_in_60_kb() -> None:
    runs = {name: fake_run(150, offset=k * 100.123456789, samples={0: ["x" * 60] * 4, 20: ["y" * 60] * 4,
                                                                     149: ["z" * 60] * 4})
            for k, name in enumerate(("β = 0", "β = 0.3", "adaptive"))}
    assert len(json.dumps(training_scrubber_state(runs), ensure_ascii=False).encode()) < 60_000


def test_widget_replays_the_state() -> None:
    state = training_scrubber_state({"r": fake_run()}, step=5)
    widget = TrainingScrubber(state)
    assert widget.state() == state and repr(widget) == "TrainingScrubber(step=5, front='all runs')"
    with pytest.raises(ValueError, match="unknown"):
        TrainingScrubber(state, speed=2)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ({}, "non-empty"),
        ({"r": SimpleNamespace(samples={})}, "no .metrics"),
        ({"r": SimpleNamespace(metrics={"kl_mean": [1.0, 2.0]}, samples={})}, "missing metrics"),
        ({"r": fake_run(), "s": fake_run(n_steps=9)}, "one value per step"),
        ({"r": SimpleNamespace(metrics={**fake_metrics(4), "proxy": [1.0, math.inf, 0.0, 0.0]}, samples={})}, "inf"),
        ({"r": fake_run(samples={12: ["late"]})}, "outside steps"),
        ({"r": fake_run(samples={"3": ["x"]})}, "sample keys"),
        ({"r": fake_run(samples={3: "not a list"})}, "list of str"),
        ({"r": SimpleNamespace(metrics=fake_metrics(1), samples={})}, "two steps"),
    ],
)
def test_bad_runs_raise_value_error_naming_the_problem(runs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        training_scrubber_state(runs, step=0)


@pytest.mark.parametrize("step", [-1, 12, 2.5, True])
def test_bad_step_raises(step) -> None:
    with pytest.raises(ValueError, match="step"):
        training_scrubber_state({"r": fake_run()}, step=step)


def test_bad_samples_per_step_raises() -> None:
    with pytest.raises(ValueError, match="samples_per_step"):
        training_scrubber_state({"r": fake_run()}, samples_per_step=0)
