"""Lesson 6: health checks for the numbers an RLHF trainer logs each step.

Each check reads per-step series (one value per optimisation step, KL in nats) and
returns a :class:`HealthWarning` the first time its condition holds, or ``None``.
They encode the "what to watch during training" list: mean KL should rise from 0
and then level off, never stay negative, max KL should not spike, and reward should
not rise while entropy collapses. Lesson 10 adds three read from real trainers' logs:
the KL should start at 0 (the policy starts as a copy of its reference), should not
fall back towards 0 again and again (a reference that is being reset), and most
groups of a group-relative trainer should not score all alike (no learning signal).
:func:`health_report` runs every check whose inputs are present in a log.

The thresholds are rules of thumb for a monitor, not statistical tests: they are
arguments, so a run with a different noise level can tune them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ._validate import as_series, count as _count, positive

__all__ = [
    "HealthWarning",
    "health_report",
    "kl_negative",
    "kl_resets",
    "kl_spikes",
    "kl_starts_high",
    "kl_unbounded",
    "no_learning_signal",
    "nonfinite",
    "reward_up_entropy_down",
]


@dataclass(frozen=True)
class HealthWarning:
    """One problem found in a training log.

    Attributes
    ----------
    check : str
        Name of the check that fired (the function's name).
    step : int
        0-based step at which the condition was first met.
    message : str
        A readable sentence with the numbers behind the warning.
    """

    check: str
    step: int
    message: str


def metric_series(values: Sequence[float], name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """``values`` (one number per training step) as a 1-D float64 array, or ``ValueError`` naming ``name``.

    With ``allow_nonfinite``, NaN and ±inf steps pass (for checks that look for them).
    Tensors, even ones that require grad, are detached: log straight from a training loop.
    """
    return as_series(values, name, allow_nonfinite=allow_nonfinite)


def _same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.size != b.size:
        raise ValueError(f"{name_a} has {a.size} steps but {name_b} has {b.size}")


def nonfinite(values: Sequence[float], name: str = "values") -> HealthWarning | None:
    """Warn at the first NaN or inf in a logged series.

    Public API: one of the detectors :func:`health_report` runs, callable on its own like
    :func:`kl_negative` or :func:`kl_spikes`.

    A NaN KL reading usually means a log-probability of −inf somewhere (a token the
    reference gives zero probability) or a division by an empty mask.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a string (the series' label), got {name!r}")
    x = metric_series(values, name, allow_nonfinite=True)
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size == 0:
        return None
    step = int(bad[0])
    return HealthWarning(
        "nonfinite", step,
        f"{name} is {x[step]} at step {step} ({bad.size} of {x.size} steps are not finite); "
        "the other checks skip this series.",
    )


def kl_unbounded(
    kl_mean: Sequence[float], window: int | None = None, min_t: float = 6.0, min_relative_rise: float = 0.02
) -> HealthWarning | None:
    """Warn if mean KL is still climbing at the end of the run.

    A healthy run starts near 0, rises, then levels off (possibly after an
    overshoot). Under a fixed β it levels off *from below*: the KL creeps up
    towards the KL of the optimum π_β (lesson 4) ever more slowly, so a small late
    rise is expected and is not a warning. This splits the last ``window`` steps
    into thirds and fires when all hold:

    * the median of the last third is clearly above the median of the first third
      (by at least ``min_t`` standard errors, estimated from the step-to-step noise);
    * that last-third median is the highest level of the run: above the median of
      every earlier block of the same length.

    * the rise is at least ``min_relative_rise`` of the final level, so a flat
      plateau whose float noise happens to creep upward is not called a climb.

    Medians make a short dip or spike inside the window harmless; the second
    condition separates "still rising" from "recovering after a dip".

    Why ``min_t`` is 6 and not 3: a training run's KL wanders slowly (the policy
    changes a little each step), so the step-to-step differences understate how
    far the median of a block can drift by chance. On the capstone's healthy runs
    (lesson 6, five seeds) a late creep towards the fixed-β level scores below 1,
    but one healthy run computed in float32 on another CPU crossed 3; the runaway
    trlx #438 run on lesson 5's plant scores 26, and a fixed-β run that slowly
    learned to shout (lesson 6, seed 0) about 10.

    Parameters
    ----------
    kl_mean : sequence of float, shape (T,)
        Batch-mean KL per step, in nats.
    window : int, optional
        Steps examined at the end, ≥ 6; default a quarter of the run.
    min_t : float
        How many standard errors (from step-to-step noise) the rise must exceed, > 0.
    min_relative_rise : float
        Smallest rise worth a warning, as a fraction of the final level, ≥ 0.
    """
    kl = metric_series(kl_mean, "kl_mean")
    w = _count(max(6, kl.size // 4) if window is None else window, "window", minimum=6)
    positive(min_t, "min_t")
    positive(min_relative_rise, "min_relative_rise", allow_zero=True)
    if kl.size < 2 * w:
        return None  # too short to tell the end from the rest
    k = w // 3
    late = kl[-w:]
    first, last = float(np.median(late[:k])), float(np.median(late[-k:]))
    # Robust per-step noise from the first differences (MAD, scaled to a Gaussian std, /√2 for the difference);
    # the median of k Gaussian draws has std ≈ 1.2533·σ/√k.
    steps = np.diff(late)
    sigma = 1.4826 * float(np.median(np.abs(steps - np.median(steps)))) / math.sqrt(2)
    stderr = 1.2533 * sigma * math.sqrt(2 / k)
    rise = last - first
    earlier = kl[: kl.size - k]
    blocks = earlier[earlier.size % k :].reshape(-1, k)
    highest_before = float(np.median(blocks, axis=1).max())
    if rise <= min_t * stderr or last <= highest_before or rise < min_relative_rise * abs(last):
        return None
    return HealthWarning(
        "kl_unbounded", kl.size - 1,
        f"Mean KL is still climbing at the end of the run: up {rise:.3g} nats over the last {w} steps "
        f"(medians of their first and last {k} steps) to {last:.3g} nats, its highest level so far.",
    )


def kl_negative(kl_mean: Sequence[float], patience: int = 10) -> HealthWarning | None:
    """Warn if the batch-mean KL stays below 0 for ``patience`` steps in a row.

    A single sample's log-ratio can be negative, and so can a noisy batch mean now
    and then; a mean that *stays* negative points at samples that were not drawn
    from the policy being scored (top-k, top-p, temperature, unmasked padding).

    Parameters
    ----------
    kl_mean : sequence of float, shape (T,)
        Batch-mean KL per step, in nats.
    patience : int
        Consecutive negative steps before warning, ≥ 1.
    """
    kl = metric_series(kl_mean, "kl_mean")
    n = _count(patience, "patience")
    run = 0
    for step, value in enumerate(kl):
        run = run + 1 if value < 0 else 0
        if run == n:
            start = step - n + 1
            return HealthWarning(
                "kl_negative", step,
                f"Mean KL has stayed below 0 for {n} steps in a row (steps {start}-{step}, lowest "
                f"{kl[start:step + 1].min():.3g} nats). A true KL is never negative: check that the samples come "
                "from the policy being scored.",
            )
    return None


def kl_spikes(
    kl_max: Sequence[float], kl_mean: Sequence[float], ratio: float = 3.0, window: int = 20
) -> HealthWarning | None:
    """Warn at the first step whose max KL is far above its recent median.

    For each step t ≥ ``window``, the batch's max KL is compared with the median of
    the max KL over the ``window`` steps before it; the check fires when it exceeds
    ``ratio`` times that median. The first ``window`` steps only fill the history,
    so the rise from 0 at the start of training is not mistaken for a spike.

    Parameters
    ----------
    kl_max : sequence of float, shape (T,)
        Largest per-sample KL in each batch, in nats.
    kl_mean : sequence of float, shape (T,)
        Batch-mean KL per step, in nats; a max below the mean is a logging error.
    ratio : float
        How many times the running median counts as a spike, > 1.
    window : int
        Steps in the running median, ≥ 1.
    """
    top = metric_series(kl_max, "kl_max")
    mean = metric_series(kl_mean, "kl_mean")
    _same_length(top, mean, "kl_max", "kl_mean")
    if positive(ratio, "ratio") <= 1:
        raise ValueError(f"ratio must be > 1, got {ratio}")
    w = _count(window, "window")
    below = np.flatnonzero(top < mean - 1e-9 * np.maximum(1.0, np.abs(mean)))
    if below.size:
        raise ValueError(f"kl_max is below kl_mean at step {int(below[0])}; are the two series swapped?")
    if top.size <= w:
        return None
    medians = np.median(np.lib.stride_tricks.sliding_window_view(top[:-1], w), axis=1)  # medians[i] covers i..i+w-1
    later = top[w:]
    hits = np.flatnonzero((medians > 0) & (later > ratio * medians))
    if hits.size == 0:
        return None
    step = int(hits[0]) + w
    median = float(medians[hits[0]])
    return HealthWarning(
        "kl_spikes", step,
        f"Max KL spiked at step {step}: {top[step]:.3g} nats, {top[step] / median:.1f}x its median of "
        f"{median:.3g} nats over the previous {w} steps (mean KL that step: {mean[step]:.3g} nats). "
        "A few samples may have found an exploit.",
    )


def _running_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Means of every ``w`` consecutive values, from cumulative sums: O(T), where a convolution with the
    default T/5-step window is O(T²) (8 s on a 10^5-step log)."""
    sums = np.concatenate(([0.0], np.cumsum(x)))
    return (sums[w:] - sums[:-w]) / w


def reward_up_entropy_down(
    reward: Sequence[float], entropy: Sequence[float], window: int | None = None, drop: float = 0.5
) -> HealthWarning | None:
    """Warn if reward rose while the policy's entropy collapsed.

    Compares the mean of the first ``window`` steps with the running mean of the
    latest ``window`` steps. It fires at the first step where entropy has fallen by
    more than ``drop`` (a fraction of its early value) while reward is above its
    early value: the policy is piling onto a few responses the reward model likes.

    Parameters
    ----------
    reward : sequence of float, shape (T,)
        Batch-mean reward per step (reward-model units).
    entropy : sequence of float, shape (T,)
        Policy entropy per step, in nats.
    window : int, optional
        Steps averaged on each side, ≥ 1; default a fifth of the run.
    drop : float
        Fractional fall in entropy that counts as a collapse, in (0, 1).
    """
    r = metric_series(reward, "reward")
    h = metric_series(entropy, "entropy")
    _same_length(r, h, "reward", "entropy")
    w = _count(max(1, r.size // 5) if window is None else window, "window")
    if not 0 < positive(drop, "drop") < 1:
        raise ValueError(f"drop must be in (0, 1), got {drop}")
    if r.size < 2 * w:
        return None
    r_late, h_late = _running_mean(r, w), _running_mean(h, w)  # index i ends at step i+w-1
    r0, h0 = r_late[0], h_late[0]
    if h0 <= 0:
        return None  # no entropy to lose
    hits = np.flatnonzero((h_late < (1 - drop) * h0) & (r_late > r0))
    if hits.size == 0:
        return None
    i = int(hits[0])
    step = i + w - 1
    return HealthWarning(
        "reward_up_entropy_down", step,
        f"By step {step} reward rose from {r0:.3g} to {r_late[i]:.3g} while entropy fell "
        f"{1 - h_late[i] / h0:.0%} (from {h0:.3g} to {h_late[i]:.3g} nats, {w}-step means): "
        "the policy may be collapsing onto a few responses the reward model likes.",
    )


def kl_starts_high(kl_mean: Sequence[float], ratio: float = 0.1, floor: float = 0.01) -> HealthWarning | None:
    """Warn if the KL does not start at 0.

    Every trainer starts the policy as a copy of its reference, so the KL of the first step, scored before
    any update, is 0 (exactly, when both are scored by the same code in the same precision; a reference in
    lower precision adds a little). A first value above ``floor`` and above ``ratio`` times the run's median
    level means the reference is not the model the policy started from: a wrong checkpoint, weights that were
    never loaded, a LoRA policy compared with the wrong base. Only an unaveraged first step can be 0: a log
    whose first row averages several steps (TRL's default ``logging_steps=10``) must not be checked, and
    :func:`kl_lessons.run_logs.check_run` skips this check for such a log.

    Parameters
    ----------
    kl_mean : sequence of float, shape (T,)
        Batch-mean KL per step, in nats.
    ratio : float
        Share of the run's median KL that the first step must reach, > 0.
    floor : float
        Smallest first KL worth a warning, in nats, ≥ 0 (rounding between precisions stays below it).
    """
    kl = metric_series(kl_mean, "kl_mean")
    positive(ratio, "ratio")
    positive(floor, "floor", allow_zero=True)
    if kl.size < 2:
        return None
    first, median = float(kl[0]), float(np.median(kl))
    if first <= floor or first < ratio * median:
        return None
    return HealthWarning(
        "kl_starts_high", 0,
        f"The KL is {first:.3g} nats at the first step, {first / median:.2g}x the run's median of {median:.3g}; "
        "it should be 0 there, since the policy starts as a copy of its reference. Is the reference the model "
        "the policy started from?",
    )


def kl_resets(kl_mean: Sequence[float], drop: float = 0.3, level: float = 0.5, min_resets: int = 4
              ) -> HealthWarning | None:
    """Warn if the KL falls back towards 0 in one step, again and again, on a schedule (saw-teeth).

    A policy drifts from a fixed reference a little each step, so its KL moves without falling off a cliff
    on a schedule. A step whose KL is at least 0 and at most ``drop`` times the median of the three steps
    before it, when that median is at least ``level`` times the run's median, is a drop (a median, so the
    step after a spike is no drop). The check fires when there are at least ``min_resets`` drops and *all*
    of them (adjacent drops count as one) sit on one schedule of every ``p`` ≥ 3 steps (within one step, or a
    tenth of ``p``), with at most a quarter of the schedule's slots missed. Then the
    *reference* is being moved towards the policy every ``p`` steps (TRL's ``sync_ref_model``, ProRL's
    reference resets). That can be intended, but the logged KL then measures the drift since the last move,
    not the drift from the original model. Noise makes drops too, but not all on one schedule: the longer
    a noisy log, the less likely.

    Parameters
    ----------
    kl_mean : sequence of float, shape (T,)
        Batch-mean KL per step, in nats.
    drop : float
        A step that keeps at most this share of the level before it is a drop, in (0, 1).
    level : float
        The level before a drop must be at least this share of the run's median KL, ≥ 0 (noise near 0 is no
        drop).
    min_resets : int
        Drops before warning, ≥ 2.
    """
    kl = metric_series(kl_mean, "kl_mean")
    if not 0 < positive(drop, "drop") < 1:
        raise ValueError(f"drop must be in (0, 1), got {drop}")
    positive(level, "level", allow_zero=True)
    n = _count(min_resets, "min_resets", minimum=2)
    if kl.size < 4:
        return None
    median = float(np.median(kl))
    before = np.median(np.lib.stride_tricks.sliding_window_view(kl[:-1], 3), axis=1)  # before[i]: steps i..i+2
    after = kl[3:]
    hit = (before > 0) & (before >= level * median) & (after >= 0) & (after <= drop * before)
    drops = np.flatnonzero(hit) + 3
    drops = drops[np.diff(drops, prepend=-2) > 1]  # a run of adjacent drops is one fall
    if drops.size < n:
        return None
    gaps = np.diff(drops)
    period = float(np.median(gaps))
    slots = np.rint(gaps / period)  # how many schedule slots each gap spans (more than 1: a missed reset)
    on_schedule = bool((slots >= 1).all() and (np.abs(gaps - slots * period) <= max(1.0, 0.1 * period)).all())
    filled = drops.size >= 0.75 * (slots.sum() + 1)
    if period < 3 or not (on_schedule and filled):
        return None
    shown = ", ".join(str(int(d)) for d in drops[:8]) + (", …" if drops.size > 8 else "")
    return HealthWarning(
        "kl_resets", int(drops[n - 1]),
        f"The KL fell to {drop:.0%} or less of its level (the median of the 3 steps before) at logged steps "
        f"{shown} (counting from 0), on a schedule of every {period:g} steps: the reference is being moved towards "
        "the policy on a schedule (sync_ref_model, reference resets). The logged KL then counts only the drift "
        "since the last move, not the drift from the original model.",
    )


def no_learning_signal(frac_zero_std: Sequence[float], level: float = 0.9, window: int | None = None
                       ) -> HealthWarning | None:
    """Warn when almost every group's rewards are all equal (GRPO's ``frac_reward_zero_std`` near 1).

    A group-relative trainer (GRPO, RLOO, DAPO) scores each completion against the others drawn for the same
    prompt. If they all score alike, every advantage is 0 and only the KL term pushes the policy: nothing is
    learned from the reward, whatever β is. This fires at the first step where the running mean of the share
    of such groups over ``window`` steps reaches ``level``.

    Parameters
    ----------
    frac_zero_std : sequence of float, shape (T,)
        Share of prompt groups whose rewards have zero spread, per step, in [0, 1].
    level : float
        Running mean that counts as no signal, in (0, 1].
    window : int, optional
        Steps in the running mean, ≥ 1; default a fifth of the run.
    """
    frac = metric_series(frac_zero_std, "frac_reward_zero_std")
    if not 0 < positive(level, "level") <= 1:
        raise ValueError(f"level must be in (0, 1], got {level}")
    if frac.size == 0:
        return None
    w = _count(max(1, frac.size // 5) if window is None else window, "window")
    if frac.size < w:
        return None
    means = _running_mean(frac, w)
    hits = np.flatnonzero(means >= level - 1e-12)
    if hits.size == 0:
        return None
    step = int(hits[0]) + w - 1
    return HealthWarning(
        "no_learning_signal", step,
        f"By step {step}, {means[hits[0]]:.0%} of prompt groups ({w}-step mean) scored all alike: their "
        "advantages are 0, so the reward teaches nothing and only the KL term moves the policy. If they all fail, "
        "make the task reachable (easier prompts, a finer reward, more completions per prompt); if they all "
        "pass, the task is solved for this policy: move on to harder prompts.",
    )


def health_report(metrics: Mapping[str, Sequence[float]]) -> list[HealthWarning]:
    """Run every check whose inputs are in ``metrics``, with default thresholds.

    Parameters
    ----------
    metrics : mapping of str → sequence of float
        Per-step logs. Keys used: ``"kl_mean"`` and ``"kl_max"`` (nats),
        ``"reward_mean"``, ``"entropy"`` (nats) and ``"frac_reward_zero_std"``. Missing keys skip their checks;
        other keys are ignored. A series holding NaN or inf gets a ``nonfinite``
        warning and is left out of the other checks.

    Returns
    -------
    list of HealthWarning
        Ordered by step (ties keep the order of the checks); empty for a healthy log.
    """
    if not isinstance(metrics, Mapping):
        raise ValueError(f"metrics must be a mapping of metric name to per-step values, got {type(metrics).__name__}")
    usable: dict[str, Sequence[float]] = {}
    warnings: list[HealthWarning] = []
    for key in ("kl_mean", "kl_max", "reward_mean", "entropy", "frac_reward_zero_std"):
        if key in metrics:
            found = nonfinite(metrics[key], key)
            if found is None:
                usable[key] = metrics[key]
            else:
                warnings.append(found)
    if "kl_mean" in usable:
        warnings.append(kl_unbounded(usable["kl_mean"]))
        warnings.append(kl_negative(usable["kl_mean"]))
        warnings.append(kl_starts_high(usable["kl_mean"]))
        warnings.append(kl_resets(usable["kl_mean"]))
        if "kl_max" in usable:
            warnings.append(kl_spikes(usable["kl_max"], usable["kl_mean"]))
    if "reward_mean" in usable and "entropy" in usable:
        warnings.append(reward_up_entropy_down(usable["reward_mean"], usable["entropy"]))
    if "frac_reward_zero_std" in usable:
        warnings.append(no_learning_signal(usable["frac_reward_zero_std"]))
    return sorted((w for w in warnings if w is not None), key=lambda w: w.step)


if __name__ == "__main__":
    # ``python -m kl_lessons.monitor LOG`` reads a trainer's log and prints its report: the file formats live in
    # kl_lessons.run_logs, so that this module stays a library of checks on arrays.
    from kl_lessons.run_logs import main

    raise SystemExit(main())
