"""Lesson 6's training scrubber: replaying recorded runs without retraining."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons.explorers._base import Explorer
from kl_lessons.explorers.training_scrubber import (
    ALL_RUNS,
    FADED,
    REQUIRED_METRICS,
    RecordedRun,
    TrainingScrubber,
    as_recorded_run,
    demo_runs,
    nearest_sample_step,
)


def fake_metrics(n_steps: int, offset: float = 0.0) -> dict[str, list[float]]:
    """Distinct, known values per metric and step: metric i at step s is offset + 10·i + s / 100."""
    return {key: [offset + 10 * i + s / 100 for s in range(n_steps)] for i, key in enumerate(REQUIRED_METRICS)}


def fake_run(n_steps: int = 12, offset: float = 0.0, samples: dict | None = None) -> SimpleNamespace:
    # Duck-typed like kl_lessons.rlhf.RLHFRun, without training a model.
    return SimpleNamespace(metrics=fake_metrics(n_steps, offset), samples=samples or {}, policy=None)


@pytest.fixture()
def scrubber() -> TrainingScrubber:
    runs = {
        "first": fake_run(samples={0: ["start"], 5: ["middle one", "middle two"], 11: ["end"]}),
        "second": fake_metrics(12, offset=1.0),
    }
    return TrainingScrubber(runs, step=3)


# --- moves update artists in place -------------------------------------------------------------------


def test_is_an_explorer_with_a_step_slider_over_every_step(scrubber: TrainingScrubber) -> None:
    assert isinstance(scrubber, Explorer)
    slider = scrubber.controls["step"]
    assert (slider.min, slider.max, slider.value) == (0, 11, 3)
    assert repr(scrubber) == "TrainingScrubber(step=3, run='all runs')"


def test_a_move_moves_cursor_and_markers_on_the_same_figure(scrubber: TrainingScrubber) -> None:
    figure, cursors, image = scrubber.figure, list(scrubber.cursors), scrubber.image
    artists = [list(ax.get_children()) for ax in figure.axes]
    before = scrubber.image.value
    scrubber.set(step=7)
    assert scrubber.figure is figure and scrubber.image is image
    assert [list(ax.get_children()) for ax in figure.axes] == artists   # no artist added or removed
    assert scrubber.cursors == cursors
    for cursor in cursors:
        assert list(cursor.get_xdata()) == [7, 7]
    metrics = fake_metrics(12)
    for key, marker in scrubber.markers["first"].items():
        x, y = marker.get_data()
        assert list(x) == [7] and y[0] == pytest.approx(metrics[key][7])
    assert scrubber.image.value != before
    assert scrubber.step_text.get_text() == "step 7 of 11"


def test_moves_repaint_only_declared_artists_and_match_a_full_redraw(scrubber: TrainingScrubber) -> None:
    moving = set(map(id, scrubber.moving_artists))
    assert {id(c) for c in scrubber.cursors} <= moving and id(scrubber.step_text) in moving
    assert all(id(m) in moving for marks in scrubber.markers.values() for m in marks.values())
    assert not any(id(line) in moving for lines in scrubber.lines.values() for line in lines)
    for step, run in ((7, ALL_RUNS), (2, "second"), (11, ALL_RUNS), (5, "second")):
        scrubber.set(step=step, run=run)
    blitted = np.asarray(scrubber.canvas.buffer_rgba()).copy()
    full = TrainingScrubber(scrubber.runs, step=5, run="second")
    full.moving_artists = []   # no blitting: one plain Agg draw of everything
    full.render_png()
    assert np.array_equal(blitted, np.asarray(full.canvas.buffer_rgba()))


def test_slider_change_updates_the_readout_like_set(scrubber: TrainingScrubber) -> None:
    scrubber.controls["step"].value = 9   # what dragging does
    assert "<b>step 9</b>" in scrubber.readout.value
    assert scrubber.readout.value == scrubber.readout_html(9)


def test_readout_rounds_every_runs_numbers_at_the_step(scrubber: TrainingScrubber) -> None:
    scrubber.set(step=4)
    text = scrubber.readout.value
    for offset in (0.0, 1.0):
        for i in range(len(REQUIRED_METRICS)):
            assert f"<td>{offset + 10 * i + 0.04:.2f}</td>" in text
    assert "0.040000" not in text


def test_readout_shows_the_nearest_recorded_samples(scrubber: TrainingScrubber) -> None:
    scrubber.set(step=4)
    assert "first, step 5: <code>middle one</code> · <code>middle two</code>" in scrubber.readout.value
    assert "second: no samples recorded" in scrubber.readout.value
    scrubber.set(step=10)
    assert "first, step 11: <code>end</code>" in scrubber.readout.value


def test_nearest_sample_step_prefers_the_earlier_step_on_a_tie() -> None:
    samples = {0: ["a"], 10: ["b"], 20: ["c"]}
    assert nearest_sample_step(samples, 5) == 0
    assert nearest_sample_step(samples, 6) == 10
    assert nearest_sample_step(samples, 99) == 20
    assert nearest_sample_step({}, 3) is None


@given(st.dictionaries(st.integers(0, 200), st.just(["x"]), min_size=1), st.integers(0, 200))
def test_nearest_sample_step_is_a_closest_recorded_step(samples: dict, step: int) -> None:
    best = nearest_sample_step(samples, step)
    assert best in samples
    assert abs(best - step) == min(abs(s - step) for s in samples)


def test_run_selector_fades_the_other_runs_and_bolds_its_row(scrubber: TrainingScrubber) -> None:
    scrubber.set(run="second")
    assert all(line.get_alpha() == FADED for line in scrubber.lines["first"])
    assert all(line.get_alpha() == 1.0 for line in scrubber.lines["second"])
    assert '<tr style="font-weight:bold"><td>second</td>' in scrubber.readout.value
    assert "first, step" not in scrubber.readout.value   # only the selected run's samples
    scrubber.set(run=ALL_RUNS)
    assert all(line.get_alpha() == 1.0 for lines in scrubber.lines.values() for line in lines)


def test_runs_of_different_lengths_hide_the_ended_runs_marker() -> None:
    scrubber = TrainingScrubber({"long": fake_run(12), "short": fake_run(5)}, step=8)
    assert scrubber.controls["step"].max == 11
    x, _ = scrubber.markers["short"]["gold"].get_data()
    assert len(x) == 0
    assert "ended at step 4" in scrubber.readout.value
    assert scrubber.values_at(8)["short"] is None


# --- HTML escaping -------------------------------------------------------------------------------------


def test_readout_escapes_samples_and_run_names() -> None:
    runs = {"<i>bold</i> & co": fake_run(samples={0: ["<script>alert(1)</script>", 'a "quote"\nnext']})}
    text = TrainingScrubber(runs, step=0).readout.value
    assert "<script>" not in text and "<i>bold</i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;i&gt;bold&lt;/i&gt; &amp; co" in text
    assert "a &quot;quote&quot; / next" in text   # the newline shows as " / "


# --- defaults and the synthetic demo -----------------------------------------------------------------


def test_no_arguments_builds_the_labelled_synthetic_demo() -> None:
    scrubber = TrainingScrubber()
    assert scrubber.synthetic
    assert list(scrubber.runs) == ["β = 0", "β = 0.3", "adaptive"]
    assert scrubber.controls["step"].value == scrubber.controls["step"].max == 149   # default: the last step
    assert "synthetic demo history" in scrubber.readout.value
    assert "synthetic" in scrubber.step_text.get_text()


def test_demo_history_looks_like_the_lesson() -> None:
    runs = demo_runs()
    free, fixed = runs["β = 0"].metrics, runs["β = 0.3"].metrics
    assert free["kl_mean"][-20:].mean() > 50 * fixed["kl_mean"][-20:].mean()   # the hack runs away
    assert free["gold"][-20:].mean() < free["gold"][:5].mean() - 1              # and gold falls
    assert fixed["gold"][-20:].mean() > fixed["gold"][:5].mean()               # the belt keeps it up
    for run in runs.values():
        assert all(np.isfinite(a).all() and len(a) == 150 for a in run.metrics.values())
        assert (run.metrics["kl_mean"] >= 0).all() and run.samples
    assert demo_runs(seed=3)["β = 0"].metrics["gold"].tolist() == demo_runs(seed=3)["β = 0"].metrics["gold"].tolist()


def test_accepts_a_recorded_run_and_a_real_train_result_shape() -> None:
    recorded = as_recorded_run(fake_run(6, samples={2: ["hi"]}), "x")
    assert isinstance(recorded, RecordedRun) and recorded.n_steps == 6 and recorded.samples == {2: ["hi"]}
    assert as_recorded_run(recorded, "x").metrics.keys() == recorded.metrics.keys()


def test_nan_steps_show_as_nan_not_a_crash() -> None:
    metrics = fake_metrics(6)
    metrics["kl_mean"][3] = math.nan
    scrubber = TrainingScrubber({"broken": metrics}, step=3)
    assert "<td>nan</td>" in scrubber.readout.value


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ({}, "runs must be a non-empty"),
        ([fake_metrics(3)], "runs must be a non-empty"),
        ({"a": 3.0}, r"runs\['a'\] must be a run"),
        ({"a": {k: v for k, v in fake_metrics(3).items() if k != "gold"}}, r"missing metrics \['gold'\]"),
        ({"a": {**fake_metrics(3), "beta": [0.1, 0.2]}}, "one value per step"),
        ({"a": {**fake_metrics(3), "proxy": "abc"}}, r"runs\['a'\]\['proxy'\] must be a sequence of numbers"),
        ({"a": {**fake_metrics(3), "proxy": [[1.0], [2.0], [3.0]]}}, "1-D"),
        ({"a": {**fake_metrics(3), "proxy": []}}, "non-empty 1-D"),
        ({"a": {**fake_metrics(3), "gold": [0.0, math.inf, 1.0]}}, "inf"),
        ({"a": fake_run(3, samples={7: ["x"]})}, r"samples has key 7"),
        ({"a": fake_run(3, samples={1: "not a list"})}, r"samples\[1\] must be a list of str"),
        ({"a": fake_run(3, samples={1: [3]})}, r"samples\[1\] must be a list of str"),
        ({ALL_RUNS: fake_metrics(3)}, "non-empty names"),
        ({f"r{i}": fake_metrics(3) for i in range(7)}, "at most 6"),
    ],
)
def test_bad_runs_raise_value_error_naming_the_problem(runs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingScrubber(runs)


@pytest.mark.parametrize("step", [-1, 12, 2.5, True, "3"])
def test_bad_step_raises(step) -> None:
    with pytest.raises(ValueError, match="step must be an int in"):
        TrainingScrubber({"a": fake_metrics(12)}, step=step)


def test_bad_run_choice_raises() -> None:
    with pytest.raises(ValueError, match="run must be"):
        TrainingScrubber({"a": fake_metrics(4)}, run="b")


def test_demo_runs_validates_steps() -> None:
    with pytest.raises(ValueError, match="steps must be an int >= 3"):
        demo_runs(steps=2)
