"""Lesson 4's explorer: slide β along the reward–KL frontier and watch π_β change."""

from __future__ import annotations

import math
from typing import Optional

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .._validate import positive
from ..divergence import entropy, kl_divergence
from ..optimum import tilted_policy
from ..toy_responses import EXCLAMATIONS, ToyResponses, beta_sweep, make_toy_responses
from ._base import OKABE_ITO, Explorer

#: One colour and hatch per number of "!", so the shouty replies stand out without colour too.
_MARK_STYLE = {
    0: (OKABE_ITO["blue"], ""),
    1: (OKABE_ITO["sky"], ".."),
    3: (OKABE_ITO["orange"], "//"),
    6: (OKABE_ITO["vermillion"], "xx"),
}


class FrontierExplorer(Explorer):
    """A log-scale β slider: a marker moves along the frontier, and π_β is redrawn beside π_ref.

    Left: E[proxy] and E[gold] against √KL(π_β‖π_ref) for the whole β grid, with the
    current β marked. Right: π_ref (hatched outlines) and π_β (filled bars, coloured by
    the number of "!") for every reply of the toy.

    Parameters
    ----------
    toy : ToyResponses, optional
        The response space; defaults to :func:`kl_lessons.toy_responses.make_toy_responses`.
    beta : float
        Initial β (reward units per nat), within [1e-3, 10].
    """

    BETA_MIN, BETA_MAX = 1e-3, 10.0

    def __init__(self, toy: Optional[ToyResponses] = None, beta: float = 0.1) -> None:
        b0 = positive(beta, "beta")
        if not self.BETA_MIN <= b0 <= self.BETA_MAX:
            raise ValueError(f"beta must lie in [{self.BETA_MIN}, {self.BETA_MAX}], got {b0}")
        self.toy = toy if toy is not None else make_toy_responses()
        grid = torch.logspace(math.log10(self.BETA_MIN), math.log10(self.BETA_MAX), 161, dtype=torch.float64)
        sweep = beta_sweep(self.toy, grid)
        # Matplotlib gets plain numpy arrays: it handles torch tensors only through a deprecated path.
        root_kl, proxy, gold = sweep.kl.sqrt().numpy(), sweep.proxy.numpy(), sweep.gold.numpy()

        figure = Figure(figsize=(11, 4.2), layout="constrained")
        ax_front, ax_bars = figure.subplots(1, 2, width_ratios=[1, 1.6])
        ax_front.plot(root_kl, proxy, color=OKABE_ITO["orange"], ls="-", label="proxy reward (what is optimised)")
        ax_front.plot(root_kl, gold, color=OKABE_ITO["blue"], ls="--", label="gold reward (true quality)")
        (self.proxy_dot,) = ax_front.plot([], [], "o", color=OKABE_ITO["orange"], ms=9, mec="black")
        (self.gold_dot,) = ax_front.plot([], [], "s", color=OKABE_ITO["blue"], ms=9, mec="black")
        ax_front.set(title="Frontier of the exact optimum π_β", xlabel="√KL(π_β‖π_ref)  (√nats)",
                     ylabel="expected reward (reward units)")
        ax_front.legend(loc="lower left", fontsize=8)

        k = len(self.toy)
        x = np.arange(k, dtype=float)
        marks = self.toy.exclamations.tolist()
        ax_bars.bar(x - 0.2, self.toy.ref_probs.numpy(), width=0.4, facecolor="none", edgecolor=OKABE_ITO["grey"],
                    hatch="///", label="π_ref")
        self.policy_bars = ax_bars.bar(
            x + 0.2, self.toy.ref_probs.numpy(), width=0.4,
            color=[_MARK_STYLE[m][0] for m in marks],
        )
        for bar, m in zip(self.policy_bars, marks):
            bar.set_hatch(_MARK_STYLE[m][1])
        per_answer = len(EXCLAMATIONS)
        ax_bars.set_xticks([i * per_answer + (per_answer - 1) / 2 for i in range(k // per_answer)])
        ax_bars.set_xticklabels(self.toy.labels[::per_answer], rotation=30, ha="right", fontsize=8)
        ax_bars.set(title="π_β (filled) beside π_ref (hatched outline)", ylabel="probability", ylim=(0, 1.0))
        handles = [Patch(facecolor="none", edgecolor=OKABE_ITO["grey"], hatch="///", label="π_ref")]
        handles += [Patch(facecolor=c, hatch=h, label=f"π_β, {m} '!'") for m, (c, h) in _MARK_STYLE.items()]
        ax_bars.legend(handles=handles, loc="upper right", fontsize=8, ncol=2)
        ax_bars.set_axisbelow(True)  # a grid, if the style has one, stays under the bars
        self.moving_artists = [self.proxy_dot, self.gold_dot, *self.policy_bars]
        # Static, but painted over the moving artists: the legends and the axes frames.
        self.overlay_artists = [a for ax in (ax_front, ax_bars) for a in (*ax.spines.values(), ax.get_legend())]

        slider = widgets.FloatLogSlider(
            value=b0, base=10, min=math.log10(self.BETA_MIN), max=math.log10(self.BETA_MAX), step=0.05,
            description="β", readout_format=".3g", continuous_update=True,
        )
        super().__init__(figure, {"beta": slider},
                         alt="Left: proxy and gold reward against square-root KL, with a marker at the chosen beta. "
                             "Right: bars of the reference and the tilted policy over the 36 replies.")

    def draw(self, beta: float) -> str:
        """Move the frontier markers to β and set each π_β bar's height."""
        toy = self.toy
        pi = tilted_policy(toy.ref_probs, toy.proxy, beta)
        kl = float(kl_divergence(pi, toy.ref_probs))
        proxy, gold = float(pi @ toy.proxy), float(pi @ toy.gold)
        self.proxy_dot.set_data([math.sqrt(kl)], [proxy])
        self.gold_dot.set_data([math.sqrt(kl)], [gold])
        for bar, height in zip(self.policy_bars, pi.tolist()):
            bar.set_height(height)
        top = int(pi.argmax())
        return (
            f"<b>β = {beta:.3g}</b> · KL = {kl:.3f} nats · E[proxy] = {proxy:.3f} · E[gold] = {gold:.3f} · "
            f"H(π_β) = {float(entropy(pi)):.3f} nats<br>most likely reply ({float(pi[top]):.0%}): "
            f"“{toy.texts[top]}”"
        )


__all__ = ["FrontierExplorer"]
