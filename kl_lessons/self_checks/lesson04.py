"""Lesson 4 self-check: find the β whose exact optimum spends a given KL budget."""

from __future__ import annotations

import math

from ..toy_responses import toy_frontier_table


def check_beta_for_kl(beta: float, target_kl: float = 2.0, rel_tol: float = 0.01) -> str:
    """Say whether KL(π_β‖π_ref) on the toy's proxy reward hits ``target_kl`` (nats).

    Parameters
    ----------
    beta : float
        The learner's β (reward units per nat), > 0.
    target_kl : float
        The KL budget in nats, strictly between 0 and the β → 0 limit (about 6.36 nats).
    rel_tol : float
        Accepted relative error on the KL.

    Returns
    -------
    str
        A short message: ✅ with the KL reached, or a hint which way to move β.
    """
    try:
        b = float(beta)
    except Exception:  # noqa: BLE001 - any answer that is not a number gets advice, not a traceback
        return f"❌ beta must be a number, got {beta!r}."
    if not math.isfinite(b) or b <= 0:
        return f"❌ beta must be a positive, finite number (reward units per nat), got {b}."
    try:
        _, kl = toy_frontier_table([b])
        reached = float(kl[0])
        target_kl, rel_tol = float(target_kl), float(rel_tol)
    except (TypeError, ValueError, OverflowError) as err:
        return f"❌ could not check β = {b:.4g}: {err}"
    if abs(reached - target_kl) <= rel_tol * target_kl:
        return f"✅ β = {b:.4g} gives KL = {reached:.4f} nats, on target ({target_kl:g} nats)."
    # KL falls as β grows, so too much KL means β is too small.
    direction = "raise" if reached > target_kl else "lower"
    return (f"Not yet: β = {b:.4g} gives KL = {reached:.4f} nats, target {target_kl:g}. "
            f"KL falls as β grows, so {direction} β.")


__all__ = ["check_beta_for_kl"]
