"""Self-checks for lesson 3 (the KL-shaped reward).

Each function returns a short message; a wrong answer gets a hint, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..response_batch import cafe_review_batch
from ..kl_in_loss import expected_estimator_gradient, reverse_kl_gradient

#: How close a β answer must be (reward units per nat); the exercise asks for 3 decimals.
BETA_TOLERANCE = 1e-3


def overtake_beta(winner: str = "C", loser: str = "A") -> float:
    """The β at which ``winner``'s shaped total catches up with ``loser``'s in the café batch.

    Solves s_w − β·K_w = s_l − β·K_l for β, with K the summed per-token k1 in nats.
    """
    batch = cafe_review_batch()
    for name, label in (("winner", winner), ("loser", loser)):
        if label not in batch.labels:
            raise ValueError(f"{name} must be one of the batch's labels {tuple(batch.labels)}, got {label!r}")
    if winner == loser:
        raise ValueError(f"winner and loser must differ, got {winner!r} twice")
    i, j = batch.labels.index(winner), batch.labels.index(loser)
    kl, s = batch.kl_totals(), batch.scores
    return float((s[j] - s[i]) / (kl[j] - kl[i]))


def check_overtake_beta(answer: Any) -> str:
    """Check the β (reward units per nat) at which review C overtakes review A.

    Parameters
    ----------
    answer : float
        Your β, to three decimals.

    Returns
    -------
    str
        "Correct" with the reason, or a hint.
    """
    try:
        beta = float(answer)
    except Exception:  # noqa: BLE001 - any answer that is not a number gets advice, not a traceback
        return f"Please pass a number, such as 0.123 (got {answer!r})."
    if not math.isfinite(beta) or beta < 0:
        return "β is a finite number ≥ 0: a stiffer rubber band, never a negative one."
    target = overtake_beta("C", "A")
    if abs(beta - target) <= BETA_TOLERANCE:
        return (
            f"Correct: β* = (s_A − s_C) / (Σkl_A − Σkl_C) = {target:.4f}. Above it, A's extra "
            "score no longer pays for its extra nats."
        )
    if beta > 1 and abs(1 / beta - target) <= BETA_TOLERANCE:
        return "Close: that is the reciprocal. β is reward per nat, so the score gap goes on top."
    try:
        totals = cafe_review_batch().shaped_totals(beta)
    except ValueError as err:  # e.g. a β so large that β·KL overflows
        return f"Not yet: β = {beta:.4g} is far too large to check ({err}). Try a number near 0.1."
    a, c = float(totals[0]), float(totals[2])
    side = "A is still ahead, so go higher" if a > c else "C is already ahead, so go lower"
    return f"Not yet: at β = {beta:.4f}, A totals {a:+.3f} and C totals {c:+.3f}; {side}."


def check_loss_estimator(answer: Any) -> str:
    """Check which estimator, differentiated directly in the loss, follows ∇KL(π‖π_ref) on average.

    The check does not store the answer: it computes each estimator's expected
    loss gradient on a random toy policy and compares it with the exact gradient.

    Parameters
    ----------
    answer : {"k1", "k2", "k3"}
        Your choice.
    """
    choice = answer.strip().lower() if isinstance(answer, str) else ""
    if choice not in ("k1", "k2", "k3"):
        return f"Pick one of 'k1', 'k2' or 'k3' (got {answer!r})."
    gen = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(5, generator=gen, dtype=torch.float64)
    ref = torch.softmax(torch.randn(5, generator=gen, dtype=torch.float64), -1)
    exact = reverse_kl_gradient(logits, ref)
    expected = expected_estimator_gradient(logits, ref, "loss", choice)
    if torch.allclose(expected, exact, atol=1e-10):
        return (
            "Correct: ∇½(log π − log π_ref)² = (log π − log π_ref)·∇log π, which is k1-in-the-reward's "
            "score-function term, sample by sample, so its mean is ∇KL(π‖π_ref)."
        )
    if choice == "k1":
        return "Not this one: ∇log π(y) averages to zero under π, so k1 in the loss pushes nowhere on average."
    return "Not this one: k3 in the loss averages to π − π_ref, the gradient of KL(π_ref‖π), the other direction."
