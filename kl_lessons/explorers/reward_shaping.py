"""Lesson 3 explorer: one β slider, a batch of responses, and a ranking that changes.

A reward model scores each whole response; the KL penalty charges it for every
token. With a bigger β the charge matters more, so a long, drifted response with a
high score can fall below a short, plain one. The figure shows each response's score
and its total penalty −β·Σ_t kl_t as stacked bars (left), and each shaped total as a
line in β (right), where the crossings are the β values at which the ranking flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._validate import as_tensor, positive
from ..shaped_reward import kl_penalized_rewards
from ._base import OKABE_ITO, Explorer

#: What both models say at padding positions. Padding is not text, so these numbers are
#: noise; they differ on purpose, so that forgetting the mask visibly changes the KL.
PAD_LOGPROB = -0.05
PAD_REF_LOGPROB = -2.0


@dataclass(frozen=True, eq=False)
class ResponseBatch:
    """A padded batch of scored responses with per-token log-probs.

    Attributes
    ----------
    labels : tuple of str, length B
        A short name per response.
    tokens : tuple of tuple of str
        The response tokens, ragged (no padding).
    scores : torch.Tensor, shape (B,)
        Reward-model score per response.
    logprobs, ref_logprobs : torch.Tensor, shape (B, T)
        Per-token log-probs (nats) under the policy that sampled the tokens and under
        the reference; padding positions hold :data:`PAD_LOGPROB` / :data:`PAD_REF_LOGPROB`.
    mask : torch.Tensor of bool, shape (B, T)
        True for real tokens, False for padding.
    """

    labels: tuple[str, ...]
    tokens: tuple[tuple[str, ...], ...]
    scores: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def from_ragged(
        cls,
        labels: Sequence[str],
        tokens: Sequence[Sequence[str]],
        scores: Sequence[float],
        logprobs: Sequence[Sequence[float]],
        ref_logprobs: Sequence[Sequence[float]],
    ) -> "ResponseBatch":
        """Pad ragged per-response lists to a (B, T) batch, T = the longest response."""
        n = len(labels)
        if n == 0:
            raise ValueError("labels is empty; a batch needs at least one response")
        for name, seq in (("tokens", tokens), ("scores", scores), ("logprobs", logprobs), ("ref_logprobs", ref_logprobs)):
            if len(seq) != n:
                raise ValueError(f"{name} has {len(seq)} entries but labels has {n}")
        lengths = [len(t) for t in tokens]
        if min(lengths) == 0:
            raise ValueError("tokens has an empty response; each needs at least one token")
        for i, size in enumerate(lengths):
            if len(logprobs[i]) != size or len(ref_logprobs[i]) != size:
                raise ValueError(f"response {i}: logprobs and ref_logprobs need one value per token ({size})")
        width = max(lengths)
        mask = torch.arange(width) < torch.tensor(lengths).unsqueeze(-1)
        lp = torch.full((n, width), PAD_LOGPROB, dtype=torch.float64)
        ref = torch.full((n, width), PAD_REF_LOGPROB, dtype=torch.float64)
        for i, size in enumerate(lengths):
            lp[i, :size] = as_tensor(logprobs[i], "logprobs")
            ref[i, :size] = as_tensor(ref_logprobs[i], "ref_logprobs")
        s = as_tensor(scores, "scores").to(torch.float64)
        return cls(tuple(labels), tuple(tuple(t) for t in tokens), s, lp, ref, mask)

    def kl_totals(self, estimator: str = "k1") -> torch.Tensor:
        """Σ_t kl_t over each response's real tokens, shape (B,), in nats."""
        _, kl = kl_penalized_rewards(self.scores, self.logprobs, self.ref_logprobs, 0.0, self.mask, estimator)
        return kl.sum(-1)

    def shaped_totals(self, beta: float, estimator: str = "k1") -> torch.Tensor:
        """Σ_t r_t = score − β·Σ_t kl_t for each response, shape (B,), in reward units."""
        rewards, _ = kl_penalized_rewards(self.scores, self.logprobs, self.ref_logprobs, beta, self.mask, estimator)
        return rewards.sum(-1)

    def ranking(self, beta: float, estimator: str = "k1") -> tuple[int, ...]:
        """Response indices from best to worst shaped total (ties keep batch order)."""
        totals = self.shaped_totals(beta, estimator).tolist()
        return tuple(sorted(range(len(totals)), key=lambda i: (-totals[i], i)))


