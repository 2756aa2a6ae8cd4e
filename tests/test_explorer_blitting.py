"""Blitted slider moves must paint the same picture as drawing the whole figure afresh.

Each explorer keeps its static artists as a cached bitmap and repaints only its
moving artists (plus any static overlay they touch) on a move. These tests drive
every lesson's explorer through moves that keep the background and moves that force
a full redraw, and compare the PNG the learner sees, pixel for pixel, with a naive
render of a brand-new explorer built at the same control values (every artist drawn
by one ordinary ``canvas.draw()``).
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Callable

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from PIL import Image

from kl_lessons.explorers._base import NICE_STEPS, Explorer, encode_png, nice_limits
from kl_lessons.explorers.controller_traces import ControllerExplorer
from kl_lessons.explorers.estimator_spread import SAMPLE_SIZES, EstimatorSpreadExplorer
from kl_lessons.explorers.forecasters import ForecasterExplorer
from kl_lessons.explorers.frontier import FrontierExplorer
from kl_lessons.explorers.reward_shaping import RewardShapingExplorer

#: Each explorer, and a path of moves: one or several controls per move, values that
#: jump far (new axis limits) and values that move a little (background kept).
MOVES: dict[str, tuple[Callable[..., Explorer], list[dict[str, Any]]]] = {
    "forecasters": (ForecasterExplorer, [
        {"p_rain": 0.95}, {"q_rain": 0.05}, {"p_rain": 0.4}, {"p_rain": 0.41}, {"p_rain": 0.5, "q_rain": 0.5},
        {"q_rain": 0.52},
    ]),
    "estimator_spread": (EstimatorSpreadExplorer, [
        {"sample_size": 1}, {"sample_size": 4096}, {"sample_size": 64}, {"sample_size": 2},
    ]),
    "reward_shaping": (RewardShapingExplorer, [{"beta": 0.0}, {"beta": 0.4}, {"beta": 0.12}, {"beta": 0.125}]),
    "frontier": (FrontierExplorer, [{"beta": 0.001}, {"beta": 10.0}, {"beta": 0.3}, {"beta": 0.31}]),
    "controller_traces": (ControllerExplorer, [
        {"target": 1.5}, {"controller": "threshold"}, {"noise": 0.0, "horizon": 300.0}, {"target": 0.2},
        {"target": 0.25},
    ]),
}

#: The bare matplotlib style (lesson 1) and the gridded one lessons 2–5 set up.
STYLES = {"plain": {}, "grid": {"axes.grid": True, "grid.alpha": 0.3}}


def png_pixels(png: bytes) -> np.ndarray:
    """RGB pixels of a PNG, shape (height, width, 3), uint8."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def naive_pixels(explorer: Explorer) -> np.ndarray:
    """Every artist drawn by one ordinary Agg draw, nothing cached: RGB, shape (height, width, 3)."""
    for artist in explorer.moving_artists + explorer.overlay_artists:
        artist.set_animated(False)
    explorer.canvas.draw()
    return np.asarray(explorer.canvas.buffer_rgba())[..., :3].copy()


def assert_same_picture(shown: np.ndarray, expected: np.ndarray) -> None:
    assert shown.shape == expected.shape
    diff = np.abs(shown.astype(int) - expected.astype(int)).max(axis=-1)
    assert not diff.any(), f"{int((diff > 0).sum())} pixels differ, by up to {int(diff.max())} levels"


def random_move(explorer: Explorer, rng: np.random.Generator) -> dict[str, Any]:
    """One or two controls set to random values a learner could reach."""
    names = rng.choice(list(explorer.controls), size=min(len(explorer.controls), rng.integers(1, 3)), replace=False)
    move = {}
    for name in names:
        control = explorer.controls[name]
        if isinstance(control, widgets.FloatLogSlider):
            steps = round((control.max - control.min) / control.step)
            exponent = control.min + control.step * int(rng.integers(0, steps + 1))
            move[name] = float(control.base**exponent)
        elif hasattr(control, "min"):
            steps = round((control.max - control.min) / control.step)
            move[name] = round(control.min + control.step * int(rng.integers(0, steps + 1)), 6)
        else:
            options = [o[1] if isinstance(o, tuple) else o for o in control.options]
            move[name] = options[int(rng.integers(len(options)))]
    return move


