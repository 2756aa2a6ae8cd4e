"""Lesson 2 explorer: how the batch mean of k1, k2, k3 tightens as the batch grows.

A trainer logs the *mean* of per-token estimates over a batch of n sampled tokens.
Each panel is the histogram of that batch mean over many independent batches, for
one estimator. The slider sets n on a log scale. As n grows each histogram narrows
around its centre, like σ/√n: k1 and k3 around the true KL, k2 around KL plus its
bias. The last panel draws the spread against n and marks the current n.

Every batch mean is precomputed in the constructor, so a slider move only swaps
histogram heights (``stairs.set_data``) and moves a few lines. The axes, ticks and
labels never change, so the base class keeps them as a background bitmap and a move
repaints only :attr:`~kl_lessons.explorers.Explorer.moving_artists` on top of it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from ..estimators import ESTIMATORS, kl_estimate
from ..sampling import _logit_pair, full_kl_from_logits
from ._base import OKABE_ITO, Explorer

#: Batch sizes the slider offers: 1, 2, 4, …, 4096 tokens (a log scale).
SAMPLE_SIZES: tuple[int, ...] = tuple(2**i for i in range(13))

#: Lesson 2's running example: π_ref and π over eight next words of "The cat sat on the …".
LESSON_REF_PROBS: tuple[float, ...] = (0.40, 0.22, 0.13, 0.09, 0.07, 0.05, 0.03, 0.01)
LESSON_POLICY_PROBS: tuple[float, ...] = (0.27, 0.17, 0.31, 0.07, 0.08, 0.06, 0.02, 0.02)

#: One colour and line style per estimator, so panels read without colour too.
STYLE = {
    "k1": {"color": OKABE_ITO["vermillion"], "linestyle": "-"},
    "k2": {"color": OKABE_ITO["blue"], "linestyle": "--"},
    "k3": {"color": OKABE_ITO["green"], "linestyle": ":"},
}


#: Top of the histogram panels' y-axis (tallest bin = 1); the band above the vertical lines' top holds the legend.
Y_TOP, LINE_TOP = 1.45, 1.15


class EstimatorSpreadExplorer(Explorer):
    """Histograms of k1, k2, k3 batch means, with a batch-size slider.

    Parameters
    ----------
    logits, ref_logits : array-like, shape (V,), optional
        Next-token logits of the policy π (which samples) and the reference π_ref.
        Pass both or neither; neither gives lesson 2's example
        (:data:`LESSON_POLICY_PROBS` against :data:`LESSON_REF_PROBS`).
    sample_size : int
        Starting batch size; one of :data:`SAMPLE_SIZES`. 16 is the seed chapter's batch.
    num_batches : int
        Independent batches simulated per batch size (≥ 100); more gives smoother histograms.
    seed : int
        Seed for the simulated batches.
    bins : int
        Histogram bins across the fixed x-range (≥ 10).
    dpi : int
        Resolution of the rendered image.

    Attributes
    ----------
    true_kl : float
        Exact KL(π‖π_ref) in nats.
    single_token_sd : dict of str → float
        Exact standard deviation of each single-token estimate under π, in nats.
        The spread of a batch mean of n tokens is this divided by √n.
    """

    def __init__(
        self,
        logits: Any = None,
        ref_logits: Any = None,
        *,
        sample_size: int = 16,
        num_batches: int = 4000,
        seed: int = 0,
        bins: int = 80,
        dpi: int = 80,
    ) -> None:
        if (logits is None) != (ref_logits is None):
            raise ValueError("pass both logits and ref_logits, or neither")
        if logits is None:
            logits = torch.tensor(LESSON_POLICY_PROBS, dtype=torch.float64).log()
            ref_logits = torch.tensor(LESSON_REF_PROBS, dtype=torch.float64).log()
        lg, ref = _logit_pair(logits, ref_logits)
        if lg.ndim != 1:
            raise ValueError(f"logits must have shape (V,) (one next-token distribution), got {tuple(lg.shape)}")
        if sample_size not in SAMPLE_SIZES:
            raise ValueError(f"sample_size must be one of {SAMPLE_SIZES}, got {sample_size!r}")
        for name, value, low in (("num_batches", num_batches, 100), ("bins", bins, 10)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

        probs = torch.softmax(lg, -1)
        logp, logq = torch.log_softmax(lg, -1), torch.log_softmax(ref, -1)
        # Each token's value under each estimator: shape (3, V).
        values = torch.stack([kl_estimate(logp, logq, e) for e in ESTIMATORS]).numpy()
        pi = probs.numpy()
        self.true_kl = float(full_kl_from_logits(lg, ref))
        centre = values @ pi
        self.single_token_sd = {
            e: float(math.sqrt(max(((values[i] - centre[i]) ** 2) @ pi, 0.0))) for i, e in enumerate(ESTIMATORS)
        }

        # A batch of n tokens is summarised by its token counts ~ Multinomial(n, π), so
        # every batch size costs the same to simulate, however large n is.
        rng = np.random.default_rng(seed)
        self._means = {}
        for n in SAMPLE_SIZES:
            counts = rng.multinomial(n, pi / pi.sum(), size=int(num_batches))
            self._means[n] = (counts @ values.T) / n  # (num_batches, 3)

        # Fixed x-range: wide enough for single tokens, so narrowing is visible as n grows.
        single = self._means[1]
        lo = min(float(np.quantile(single, 0.005)), 0.0)
        hi = float(np.quantile(single, 0.995))
        pad = 0.05 * (hi - lo)
        self.edges = np.linspace(lo - pad, hi + pad, int(bins) + 1)
        self._heights = {n: self._histograms(m) for n, m in self._means.items()}
        self._spread = {n: m.std(axis=0) for n, m in self._means.items()}
        self._centre = {n: m.mean(axis=0) for n, m in self._means.items()}

        figure = self._build_figure()
        slider = widgets.SelectionSlider(
            options=list(SAMPLE_SIZES), value=sample_size, description="batch size n",
            continuous_update=True, style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )
        super().__init__(
            figure, {"sample_size": slider}, dpi=dpi,
            alt=(
                "Three histograms of batch-mean KL estimates (k1, k2, k3) on a shared x-axis in nats, "
                "with a dashed line at the true KL, and a log-log plot of their spread against batch size."
            ),
        )

    # ------------------------------------------------------------------ precompute
    def _histograms(self, means: np.ndarray) -> np.ndarray:
        """Bin counts scaled so the tallest bin is 1, shape (3, bins); values off the axis land in the end bins.

        Scaling to the tallest bin keeps the y-axis fixed while the histograms narrow
        (and so grow taller) by a factor of 64 across the slider.
        """
        clipped = np.clip(means, self.edges[0], self.edges[-1])
        out = np.empty((means.shape[1], len(self.edges) - 1))
        for i in range(means.shape[1]):
            counts = np.histogram(clipped[:, i], bins=self.edges)[0]
            out[i] = counts / counts.max()
        return out

    def _build_figure(self) -> Figure:
        fig = Figure(figsize=(9.6, 5.2), layout="constrained")
        axes = fig.subplots(2, 2)
        self._hist_axes = [axes[0, 0], axes[0, 1], axes[1, 0]]
        self._stairs, self._outline_stairs, self._centre_lines, self._fixed_lines = [], [], [], []
        zeros = np.zeros(len(self.edges) - 1)
        for i, (ax, name) in enumerate(zip(self._hist_axes, ESTIMATORS)):
            style = STYLE[name]
            self._stairs.append(ax.stairs(zeros, self.edges, fill=True, alpha=0.35, color=style["color"]))
            self._outline_stairs.append(ax.stairs(
                zeros, self.edges, color=style["color"], linestyle=style["linestyle"], linewidth=1.5,
                label=f"{name} batch means",
            ))
            # Vertical lines stop below the legend, so a moving one never has to repaint it.
            span = dict(ymax=LINE_TOP / Y_TOP, linewidth=1.2)
            self._fixed_lines.append(
                ax.axvline(self.true_kl, color=OKABE_ITO["black"], linestyle="--", label="true KL", **span)
            )
            self._centre_lines.append(
                ax.axvline(0.0, color=style["color"], linestyle="-.", label="their average", **span)
            )
            self._fixed_lines.append(ax.axvline(0.0, color=OKABE_ITO["grey"], **{**span, "linewidth": 0.8}))
            ax.set_axisbelow(True)  # a grid, if the style has one, stays under the histograms
            ax.set_xlim(self.edges[0], self.edges[-1])
            ax.set_ylim(0.0, Y_TOP)
            ax.set_yticks([0.0, 0.5, 1.0])
            ax.set_title(f"{name}: spread of the batch mean")
            ax.set_xlabel("batch-mean KL estimate (nats)")
            ax.set_ylabel("batches (tallest bin = 1)")
            ax.legend(loc="upper center", ncol=3, fontsize=7, frameon=False, handlelength=1.6, columnspacing=1.0)

        ax = axes[1, 1]
        ns = np.array(SAMPLE_SIZES, dtype=float)
        self._markers = []
        for i, name in enumerate(ESTIMATORS):
            style = STYLE[name]
            spread = np.array([self._spread[n][i] for n in SAMPLE_SIZES])
            ax.plot(ns, spread, marker=".", label=f"{name} (simulated)", **style)
            # Above every curve (zorder 3), so a marker is never half-hidden by the next estimator's curve.
            (marker,) = ax.plot([], [], marker="o", markersize=8, color=style["color"], linestyle="none", zorder=3)
            self._markers.append(marker)
        for i, name in enumerate(ESTIMATORS):
            ax.plot(
                ns, self.single_token_sd[name] / np.sqrt(ns), color=OKABE_ITO["grey"], linewidth=4, alpha=0.4,
                zorder=1, label="exact σ/√n" if i == 0 else None,
            )
        self._n_line = ax.axvline(1.0, color=OKABE_ITO["grey"], linestyle=":", linewidth=1)
        ax.set_xlim(0.7, 1.4 * SAMPLE_SIZES[-1])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title("Spread shrinks like 1/√n")
        ax.set_xlabel("batch size n (tokens, log scale)")
        ax.set_ylabel("SD of batch mean (nats)")
        ax.legend(loc="lower left", fontsize=7, frameon=False)
        self.moving_artists = [*self._stairs, *self._outline_stairs, *self._centre_lines, *self._markers, self._n_line]
        # Static, but painted over the moving artists: the true-KL and zero lines, legends and frames.
        self.overlay_artists = [
            *self._fixed_lines, *(a for ax in axes.flat for a in (*ax.spines.values(), ax.get_legend())),
        ]
        return fig

    # ---------------------------------------------------------------------- public
    def batch_mean_spread(self, sample_size: int) -> dict[str, float]:
        """Simulated standard deviation of the batch mean at ``sample_size``, per estimator, in nats."""
        if sample_size not in self._spread:
            raise ValueError(f"sample_size must be one of {SAMPLE_SIZES}, got {sample_size!r}")
        return {e: float(self._spread[sample_size][i]) for i, e in enumerate(ESTIMATORS)}

    def batch_means(self, sample_size: int) -> dict[str, np.ndarray]:
        """The simulated batch means at ``sample_size``, per estimator, each shape (num_batches,), in nats."""
        if sample_size not in self._means:
            raise ValueError(f"sample_size must be one of {SAMPLE_SIZES}, got {sample_size!r}")
        return {e: self._means[sample_size][:, i].copy() for i, e in enumerate(ESTIMATORS)}

    def draw(self, sample_size: int) -> str:
        heights, spread, centre = self._heights[sample_size], self._spread[sample_size], self._centre[sample_size]
        for i, ax in enumerate(self._hist_axes):
            self._stairs[i].set_data(heights[i])
            self._outline_stairs[i].set_data(heights[i])
            self._centre_lines[i].set_xdata([centre[i], centre[i]])
            self._markers[i].set_data([sample_size], [spread[i]])
        self._n_line.set_xdata([sample_size, sample_size])
        parts = ", ".join(f"{e} {spread[i]:.4f}" for i, e in enumerate(ESTIMATORS))
        negative = float((self._means[sample_size][:, 0] < 0).mean())
        return (
            f"<b>n = {sample_size}</b> tokens per batch · true KL = {self.true_kl:.4f} nats · "
            f"SD of the batch mean: {parts} nats · batches with a negative k1 mean: {negative:.1%}"
        )
