"""Lesson 1 explorer: two weather forecasters, KL in both directions, term by term.

Forecaster A says P(rain) = p, forecaster B says P(rain) = q. The left panel shows
the two forecasts; the right panel shows each outcome's term of KL(P‖Q), p·log(p/q),
next to the matching term of KL(Q‖P), q·log(q/p). The terms of one direction sum to
that direction's KL, printed in nats and bits. A single term can be negative; the
sum never is.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .._validate import finite
from ..divergence import kl_contributions
from ._base import OKABE_ITO, Explorer, nice_limits

#: The sliders' range. Both ends stay away from 0 and 1, where one direction's KL is infinite.
RAIN_MIN, RAIN_MAX, RAIN_STEP = 0.01, 0.99, 0.01
OUTCOMES = ("rain", "sun")


def forecast(p_rain: float) -> np.ndarray:
    """The two-outcome forecast [P(rain), P(sun)], shape (2,)."""
    return np.array([p_rain, 1.0 - p_rain])


def term_axis_limits(terms: np.ndarray) -> tuple[float, float]:
    """y-limits of the term panel for these KL terms, snapped outwards to nice numbers.

    The top leaves room above the tallest bar for its label and the totals box; the
    bottom leaves room under the deepest bar for its label. Both ends come from a
    short list of nice numbers, so most slider moves keep the same limits: the axis
    does not jitter while dragging (and the cached background stays valid).

    Parameters
    ----------
    terms : numpy.ndarray, shape (k,)
        The per-outcome terms of both KL directions, in nats.

    Returns
    -------
    (float, float)
        Bottom and top of the axis, in nats; the bottom is at most 0.
    """
    low, high = min(0.0, float(np.min(terms))), max(0.2, float(np.max(terms)))
    top = nice_limits(0.0, 1.5 * high - 0.4 * low, steps=(1, 1.5, 2, 3, 5, 7))[1]
    bottom = nice_limits(low - 0.1 * top, 0.0, steps=(1, 2, 3, 5))[0]
    return bottom, top


def _rain_probability(value: float, name: str) -> float:
    v = finite(value, name)
    if not RAIN_MIN <= v <= RAIN_MAX:
        raise ValueError(f"{name} must lie in [{RAIN_MIN}, {RAIN_MAX}], got {v}")
    return v


class ForecasterExplorer(Explorer):
    """Two P(rain) sliders; both KL directions and every outcome's term, live.

    Parameters
    ----------
    p_rain : float
        Forecaster A's chance of rain (distribution P), in [0.01, 0.99]. Default 0.7.
    q_rain : float
        Forecaster B's chance of rain (distribution Q), in [0.01, 0.99]. Default 0.3.

    Attributes
    ----------
    kl_pq, kl_qp : float
        KL(P‖Q) and KL(Q‖P) in nats for the current sliders.
    forecast_bars : dict of str → BarContainer
        ``"P"`` and ``"Q"``: the two forecasts (left panel).
    term_bars : dict of str → BarContainer
        ``"P‖Q"``: p·log(p/q) per outcome; ``"Q‖P"``: q·log(q/p) per outcome (right panel).
    """

    def __init__(self, p_rain: float = 0.7, q_rain: float = 0.3) -> None:
        p_rain = _rain_probability(p_rain, "p_rain")
        q_rain = _rain_probability(q_rain, "q_rain")
        self.kl_pq = self.kl_qp = 0.0
        figure = self._build_figure()
        sliders = {
            name: widgets.FloatSlider(
                value=value, min=RAIN_MIN, max=RAIN_MAX, step=RAIN_STEP, description=label,
                readout_format=".2f", continuous_update=True, style={"description_width": "initial"},
            )
            for name, value, label in (("p_rain", p_rain, "A: P(rain)"), ("q_rain", q_rain, "B: Q(rain)"))
        }
        super().__init__(
            figure, sliders,
            alt="Left: grouped bars of the two forecasts for rain and sun. Right: each outcome's term of "
            "KL(P‖Q) and of KL(Q‖P) in nats, with both totals printed in nats and bits.",
        )

    def _build_figure(self) -> Figure:
        fig = Figure(figsize=(9, 4.0), layout="constrained")
        self.ax_forecasts, self.ax_terms = fig.subplots(1, 2)
        x = np.arange(len(OUTCOMES))
        width = 0.38
        # One look per forecaster in both panels: a term bar wears the colour of the forecast that weights it.
        styles = {
            "P": dict(color=OKABE_ITO["blue"], label="A's forecast P, and the terms p·log(p/q) of KL(P‖Q)"),
            "Q": dict(color=OKABE_ITO["orange"], hatch="//", edgecolor=OKABE_ITO["black"],
                      label="B's forecast Q, and the terms q·log(q/p) of KL(Q‖P)"),
        }
        ax = self.ax_forecasts
        self.forecast_bars = {k: ax.bar(x + s * width / 2, [0.5, 0.5], width, **styles[k]) for k, s in (("P", -1), ("Q", 1))}
        ax.set(ylim=(0, 1.12), ylabel="probability", xlabel="outcome", title="The two forecasts")
        ax.set_xticks(x, OUTCOMES)
        fig.legend(loc="outside lower center", ncols=2, fontsize=9)

        ax = self.ax_terms
        term_styles = {"P‖Q": {**styles["P"], "label": None}, "Q‖P": {**styles["Q"], "label": None}}
        self.term_bars = {k: ax.bar(x + s * width / 2, [0.0, 0.0], width, **term_styles[k]) for k, s in (("P‖Q", -1), ("Q‖P", 1))}
        self.term_labels = {
            k: [ax.text(0, 0, "", ha="center", fontsize=8) for _ in OUTCOMES] for k in self.term_bars
        }
        zero_line = ax.axhline(0.0, color=OKABE_ITO["grey"], linewidth=0.8)
        self.totals_text = ax.text(
            0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=9,
            bbox=dict(facecolor="white", edgecolor=OKABE_ITO["grey"], alpha=0.9),
        )
        ax.set(ylabel="term (nats)", xlabel="outcome", title="Each outcome's term, both directions")
        ax.set_xticks(x, OUTCOMES)
        panels = (self.ax_forecasts, self.ax_terms)
        for panel in panels:
            panel.set_axisbelow(True)  # a grid, if the style has one, stays under the bars
        self.moving_artists = [
            *(bar for bars in self.forecast_bars.values() for bar in bars),
            *(bar for bars in self.term_bars.values() for bar in bars),
            *(label for labels in self.term_labels.values() for label in labels), self.totals_text,
        ]
        # Static, but painted over the bars: the zero line and the axes frames.
        self.overlay_artists = [zero_line, *(spine for panel in panels for spine in panel.spines.values())]
        return fig

    def draw(self, p_rain: float, q_rain: float) -> str:
        p, q = forecast(p_rain), forecast(q_rain)
        terms = {"P‖Q": kl_contributions(p, q).numpy(), "Q‖P": kl_contributions(q, p).numpy()}
        for key, probs in (("P", p), ("Q", q)):
            for bar, height in zip(self.forecast_bars[key], probs):
                bar.set_height(height)
        for key, values in terms.items():
            for bar, label, value in zip(self.term_bars[key], self.term_labels[key], values):
                bar.set_height(value)
                label.set_text(f"{value:+.3f}")
                # Above a positive bar, below a negative one.
                label.set_position((bar.get_x() + bar.get_width() / 2, value))
                label.set_verticalalignment("bottom" if value >= 0 else "top")
        # Rescale the term axis to the bars; the base class redraws the static part only when the limits change.
        self.ax_terms.set_ylim(*term_axis_limits(np.concatenate(list(terms.values()))))
        self.kl_pq, self.kl_qp = float(terms["P‖Q"].sum()), float(terms["Q‖P"].sum())
        bits = 1 / math.log(2)
        self.totals_text.set_text(
            f"KL(P‖Q) = {self.kl_pq:.4f} nats = {self.kl_pq * bits:.4f} bits\n"
            f"KL(Q‖P) = {self.kl_qp:.4f} nats = {self.kl_qp * bits:.4f} bits"
        )
        return (
            f"<b>KL(P‖Q)</b> = {self.kl_pq:.4f} nats ({self.kl_pq * bits:.4f} bits) &nbsp; "
            f"<b>KL(Q‖P)</b> = {self.kl_qp:.4f} nats ({self.kl_qp * bits:.4f} bits) &nbsp; "
            f"difference {self.kl_pq - self.kl_qp:+.4f} nats"
        )
