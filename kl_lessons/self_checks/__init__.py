"""Self-check functions that learners call from the exercises, one module per lesson.

Each returns a short, friendly message and raises nothing for a wrong answer,
so a learner can try again without a traceback.
"""

import math


def _finite_answer(x: object) -> float | None:
    """A learner's answer as a finite float, or ``None`` (any answer that is not one gets advice, not a traceback)."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - strings, huge ints, tensors of many values: all just "not a number"
        return None
    return v if math.isfinite(v) else None


def _unfilled(*answers: object) -> bool:
    """True when a starter cell was run with its ``...`` placeholders still in."""
    return any(answer is Ellipsis for answer in answers)
