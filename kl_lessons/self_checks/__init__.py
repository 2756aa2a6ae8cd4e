"""Self-check functions that learners call from the exercises, one module per lesson.

Each returns a short, friendly message and raises nothing for a wrong answer,
so a learner can try again without a traceback.
"""

import math


def _number(x: object) -> float | None:
    """A learner's answer as one float (perhaps inf or nan), or ``None`` when it is not one number.

    A number, a 0-d tensor or array, a one-element one, or a number written as text (``"0.123"``, as printed with
    ``f"{kl:.3f}"``). Never a truth value: ``True`` would otherwise count as 1, so a comparison passed by mistake
    could be marked right. Never a complex number, whose imaginary part ``float`` would drop.
    """
    try:
        if any(kind in str(getattr(x, "dtype", "")) for kind in ("bool", "complex")):
            return None
        if callable(getattr(x, "item", None)):  # numpy and torch scalars, one-element arrays and tensors
            x = x.item()  # type: ignore[union-attr]
        if isinstance(x, (bool, complex, bytes, bytearray, memoryview)):
            return None
        return float(x)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - many values, None, objects that fail on the way: all just "not a number"
        return None


def _finite_answer(x: object) -> float | None:
    """A learner's answer as a finite float, or ``None`` (any answer that is not one gets advice, not a traceback)."""
    v = _number(x)
    return v if v is not None and math.isfinite(v) else None


def _shown(answer: object) -> str:
    """A learner's answer as a short string for a message, however long (or broken) its repr."""
    try:
        text = repr(answer)
    except Exception:  # noqa: BLE001 - a message must never fail
        text = f"a {type(answer).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def _unfilled(*answers: object) -> bool:
    """True when a starter cell was run with its ``...`` placeholders still in."""
    return any(answer is Ellipsis for answer in answers)