@pytest.fixture(params=list(STYLES), ids=list(STYLES))
def style(request: pytest.FixtureRequest):
    with matplotlib.rc_context(STYLES[request.param]):
        yield request.param


@pytest.mark.parametrize("name", list(MOVES))
def test_blitted_moves_paint_what_a_full_redraw_paints(name: str, style: str) -> None:
    make, moves = MOVES[name]
    explorer = make()
    assert explorer.moving_artists, "each lesson explorer declares its moving artists"
    for i, move in enumerate(moves):
        if i % 2 and len(move) == 1:
            # Half the single-control moves go through the widget, as a dragged slider does.
            ((control, value),) = move.items()
            explorer.controls[control].value = value
        else:
            explorer.set(**move)
        fresh = make(**explorer.values())
        assert fresh.readout.value == explorer.readout.value
        assert_same_picture(png_pixels(explorer.image.value), naive_pixels(fresh))
    # The still in the notebook's mimebundle shows the same state.
    still = png_pixels(base64.b64decode(explorer._repr_mimebundle_()["image/png"]))
    assert_same_picture(still, naive_pixels(make(**explorer.values())))


@pytest.mark.parametrize("name", list(MOVES))
def test_random_moves_paint_what_a_full_redraw_paints(name: str) -> None:
    make, _ = MOVES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    with matplotlib.rc_context(STYLES["grid"]):
        explorer = make()
        for _ in range(6):
            explorer.set(**random_move(explorer, rng))
        assert_same_picture(png_pixels(explorer.image.value), naive_pixels(make(**explorer.values())))


@pytest.mark.parametrize("name", list(MOVES))
def test_first_render_matches_a_full_redraw(name: str) -> None:
    make, _ = MOVES[name]
    assert_same_picture(png_pixels(make().image.value), naive_pixels(make()))


# ---- when the base class draws, and how much ----


class Spy:
    """Counts calls to a method of one object, still calling through."""

    def __init__(self, owner: Any, method: str) -> None:
        self.calls = 0
        original = getattr(owner, method)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(owner, method, counted)


def test_setting_several_controls_draws_once() -> None:
    explorer = ControllerExplorer()
    draws = Spy(explorer, "draw")
    explorer.set(target=1.0, horizon=3000.0, noise=0.5, controller="threshold")
    assert draws.calls == 1
    assert "threshold" in explorer.readout.value


def test_setting_the_values_already_shown_draws_nothing() -> None:
    explorer = ForecasterExplorer()
    image = explorer.image.value
    draws, renders = Spy(explorer, "draw"), Spy(explorer, "render_png")
    explorer.set(p_rain=0.7, q_rain=0.3)
    assert (draws.calls, renders.calls) == (0, 0)
    assert explorer.image.value == image


def test_a_small_move_blits_and_new_axis_limits_redraw_everything() -> None:
    explorer = ForecasterExplorer()
    full = Spy(explorer.canvas, "draw")
    limits = explorer.ax_terms.get_ylim()
    explorer.set(p_rain=0.69)
    assert explorer.ax_terms.get_ylim() == limits and full.calls == 0
    explorer.set(p_rain=0.99)  # far larger terms: the axis grows
    assert explorer.ax_terms.get_ylim() != limits and full.calls == 1


def test_invalidate_background_forces_one_full_redraw() -> None:
    explorer = RewardShapingExplorer()
    full = Spy(explorer.canvas, "draw")
    explorer.ax_bars.set_title("renamed")  # a static change the base class cannot see
    explorer.invalidate_background()
    explorer.set(beta=0.2)
    explorer.set(beta=0.21)
    assert full.calls == 1
    assert_same_picture(png_pixels(explorer.image.value), naive_pixels(explorer))