def cafe_review_batch() -> ResponseBatch:
    """Four one-line café reviews from one prompt, 2 to 9 tokens long.

    Response A learned that the reward model loves exclamation marks: top score, but
    the reference finds its tokens unlikely, so it carries about 12 nats of KL.
    The plain reviews score less and drift little. Log-probs are made up but
    plausible; per-token k1 is negative for a few tokens, as real batches are.
    """
    return ResponseBatch.from_ragged(
        labels=("A", "B", "C", "D"),
        tokens=(
            ("Amazing", "!!!", "Best", "!!!", "ever", "!!!"),
            ("The", "espresso", "was", "rich", "and", "the", "pastries", "fresh", "."),
            ("Great", "coffee", ",", "friendly", "staff", "."),
            ("Nice", "."),
        ),
        scores=(2.0, 1.4, 1.0, 0.3),
        logprobs=(
            (-0.3, -0.1, -0.4, -0.1, -0.5, -0.1),
            (-0.8, -1.5, -0.6, -1.2, -0.4, -0.9, -1.6, -1.1, -0.3),
            (-0.7, -0.9, -1.0, -1.3, -0.6, -0.2),
            (-1.2, -0.3),
        ),
        ref_logprobs=(
            (-2.0, -3.1, -1.4, -3.0, -1.1, -3.1),
            (-1.1, -2.3, -0.7, -2.2, -0.5, -0.8, -2.3, -1.9, -0.4),
            (-0.9, -1.1, -0.9, -1.6, -0.8, -0.3),
            (-1.1, -0.5),
        ),
    )


