"""Self-checks for lesson 5 (adaptive KL control).

Each returns a short message and never raises for a wrong answer, so a learner can
try again without a traceback.
"""

from __future__ import annotations

import math

import numpy as np

from ..controllers import AdaptiveKLController
from ..plant import KLPlant, control_metrics, simulate_control
from . import _finite_answer

#: The by-hand exercise: Ziegler et al.'s settings and two batch readings (nats per sequence).
BY_HAND = {"init_kl_coef": 0.15, "target": 6.0, "horizon": 10_000, "batch_size": 512, "readings": (9.0, 5.4)}

#: The horizon exercise: the lesson's plant with batches of 256, and what counts as a pass.
HORIZON_TASK = {"batch_size": 256, "n_steps": 1000, "target": 0.5, "settle_within": 300, "max_chattering": 1.0}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4)


def check_update_by_hand(beta_after_first: float, beta_after_second: float) -> str:
    """Check two hand-computed updates of the proportional controller (settings in :data:`BY_HAND`)."""
    b1, b2 = _finite_answer(beta_after_first), _finite_answer(beta_after_second)
    if b1 is None or b2 is None:
        return "Please pass two finite numbers: β after the first batch and β after the second."
    s = BY_HAND
    controller = AdaptiveKLController(s["init_kl_coef"], s["target"], s["horizon"])
    first = controller.update(s["readings"][0], n_steps=s["batch_size"])
    second = controller.update(s["readings"][1], n_steps=s["batch_size"])
    gain = s["batch_size"] / s["horizon"]
    if not _close(b1, first):
        raw = s["init_kl_coef"] * (1 + (s["readings"][0] / s["target"] - 1) * gain)
        if _close(b1, raw):
            return "First update: you used the raw error 0.5. The rule clips the error to [-0.2, 0.2] first."
        if _close(b1, s["init_kl_coef"] * 1.2):
            return "First update: the clipped error is scaled by n_steps/horizon = 512/10000 before it moves β."
        return f"First update: not quite. Start from β = {s['init_kl_coef']}, error = clip(9/6 - 1, -0.2, 0.2)."
    if not _close(b2, second):
        if _close(b2, s["init_kl_coef"] * (1 + (s["readings"][1] / s["target"] - 1) * gain)):
            return "First update right. The second one multiplies the β you got from the first, not the starting β."
        return "First update right. Second: the error is 5.4/6 - 1 = -0.1 (inside the clip), so β shrinks a little."
    return (
        f"Both right: β = {first:.6f}, then {second:.6f}. Each batch moves β by at most "
        f"{0.2 * gain:.2%}, which is why the controller is smooth (and slow)."
    )


def check_horizon(horizon: float) -> str:
    """Run the lesson's plant with batches of 256 and ``horizon``; say whether it meets the brief."""
    h = _finite_answer(horizon)
    task = HORIZON_TASK
    if h is None or h < task["batch_size"]:
        return f"The horizon must be a number of samples of at least one batch ({task['batch_size']})."
    from ..toy_responses import toy_frontier_table

    betas, kls = (x.numpy() for x in toy_frontier_table(np.logspace(-2, 1, 31)))
    plant = KLPlant(betas, kls, lag=20, noise=0.9, batch_size=task["batch_size"], seed=0)
    run = simulate_control(AdaptiveKLController(0.1, task["target"], h), plant, task["n_steps"])
    m = control_metrics(run)
    settle, chat = m["settling_step"], m["chattering"]
    settled = settle is not None and settle <= task["settle_within"]
    calm = chat < task["max_chattering"]
    said = f"horizon {h:g}: settles after {'never' if settle is None else settle} steps, chattering {chat:.2f}."
    if settled and calm:
        return f"Meets the brief: {said}"
    if not calm:
        return f"Too jumpy: {said} A longer horizon makes each update smaller."
    return f"Too slow: {said} A shorter horizon lets β move faster."
