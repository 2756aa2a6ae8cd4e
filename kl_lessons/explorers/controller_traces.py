"""Lesson 5 explorer: steer the simulated plant with either controller and watch the traces.

Sliders set the target KL, the proportional controller's horizon and the noise of
one sample's KL reading; a toggle picks the threshold or the proportional rule.
Each move re-runs the closed loop (a few thousand cheap steps) and moves the lines
of the existing figure: the true and measured KL against the target on the left,
β against the β a perfect controller would hold on the right.
"""

from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from .._validate import positive
from ..controllers import AdaptiveKLController, ThresholdKLController
from ..plant import KLPlant, control_metrics, equilibrium_beta, simulate_control
from ._base import OKABE_ITO, Explorer, nice_limits

#: The controller toggle's options, in display order.
CONTROLLERS = ("proportional", "threshold")


def _default_table() -> tuple[np.ndarray, np.ndarray]:
    # Imported here so the explorer module stays light until it is used.
    from ..toy_responses import toy_frontier_table

    betas, kls = toy_frontier_table(np.logspace(-2, 1, 31))
    return betas.numpy(), kls.numpy()


class ControllerExplorer(Explorer):
    """Target, horizon, noise and controller → KL and β traces on the simulated plant.

    Parameters
    ----------
    betas, kls : sequence of float, optional
        The plant's β → equilibrium-KL table (nats); default lesson 4's toy.
    target : float
        Starting target KL, in nats (per reply for the toy), in [0.1, 2].
    horizon : float
        Starting horizon of the proportional rule, in samples, in [100, 100 000].
    noise : float
        Starting standard deviation of one sample's KL reading, in nats, in [0, 3].
    controller : {"proportional", "threshold"}
        Which rule steers first.
    n_steps, batch_size, lag, seed, init_kl_coef
        The fixed part of the experiment: steps per run, samples per batch, the
        plant's lag in steps, the noise seed and the starting β.
    """

    def __init__(
        self,
        betas: Sequence[float] | None = None,
        kls: Sequence[float] | None = None,
        target: float = 0.5,
        horizon: float = 10_000.0,
        noise: float = 0.9,
        controller: str = "proportional",
        n_steps: int = 1000,
        batch_size: int = 64,
        lag: float = 20.0,
        seed: int = 0,
        init_kl_coef: float = 0.1,
    ) -> None:
        if (betas is None) != (kls is None):
            raise ValueError("pass both betas and kls, or neither")
        self.betas, self.kls = _default_table() if betas is None else (np.asarray(betas), np.asarray(kls))
        if controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}, got {controller!r}")
        # Building one plant checks the table and the fixed settings once, up front.
        KLPlant(self.betas, self.kls, lag=lag, noise=positive(noise, "noise", allow_zero=True),
                batch_size=batch_size, seed=seed)
        self.n_steps, self.batch_size, self.lag, self.seed = int(n_steps), batch_size, lag, seed
        self.init_kl_coef = positive(init_kl_coef, "init_kl_coef")
        figure = self._build_figure()
        controls = {
            "target": widgets.FloatSlider(value=positive(target, "target"), min=0.1, max=2.0, step=0.05,
                                          description="target KL", readout_format=".2f"),
            "horizon": widgets.FloatLogSlider(value=positive(horizon, "horizon"), base=10, min=2, max=5, step=0.1,
                                              description="horizon", readout_format=".0f"),
            "noise": widgets.FloatSlider(value=noise, min=0.0, max=3.0, step=0.1, description="noise",
                                         readout_format=".1f"),
            "controller": widgets.ToggleButtons(options=CONTROLLERS, value=controller, description="rule"),
        }
        super().__init__(
            figure, controls,
            alt="Left: true and measured KL per step against a dashed target line. Right: β per step on a log "
            "scale against the dashed β whose equilibrium KL equals the target.",
        )

    def _build_figure(self) -> Figure:
        fig = Figure(figsize=(10, 3.8))
        # Fixed margins instead of a layout engine: re-solving the layout costs more than the drawing.
        fig.subplots_adjust(left=0.07, right=0.985, bottom=0.13, top=0.92, wspace=0.22)
        self.ax_kl, self.ax_beta = fig.subplots(1, 2)
        steps = np.arange(self.n_steps)
        zeros = np.zeros(self.n_steps)
        (self.measured_line,) = self.ax_kl.plot(steps, zeros, color=OKABE_ITO["sky"], linewidth=0.5,
                                                alpha=0.6, label="measured (batch mean)")
        (self.true_line,) = self.ax_kl.plot(steps, zeros, color=OKABE_ITO["blue"], linewidth=2, label="true KL")
        self.target_line = self.ax_kl.axhline(0.0, color=OKABE_ITO["black"], linestyle="--", label="target")
        self.ax_kl.set(xlim=(0, self.n_steps), xlabel="training step", ylabel="KL (nats)",
                       title="KL: does it reach the target and stay?")
        self.ax_kl.legend(loc="upper right", fontsize=8)
        (self.beta_line,) = self.ax_beta.plot(steps, zeros + 1.0, color=OKABE_ITO["vermillion"], linewidth=2,
                                              label="β from the controller")
        self.ideal_line = self.ax_beta.axhline(1.0, color=OKABE_ITO["black"], linestyle="--",
                                               label="β with equilibrium KL = target")
        self.ax_beta.set_yscale("log")
        self.ax_beta.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        self.ax_beta.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        self.ax_beta.yaxis.set_minor_formatter(NullFormatter())
        self.ax_beta.set(xlim=(0, self.n_steps), xlabel="training step", ylabel="β (reward units per nat)",
                         title="β: smooth or chattering?")
        self.ax_beta.legend(loc="upper right", fontsize=8)
        self.moving_artists = [self.measured_line, self.true_line, self.target_line, self.beta_line, self.ideal_line]
        # Static, but painted over the traces: the legends and the axes frames.
        self.overlay_artists = [a for ax in (self.ax_kl, self.ax_beta) for a in (*ax.spines.values(), ax.get_legend())]
        return fig

    def run(self, target: float, horizon: float, noise: float, controller: str) -> dict[str, np.ndarray]:
        """One closed-loop run for these control values (what :meth:`draw` plots)."""
        plant = KLPlant(self.betas, self.kls, lag=self.lag, noise=noise, batch_size=self.batch_size, seed=self.seed)
        if controller == "threshold":
            rule = ThresholdKLController(self.init_kl_coef, target)
        else:
            rule = AdaptiveKLController(self.init_kl_coef, target, max(horizon, self.batch_size))
        return simulate_control(rule, plant, self.n_steps)

    def draw(self, target: float, horizon: float, noise: float, controller: str) -> str:
        run = self.run(target, horizon, noise, controller)
        steps = np.arange(self.n_steps)
        self.true_line.set_data(steps, run["kl_true"])
        self.measured_line.set_data(steps, run["kl_measured"])
        self.target_line.set_ydata([target, target])
        self.beta_line.set_data(steps, run["beta"])
        ideal = equilibrium_beta(target, self.betas, self.kls)
        self.ideal_line.set_ydata([ideal, ideal])
        # Limits snapped to nice numbers: small moves keep both axes still (and the cached background valid).
        low, high = np.quantile(run["kl_measured"], [0.01, 0.99])
        top = max(float(run["kl_true"].max()), target) * 1.15
        self.ax_kl.set_ylim(*nice_limits(min(0.0, float(low)), max(top, float(high))))
        self.ax_beta.set_ylim(*nice_limits(min(run["beta"].min(), ideal) / 1.5, max(run["beta"].max(), ideal) * 1.5))
        m = control_metrics(run)
        settle = "never" if m["settling_step"] is None else f"{m['settling_step']} steps"
        return (
            f"<b>{controller}</b>: overshoot {m['overshoot']:.0%}, settles (±10 %) after {settle}, "
            f"tracking error {m['tracking_error']:.3f} nats, chattering Σ|Δ log β| = {m['chattering']:.2f}"
        )