def test_an_overlay_no_moving_artist_reaches_is_pasted_not_redrawn() -> None:
    explorer = FrontierExplorer(beta=0.1)
    legend = explorer.figure.axes[1].get_legend()  # the π_β bar panel's
    assert legend in explorer.overlay_artists
    legend_draws = Spy(legend, "draw")
    explorer.set(beta=0.12)  # the π_β bars stay far below the legend
    assert legend_draws.calls == 0
    assert_same_picture(png_pixels(explorer.image.value), naive_pixels(FrontierExplorer(beta=0.12)))


class _Plain(Explorer):
    """An explorer written before blitting existed: no moving artists declared."""

    def __init__(self) -> None:
        figure = Figure(figsize=(3, 2))
        (self.line,) = figure.subplots().plot([0, 1], [0, 0])
        super().__init__(figure, {"slope": widgets.FloatSlider(value=0.0, min=-1, max=1, step=0.1)}, alt="a line")

    def draw(self, slope: float) -> str:
        self.line.set_ydata([0, slope])
        return f"slope {slope:.1f}"


def test_an_explorer_without_moving_artists_redraws_in_full_as_before() -> None:
    explorer = _Plain()
    full = Spy(explorer.canvas, "draw")
    explorer.set(slope=0.5)
    assert full.calls == 1 and explorer.readout.value == "slope 0.5"
    assert_same_picture(png_pixels(explorer.image.value), naive_pixels(explorer))


def test_moving_artists_must_be_artists() -> None:
    explorer = _Plain()
    with pytest.raises(ValueError, match="moving_artists"):
        explorer.moving_artists = [explorer.line, "not an artist"]


def test_estimator_spread_defaults_to_the_lesson_example() -> None:
    explorer = EstimatorSpreadExplorer()
    assert explorer.controls["sample_size"].options == SAMPLE_SIZES
    with pytest.raises(ValueError, match="ref_logits"):
        EstimatorSpreadExplorer(logits=[0.0, 1.0])


# ---- the PNG encoder and the nice axis limits ----


@pytest.mark.parametrize("channels", [3, 4])
def test_encode_png_round_trips_through_a_decoder(channels: int) -> None:
    pixels = np.random.default_rng(channels).integers(0, 256, size=(7, 11, channels), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(pixels))))
    np.testing.assert_array_equal(decoded, pixels)


def test_encode_png_rejects_what_is_not_an_image() -> None:
    with pytest.raises(ValueError, match="pixels"):
        encode_png(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="pixels"):
        encode_png(np.zeros((4, 4, 3), dtype=np.float32))


def _is_nice(x: float, steps: tuple[float, ...]) -> bool:
    if x == 0.0:
        return True
    mantissa = abs(x) / 10.0 ** math.floor(math.log10(abs(x)))
    return any(math.isclose(mantissa, m, rel_tol=1e-9) or math.isclose(mantissa, 10 * m, rel_tol=1e-9) for m in steps)


@given(
    low=st.floats(-1e6, 1e6, allow_nan=False),
    width=st.floats(1e-6, 1e6, allow_nan=False),
    steps=st.sampled_from([NICE_STEPS, (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)]),
)
def test_nice_limits_contain_the_range_at_nice_numbers(low: float, width: float, steps: tuple[float, ...]) -> None:
    high = low + width
    nice_low, nice_high = nice_limits(low, high, steps)
    slack = 1e-8 * max(abs(low), abs(high))
    assert nice_low <= low + slack and nice_high >= high - slack
    assert _is_nice(nice_low, steps) and _is_nice(nice_high, steps)
    assert nice_limits(nice_low, nice_high, steps) == (nice_low, nice_high)  # already nice: unchanged


def test_nice_limits_examples_and_errors() -> None:
    assert nice_limits(-0.356, 0.932) == (-0.4, 1.0)
    assert nice_limits(0.0, 0.28) == (0.0, 0.3)  # 0.3 exactly, not 0.30000000000000004
    assert nice_limits(0.013, 3.7, steps=(1, 2, 5)) == (0.01, 5.0)
    with pytest.raises(ValueError, match="low"):
        nice_limits(1.0, 1.0)
    with pytest.raises(ValueError, match="steps"):
        nice_limits(0.0, 1.0, steps=(2, 5))
