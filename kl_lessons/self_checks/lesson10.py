"""Self-checks for lesson 10: diagnose each casebook trace, the check that tells its fault and one number.

The expected answers are computed from the stored traces by :mod:`kl_lessons.run_logs` (one source: the same
numbers the notebook prints); the checks never raise for a wrong answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import casebook
from ..monitor import __all__ as _MONITOR_NAMES
from ..run_logs import RunLog, check_run, late_level
from . import _finite_answer, _shown

#: What a learner may name as the diagnosis: a monitor check, or "none" for a run with nothing to flag.
CHECK_NAMES = tuple(n for n in _MONITOR_NAMES if n not in ("HealthWarning", "health_report", "nonfinite")) + ("none",)


@dataclass(frozen=True)
class Question:
    """The number a case asks for: what it is, its unit, how to compute it from the trace, and its tolerance."""

    asks: str
    unit: str
    value: Callable[[RunLog], float]
    rel: float = 0.0
    abs: float = 0.0
    hint: str = ""


def _reset_period(run: RunLog) -> float:
    """The schedule of the resets, as the monitor's kl_resets warning states it."""
    found = [re.search(r"every (\d+) steps", w.message) for w in check_run(run) if w.check == "kl_resets"]
    return float(found[0].group(1)) if found and found[0] else math.nan


QUESTIONS: dict[str, Question] = {
    "negative_kl": Question("the share of steps whose mean KL is below 0", "",
                            lambda r: float((r.metrics["kl_mean"] < 0).mean()), abs=0.5 / 60,
                            hint="Count the steps with kl_mean < 0 and divide by the number of steps."),
    "k3_overflow": Question("the largest per-sequence KL any step logged", "nats per sequence",
                            lambda r: float(r.metrics["kl_max"].max()), rel=0.01,
                            hint="It is the maximum of kl_max over the run, not of kl_mean."),
    "per_token_units": Question("the KL per sequence late in the run (median of the last tenth of the steps)",
                                "nats per sequence", lambda r: late_level(r.metrics["kl_mean"]), rel=0.03,
                                hint="Per token times the mean response length (response_length/mean)."),
    "trust_region_kl": Question("the KL to the reference per sequence late in the run (median of the last tenth)",
                                "nats per sequence", lambda r: late_level(r.metrics["kl_mean"]), rel=0.03,
                                hint="Use train/kl (not train/ppo_kl), times train/response_length."),
    "beta_zero": Question("the entropy late in the run (median of the last tenth)", "nats per token",
                          lambda r: late_level(r.metrics["entropy"]), rel=0.05,
                          hint="Read the entropy column: the reward climbs while it falls."),
    "wrong_reference": Question("the KL at the first step", "nats per token",
                                lambda r: float(r.metrics["kl_per_token"][0]), rel=0.01,
                                hint="The first row's kl, per token as TRL logs it."),
    "reference_sync": Question("how many steps apart the KL falls back", "steps", _reset_period, abs=0.0,
                               hint="Find the steps where the kl drops to a fraction of its level."),
    "no_signal": Question("the mean share of groups whose rewards are all equal", "",
                          lambda r: float(np.mean(r.metrics["frac_reward_zero_std"])), abs=0.02,
                          hint="Average frac_reward_zero_std over the steps."),
}


def expected(name: str) -> tuple[str, float]:
    """The check that tells case ``name``'s fault (``"none"`` if nothing is broken) and its number."""
    entry = casebook.case(name)
    if name not in QUESTIONS:
        raise ValueError(f"name must be a case with a question, one of {sorted(QUESTIONS)}; got {name!r}")
    return entry.sign or "none", QUESTIONS[name].value(casebook.read_case(name))


def check_case(name: str, check: object, number: object) -> str:
    """Check a diagnosis of casebook case ``name``: the monitor's check that tells its fault, and one number.

    ``check`` is a check's name (``"kl_negative"``, ``"kl_spikes"``…) or ``"none"`` when nothing is broken;
    ``number`` is the number the case asks for (see :data:`QUESTIONS`).
    """
    if name not in QUESTIONS:
        return f"Pick one of the cases: {', '.join(sorted(QUESTIONS))} (got {_shown(name)})."
    question = QUESTIONS[name]
    sign, value = expected(name)
    if check is ... or number is ...:
        return f"Fill in both answers: the check that tells this fault (one of {', '.join(CHECK_NAMES)}), and {question.asks}."
    if not isinstance(check, str) or check not in CHECK_NAMES:
        return f"Not yet: name the diagnosis as one of {', '.join(CHECK_NAMES)}; got {_shown(check)}."
    got = _finite_answer(number)
    unit = f"in {question.unit}" if question.unit else "from 0 to 1"
    if got is None:
        return f"Not yet: {question.asks} is one finite number ({unit}); got {_shown(number)}."
    right_number = math.isclose(got, value, rel_tol=question.rel, abs_tol=question.abs + 1e-12)
    if check != sign:
        extra = " The number is right." if right_number else ""
        flagged = casebook.case(name).diagnosis
        if check in flagged:
            return (f"Not yet: the monitor flags {check} here too, but it is not the sign of this case's fault. Which "
                    f"curve shows the fault itself?{extra}")
        return f"Not yet: {check!r} is not what tells this case. Read the log again: does any curve misbehave, and which?{extra}"
    if not right_number:
        return f"The diagnosis is right. The number is not yet: {question.asks}, {unit}. {question.hint}"
    return f"Correct: {sign}, and {value:.4g} {question.unit}".rstrip() + "."


__all__ = ["CHECK_NAMES", "QUESTIONS", "Question", "check_case", "expected"]