def _stack(score: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Bottom of each penalty bar when stacked on its score bar.

    Like-signed parts stack outwards from zero; opposite signs both start at zero.
    """
    same_side = (score >= 0) == (penalty >= 0)
    return np.where(same_side, score, 0.0)


class RewardShapingExplorer(Explorer):
    """Slide β and watch the penalty reorder a batch of responses.

    Parameters
    ----------
    batch : ResponseBatch, optional
        Default: :func:`cafe_review_batch`.
    beta : float
        Starting β (reward units per nat), in [0, beta_max]. Default 0.05, TRL's PPO default.
    beta_max : float
        Right end of the slider and of the right-hand plot.
    estimator : {"k1", "k2", "k3"}
        Per-token KL estimator.
    """

    STYLES = ("-", "--", ":", "-.")
    LINE_COLOURS = ("orange", "sky", "green", "purple", "yellow", "grey")

    def __init__(
        self, batch: ResponseBatch | None = None, beta: float = 0.05, beta_max: float = 0.4, estimator: str = "k1"
    ) -> None:
        self.batch = cafe_review_batch() if batch is None else batch
        if not isinstance(self.batch, ResponseBatch):
            raise ValueError(f"batch must be a ResponseBatch, got {type(self.batch).__name__}")
        self.beta_max = positive(beta_max, "beta_max")
        beta = positive(beta, "beta", allow_zero=True)
        if beta > self.beta_max:
            raise ValueError(f"beta must be <= beta_max ({self.beta_max}), got {beta}")
        self.estimator = estimator
        self.kl = self.batch.kl_totals(estimator).numpy()
        self.scores = self.batch.scores.numpy()
        figure = self._build_figure()
        slider = widgets.FloatSlider(
            value=beta, min=0.0, max=self.beta_max, step=0.005, description="β", readout_format=".3f",
            continuous_update=True,
        )
        super().__init__(
            figure, {"beta": slider},
            alt="Left: stacked bars of each response's score and its KL penalty, with a diamond at the shaped "
            "total and its rank. Right: shaped total against β for each response, with a marker at the current β.",
        )

    def _build_figure(self) -> Figure:
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        self.ax_bars, self.ax_lines = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        x = np.arange(len(self.scores))
        bars = self.ax_bars
        self.score_bars = bars.bar(x, self.scores, width=0.6, color=OKABE_ITO["blue"], label="score r")
        self.penalty_bars = bars.bar(
            x, np.zeros_like(self.scores), width=0.6, color=OKABE_ITO["vermillion"], hatch="//",
            edgecolor="white", label="penalty −β·Σ kl",
        )
        (self.total_markers,) = bars.plot(
            x, self.scores, "D", color=OKABE_ITO["black"], markersize=7, label="shaped total", linestyle="none"
        )
        self.rank_texts = [bars.text(i, 0.0, "", ha="center", va="bottom", fontsize=9) for i in x]
        zero_line = bars.axhline(0.0, color=OKABE_ITO["grey"], linewidth=0.8)
        bars.set_axisbelow(True)  # a grid, if the style has one, stays under the bars
        worst, best = self.bar_extent(self.beta_max)
        bars.set_ylim(worst - 0.3, best + 0.6)  # headroom keeps the rank labels clear of the legend
        bars.set_xticks(x, self.batch.labels)
        bars.set(xlabel="response", ylabel="reward (reward-model units)", title="Score vs KL penalty per response")
        bars.legend(loc="upper right", fontsize=8)
        self._build_lines(self.ax_lines)
        self.moving_artists = [
            *self.penalty_bars, self.total_markers, *self.rank_texts, self.beta_line, self.current_points,
        ]
        # Static, but painted over the moving artists: the zero line, the legends and the axes frames.
        self.overlay_artists = [
            zero_line, *(a for ax in (bars, self.ax_lines) for a in (*ax.spines.values(), ax.get_legend())),
        ]
        return fig

    def bar_extent(self, beta: float) -> tuple[float, float]:
        """Lowest and highest edge of the left panel's bars and markers at one β.

        Every edge is linear in β and each penalty keeps its sign for β > 0, so the
        extent at ``beta_max`` covers the whole slider range (β = 0 adds only the scores).
        A penalty bar opposite its score starts at zero, so its far edge, −β·Σ kl, can
        lie well below the shaped total.

        Parameters
        ----------
        beta : float
            KL coefficient, in reward-model units per nat.

        Returns
        -------
        tuple of float
            (lowest, highest) edge, in reward-model units.
        """
        penalty = -beta * self.kl
        bottoms = _stack(self.scores, penalty)
        edges = np.concatenate([[0.0], self.scores, bottoms, bottoms + penalty, self.scores + penalty])
        return float(edges.min()), float(edges.max())

    def _build_lines(self, ax: Axes) -> None:
        betas = np.linspace(0.0, self.beta_max, 201)
        totals = self.scores[None, :] - betas[:, None] * self.kl[None, :]
        for i, label in enumerate(self.batch.labels):
            tokens = self.batch.tokens[i]
            words = " ".join(tokens[:3]) + (" …" if len(tokens) > 3 else "")
            ax.plot(
                betas, totals[:, i], color=OKABE_ITO[self.LINE_COLOURS[i % len(self.LINE_COLOURS)]],
                linestyle=self.STYLES[i % len(self.STYLES)], linewidth=2,
                label=f"{label}: {words} (Σ kl = {self.kl[i]:.1f} nats)",
            )
        self.beta_line = ax.axvline(0.0, color=OKABE_ITO["black"], linewidth=1)
        (self.current_points,) = ax.plot(self.scores * 0, self.scores, "o", color=OKABE_ITO["black"], markersize=5)
        ax.set(
            xlim=(0.0, self.beta_max), xlabel="β (reward units per nat)",
            ylabel="shaped total score − β·Σ kl (reward-model units)",
            title="Where the lines cross, the ranking flips",
        )
        ax.legend(fontsize=7, loc="lower left")

    def draw(self, beta: float) -> str:
        penalty = -beta * self.kl
        totals = self.scores + penalty
        bottoms = _stack(self.scores, penalty)
        for bar, height, bottom in zip(self.penalty_bars, penalty, bottoms):
            bar.set_height(height)
            bar.set_y(bottom)
        self.total_markers.set_ydata(totals)
        order = self.batch.ranking(beta, self.estimator)
        # The rank label sits just above the highest of the two bars and zero.
        tops = np.maximum.reduce([np.zeros_like(totals), self.scores, bottoms, bottoms + penalty])
        for rank, i in enumerate(order, start=1):
            self.rank_texts[i].set_text(f"#{rank}")
            self.rank_texts[i].set_position((i, tops[i] + 0.05))
        self.beta_line.set_xdata([beta, beta])
        self.current_points.set_data(np.full_like(totals, beta), totals)
        ranking = " &gt; ".join(f"{self.batch.labels[i]} ({totals[i]:+.2f})" for i in order)
        return f"<b>β = {beta:.3f}</b> &nbsp; ranking by shaped total: {ranking}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(beta={self.values()['beta']:.4g}, responses={len(self.scores)})"
