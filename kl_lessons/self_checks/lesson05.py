"""Self-checks for lesson 5 (adaptive KL control).

Each returns a short message and never raises for a wrong answer, so a learner can
try again without a traceback. An answer left as ``...`` (a starter cell run as it
is) gets "fill in" advice.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable

import numpy as np

from ..controllers import AdaptiveKLController
from ..monitor import HealthWarning
from ..plant import CONTROL_EXPERIMENT, control_metrics, simulate_control
from . import _finite_answer, _shown, _unfilled

#: The by-hand exercise: Ziegler et al.'s settings and two batch readings (nats per sequence).
BY_HAND = {"init_kl_coef": 0.15, "target": 6.0, "horizon": 10_000, "batch_size": 512, "readings": (9.0, 5.4)}

#: The horizon exercise: the lesson's experiment (and run length, as in its grid of horizons) with batches of 256.
HORIZON_EXPERIMENT = dataclasses.replace(CONTROL_EXPERIMENT, batch_size=256)
#: What counts as a pass in the horizon exercise: settled within this many steps, chattering below this.
HORIZON_BRIEF = {"settle_within": 300, "max_chattering": 1.5}

#: The units exercise: the lesson's proportional run, with per-token readings of replies of ``length`` tokens
#: against the lesson's per-sequence target (trlx #438). A fix is the (target, reading_scale) pair it passes.
UNITS_TASK = {"length": 16}

#: The "not learning" exercise: the signature asked for, and its defaults.
StuckLowFn = Callable[..., Any]
STUCK_LOW_DEFAULTS = {"fraction": 0.25, "window": 200}


def _close(a: float, b: float) -> bool:
    # 5e-4: a pen-and-paper answer rounded to four figures (0.1515 for 0.151536) still counts.
    return math.isclose(a, b, rel_tol=5e-4)


def check_update_by_hand(beta_after_first: float, beta_after_second: float) -> str:
    """Check two hand-computed updates of the proportional controller (settings in :data:`BY_HAND`).

    Names the usual slips: the raw (unclipped) error, the clipped error without the n_steps/horizon
    scale, ``n_steps = 1`` (one update instead of the batch's samples), an additive update
    β + e·n/h instead of β·(1 + e·n/h), and a second update started from the first β.
    """
    if _unfilled(beta_after_first, beta_after_second):
        return "Fill in both β values (replace each ... with your arithmetic), then run the cell again."
    b1, b2 = _finite_answer(beta_after_first), _finite_answer(beta_after_second)
    if b1 is None or b2 is None:
        return "Please pass two finite numbers: β after the first batch and β after the second."
    s = BY_HAND
    controller = AdaptiveKLController(s["init_kl_coef"], s["target"], s["horizon"])
    first = controller.update(s["readings"][0], n_steps=s["batch_size"])
    second = controller.update(s["readings"][1], n_steps=s["batch_size"])
    gain = s["batch_size"] / s["horizon"]
    errors = [min(max(r / s["target"] - 1, -0.2), 0.2) for r in s["readings"]]
    if not _close(b1, first):
        beta0 = s["init_kl_coef"]
        if _close(b1, beta0 * (1 + (s["readings"][0] / s["target"] - 1) * gain)):
            return "First update: you used the raw error 0.5. The rule clips the error to [-0.2, 0.2] first."
        if _close(b1, beta0 * (1 + errors[0])):
            return "First update: the clipped error is scaled by n_steps/horizon = 512/10000 before it moves β."
        if _close(b1, beta0 * (1 + errors[0] / s["horizon"])):
            return (f"First update: that is n_steps = 1. n_steps counts the samples of the batch just measured "
                    f"({s['batch_size']}), not updates: the gain is {s['batch_size']}/{s['horizon']}.")
        if _close(b1, beta0 + errors[0] * gain):
            return ("First update: you added the step to β. The rule multiplies: β·(1 + e·n_steps/horizon), so "
                    "the step is a fraction of β (it moves log β), not an amount of reward per nat.")
        return f"First update: not quite. Start from β = {beta0}, error = clip(9/6 - 1, -0.2, 0.2)."
    if not _close(b2, second):
        if _close(b2, s["init_kl_coef"] * (1 + errors[1] * gain)):
            return "First update right. The second one multiplies the β you got from the first, not the starting β."
        if _close(b2, first * (1 + errors[1] / s["horizon"])):
            return (f"First update right. The second one uses n_steps = 1: n_steps is the batch's "
                    f"{s['batch_size']} samples, as in the first.")
        if _close(b2, first + errors[1] * gain):
            return "First update right. The second one adds the step to β: multiply, β·(1 + e·n_steps/horizon)."
        return "First update right. Second: the error is 5.4/6 - 1 = -0.1 (inside the clip), so β shrinks a little."
    return (
        f"Both right: β = {first:.6f}, then {second:.6f}. Each batch moves β by at most "
        f"{0.2 * gain:.2%}, which is why the controller is smooth (and slow)."
    )


def _horizon_metrics(horizon: float) -> dict[str, Any]:
    experiment = HORIZON_EXPERIMENT
    run = simulate_control(experiment.proportional(horizon=horizon), experiment.plant(), experiment.n_steps)
    return control_metrics(run)


def _meets_brief(m: dict[str, Any]) -> bool:
    settle = m["settling_step"]
    return settle is not None and settle <= HORIZON_BRIEF["settle_within"] and m["chattering"] < HORIZON_BRIEF[
        "max_chattering"]


def check_horizon(horizon: float) -> str:
    """Run the lesson's experiment with batches of 256 and ``horizon``; say whether it meets the brief.

    The run has the lesson's length (:data:`HORIZON_EXPERIMENT`), so its chattering is the number the grid of
    section 5 prints. A horizon given in updates (batches) instead of samples is named as such.
    """
    if _unfilled(horizon):
        return "Fill in your horizon (replace the ... with a number of samples), then run the cell again."
    h = _finite_answer(horizon)
    batch = HORIZON_EXPERIMENT.batch_size
    if h is None or h < batch:
        if h is not None and h >= 1 and _meets_brief(_horizon_metrics(h * batch)):
            return (f"That looks like a horizon in updates: horizon × n_steps = {h:g} × {batch} samples would pass. "
                    f"The horizon counts samples, as n_steps does, so pass {h * batch:g}.")
        return f"The horizon must be a number of samples of at least one batch ({batch})."
    m = _horizon_metrics(h)
    settle, chat = m["settling_step"], m["chattering"]
    said = f"horizon {h:g}: settles after {'never' if settle is None else settle} steps, chattering {chat:.2f}."
    if _meets_brief(m):
        return f"Meets the brief: {said}"
    if chat >= HORIZON_BRIEF["max_chattering"]:
        return f"Too jumpy: {said} A longer horizon makes each update smaller."
    return f"Too slow: {said} A shorter horizon lets β move faster."


def _units_run(target: float, scale: float) -> dict[str, np.ndarray]:
    """The lesson's ``proportional_run(target, scale)``: its experiment, with readings multiplied by ``scale``."""
    experiment = CONTROL_EXPERIMENT
    return simulate_control(experiment.proportional(target=target), experiment.plant(), experiment.n_steps,
                            reading_scale=scale)


@functools.lru_cache(maxsize=1)
def _units_reference_beta() -> np.ndarray:
    return _units_run(CONTROL_EXPERIMENT.target, 1.0)["beta"]  # per-sequence readings, per-sequence target


def check_units_fix(target: float, scale: float) -> str:
    """Check one fix of the trlx #438 run: the ``(target, scale)`` a learner passes to ``proportional_run``.

    The run reads the per-token mean KL of 16-token replies (scale 1/16) against a target of 0.5 nats per
    sequence. A fix must reproduce the β trace of the consistent per-sequence run, changing one argument.
    Returns a message; never raises for a wrong answer.
    """
    if _unfilled(target, scale):
        return "Fill in the (target, scale) of your fix (replace each ...), then run the cell again."
    t, sc = _finite_answer(target), _finite_answer(scale)
    if t is None or sc is None:
        return "Please pass two finite numbers: the target (nats) and the reading scale you give proportional_run."
    if t <= 0 or sc <= 0:
        return "Mind the sign: a KL target and a reading scale are both > 0 (the scale multiplies each reading)."
    goal, n, batch = CONTROL_EXPERIMENT.target, UNITS_TASK["length"], CONTROL_EXPERIMENT.batch_size
    try:
        run = _units_run(t, sc)
    except ValueError as err:  # e.g. a target so small that kl/target overflows
        return f"Not yet: that run cannot start ({err}). Try numbers near the lesson's 0.5 and 1/16."
    said = f"your run ends at {run['kl_true'][-1]:.3g} nats per reply (intended: {goal:g})"
    if np.allclose(run["beta"], _units_reference_beta(), rtol=1e-9):
        if _close(sc, 1.0) and _close(t, goal):
            return ("Right: sum the KL over each reply (scale 1) and keep the per-sequence 0.5-nat target. "
                    "This fix stays right when reply lengths vary.")
        if _close(sc, 1 / n) and _close(t, goal / n):
            return (f"Right: a per-token target, 0.5/{n} = {goal / n:g} nats, for per-token readings. It holds only "
                    f"while every reply has {n} tokens: with varying lengths no single per-token target matches.")
        return ("This reproduces the healthy β trace (only reading × scale / target matters), but it changes both "
                f"arguments of the bug ({goal:g}, 1/{n}). Change only the target, or only the scale.")
    if _close(t, goal) and _close(sc, 1 / n):
        return f"That is the trlx #438 run itself: {said}. Per-token readings need a per-token target, or sum them."
    if _close(t, goal / n) and _close(sc, 1.0):
        return f"That is the reverse mistake: {said}. Per-sequence readings against a per-token target."
    if _close(t, goal * n):
        return (f"Wrong direction: {said}. A per-token target is the per-sequence one divided by the {n} tokens "
                "of a reply, not multiplied.")
    if _close(sc, n):
        return (f"Wrong direction: {said}. The per-token mean is the reply's sum divided by {n}; summing per "
                "reply instead means scale 1, not 16.")
    if _close(t, goal / batch) or _close(sc, 1 / batch):
        return (f"Not yet: {said}. {batch} is the batch size; the unit mix-up is per token of a "
                f"{n}-token reply.")
    return (f"Not yet: {said}. The controller compares reading × scale with the target: make the two "
            "measure the same thing, per sequence or per token.")


def _stuck_low(kl_mean: np.ndarray, target: float, fraction: float, window: int) -> bool:
    """The answer to the exercise: is the mean of the last ``window`` steps below ``fraction × target``?"""
    return float(np.mean(kl_mean[-window:])) < fraction * target


def _stuck_low_cases() -> list[tuple[str, np.ndarray, dict[str, float], str]]:
    """(description, kl_mean, keyword arguments, advice if the learner's answer differs), most basic first."""
    rng = np.random.default_rng(5)

    def log(*pieces: tuple[float, int]) -> np.ndarray:  # a noisy batch-mean KL, level by level
        return np.concatenate([np.abs(level + 0.1 * level * rng.standard_normal(steps)) for level, steps in pieces])

    return [
        ("a run stuck at 0.05 nats against a 0.5-nat target", log((0.05, 400)), {"target": 0.5},
         "It should fire: the last 200 steps average about 0.05 nats, below 0.25 × 0.5 = 0.125."),
        ("a run at its 0.5-nat target", log((0.5, 400)), {"target": 0.5},
         "It fired on a run at its target: check the sign of the comparison (fire when the mean is below)."),
        ("a run at 0.3 nats, 60 % of its target", log((0.3, 400)), {"target": 0.5},
         "It fired at 60 % of the target: compare with fraction × target, not with the target itself."),
        ("a run low at first, at its target for the last 200 steps", log((0.02, 300), (0.5, 200)), {"target": 0.5},
         "Only the last `window` steps count: this run was low early, but its last 200 steps sit at the target."),
        ("a run at its target, stuck low for the last 200 steps", log((0.5, 1000), (0.05, 200)), {"target": 0.5},
         "Use the mean of the last `window` steps: the mean of the whole run hides a KL that has just fallen."),
        ("the same run, with window=50", log((0.5, 300), (0.05, 60)), {"target": 0.5, "window": 50},
         "Your function ignores its `window` argument: with window=50 only the last 50 steps count."),
        ("a run at 0.2 nats, with fraction=0.5", log((0.2, 400)), {"target": 0.5, "fraction": 0.5},
         "Your function ignores its `fraction` argument: with fraction=0.5 the threshold is 0.25 nats."),
        ("per-token KL 0.02 against a per-token target of 0.5/16", log((0.02, 400)), {"target": 0.5 / 16},
         "Compare with the `target` you are given (here 0.03125 nats, per token): is 0.5 written into the function?"),
    ]


def check_kl_stuck_low(fn: StuckLowFn) -> str:
    """Check ``fn(kl_mean, target, fraction=0.25, window=200)`` → ``HealthWarning`` or ``None``.

    It must warn when the mean of the last ``window`` steps of ``kl_mean`` is below ``fraction × target``.
    The check calls it on several logs, including ones where the obvious slips (the whole-run mean, the target
    instead of fraction × target, ignoring an argument) give the wrong answer. Never raises for a wrong answer.
    """
    if _unfilled(fn):
        return "Fill in your function (replace the ...), then pass it: check_kl_stuck_low(kl_stuck_low)."
    if not callable(fn):
        return f"Pass the function itself, check_kl_stuck_low(kl_stuck_low), not a {type(fn).__name__}."
    checked = []  # (description, advice, expected, got) for every log
    for description, kl_mean, kwargs, advice in _stuck_low_cases():
        options = {**STUCK_LOW_DEFAULTS, **kwargs}
        expected = _stuck_low(kl_mean, options["target"], options["fraction"], int(options["window"]))
        try:
            got = fn(kl_mean.copy(), kwargs["target"], **{k: v for k, v in kwargs.items() if k != "target"})
        except Exception as err:  # a learner's bug should read as advice, not a traceback
            return f"Not yet: on {description}, your function raised {type(err).__name__}: {err}"
        if got is False:
            return "Not yet: when all is well, return None (as the checks of kl_lessons.monitor do), not False."
        if got is not None and not isinstance(got, HealthWarning):
            return f"Not yet: when it fires, return a HealthWarning(check, step, message), not {_shown(got)}."
        if got is not None and not (isinstance(got.step, (int, np.integer)) and 0 <= got.step < kl_mean.size):
            return f"Not yet: the warning's step ({_shown(got.step)}) should be a step of the run, e.g. len(kl_mean) - 1."
        checked.append((description, advice, expected, got is not None))
    if not any(fired for *_, fired in checked):
        return "Not yet: your function returns None on every log, so it never warns. Fill in its body."
    if all(expected != fired for _, _, expected, fired in checked):
        return "Not yet: it warns on every healthy log and on none of the stuck ones: flip the comparison."
    for description, advice, expected, fired in checked:
        if expected != fired:
            return f"Not yet: on {description} it {'stayed quiet' if expected else 'warned'}. {advice}"
    return (f"Correct: it warns exactly when it should on all {len(checked)} logs, including a KL that fell only "
            "recently and a per-token target.")
