"""Self-checks for lesson 7 (the KL you differentiate).

Each function recomputes the answer from :mod:`kl_lessons` and returns a short message; a wrong
answer gets a hint that names the likely slip, never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..kl_gradients import RECIPES, expected_gradient, follow_recipe, local_kl_gradient
from ..toy_sequences import (
    exact_kl_gradient,
    jackpot_toy,
    sequence_kl,
    sequence_probs,
    tilted_sequence_policy,
    token_logprobs,
)
from . import _number, _shown

#: β of the lesson's training runs (reward units per nat).
LESSON_BETA = 0.3
#: How close a KL answer must be (nats); the exercise asks for 3 decimals.
KL_TOLERANCE = 1e-3


def _as_vector(answer: Any, shape: tuple[int, ...]) -> torch.Tensor | None:
    try:
        t = torch.as_tensor(answer, dtype=torch.float64).detach()
    except (TypeError, ValueError, RuntimeError, OverflowError):  # 10**400 overflows float64
        return None
    return t.reshape(shape) if t.numel() == math.prod(shape) and bool(torch.isfinite(t).all()) else None


def check_exact_recipe(answer: Any) -> str:
    """Check which recipe's on-policy expected gradient is the exact ∇KL(π‖π_ref) of a whole response.

    The check recomputes every recipe on a fresh random toy (4 tokens, 3 positions), so it does
    not depend on the lesson's numbers.
    """
    choice = str(answer).strip()
    if choice not in RECIPES:
        return f"Pick one of {', '.join(repr(r) for r in RECIPES)} (got {_shown(answer)})."
    toy = jackpot_toy(4, 3, seed=11)
    theta = toy.policy(1.0)
    exact = exact_kl_gradient(theta, toy.ref, toy.space)
    if torch.allclose(expected_gradient(theta, toy.ref, toy.space, choice), exact, atol=1e-10):
        return ("Correct: only the score function with the whole return-to-go charges a token for the KL "
                "of the tokens it leads to, so only it is the exact sequence gradient.")
    if choice == "k3_loss":
        return ("Not this one: per-token k3 in the loss follows Σ_h P_π(h)·(π(·|h) − π_ref(·|h)), a "
                "prefix-weighted forward KL, the other direction.")
    return ("Not this one: on-policy it follows each prefix's own KL with the prefix weights frozen "
            "(Tang & Munos's partial gradient). Which recipe lets a token see the KL that comes after it?")


def check_sequence_k2_gradient(grad: Any) -> str:
    """Check the on-policy expected gradient of *sequence-level* k2, ½(Σ_t log π − log π_ref)², at the lesson's policy.

    Parameters
    ----------
    grad : array-like, shape (13, 3)
        Your expected gradient for the lesson's toy (``toy.policy()``), nats per unit of logit.
    """
    toy = jackpot_toy()
    shape = toy.space.logits_shape
    g = _as_vector(grad, shape)
    if g is None:
        return f"Please pass a finite array of shape {shape} (one row per prefix), got {answer_repr(grad)}."
    theta = toy.policy(1.0)
    exact = exact_kl_gradient(theta, toy.ref, toy.space)
    if torch.allclose(g, exact, atol=1e-8):
        return ("Correct: ∇½(Σ_t ℓ_t)² = (Σ_t ℓ_t)·∇log π(y), the whole response's k1 times its score, so "
                "on average it is the exact ∇KL(π‖π_ref). Applied per token it would miss the future terms.")
    if torch.allclose(g, -exact, atol=1e-8):
        return "Close: the sign is flipped. The loss adds +β·k2, so its gradient points up the KL."
    if torch.allclose(g, 2 * exact, atol=1e-8):
        return "Close: twice the answer. k2 carries a factor ½."
    if torch.allclose(g, local_kl_gradient(theta, toy.ref, toy.space), atol=1e-8):
        return "Not yet: that is per-token k2, ½Σ_t ℓ_t². Square the sum of the log-ratios, not each one."
    if torch.allclose(g, _k2_attached(theta, toy.ref, toy.space, per_token=False), atol=1e-8):
        return ("Not yet: the weights π(y) are not detached, so autograd also differentiates the sampling and adds "
                "Σ_y ½(Σ_t ℓ_t)²·∇π(y). A trainer samples y, it does not differentiate through the draw: use "
                "sequence_probs(theta, space).detach().")
    if torch.allclose(g, _k2_attached(theta, toy.ref, toy.space, per_token=True), atol=1e-8):
        return ("Not yet, two slips: the weights π(y) are not detached (use .detach(): y is sampled, not "
                "differentiated), and the square is per token. Square the sum of the log-ratios.")
    unweighted = _k2_unweighted(theta, token_logprobs(toy.ref, toy.space), toy.space)
    if torch.allclose(g, unweighted, atol=1e-8):
        return "Not yet: weight each response's gradient by π(y) (detached): the expectation is over y ~ π."
    return "Not yet: differentiate Σ_y π(y)·½(Σ_t ℓ_t(y))² with π(y) detached, and compare with exact_kl_gradient."


def _k2_attached(theta: torch.Tensor, ref: torch.Tensor, space: Any, per_token: bool) -> torch.Tensor:
    """The slip of differentiating Σ_y π(y)·k2(y) with π(y) left attached to the graph."""
    t = theta.clone().requires_grad_(True)
    ell = token_logprobs(t, space) - token_logprobs(ref, space)
    k2 = 0.5 * (ell.square().sum(-1) if per_token else ell.sum(-1).square())
    (grad,) = torch.autograd.grad((sequence_probs(t, space) * k2).sum(), t)
    return grad


def _k2_unweighted(theta: torch.Tensor, lr: torch.Tensor, space) -> torch.Tensor:
    t = theta.clone().requires_grad_(True)
    lp = token_logprobs(t, space)
    (grad,) = torch.autograd.grad((0.5 * (lp - lr).sum(-1).square()).sum(), t)
    return grad


def answer_repr(answer: Any) -> str:
    """A short description of what the learner passed."""
    shape = getattr(answer, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else type(answer).__name__


def check_one_token_k3(answer: Any) -> str:
    """Check the expected gradient of k3 in the loss for the one-token toy (``jackpot_toy(3, 1)``), shape (3,)."""
    toy = jackpot_toy(3, 1)
    g = _as_vector(answer, (3,))
    if g is None:
        return f"Please pass 3 finite numbers, one per token logit (got {answer_repr(answer)})."
    theta = toy.policy(1.0)
    pi, ref = torch.softmax(theta[0], -1), torch.softmax(toy.ref[0], -1)
    if torch.allclose(g, pi - ref, atol=1e-6):
        return "Correct: E[∇k3] = Σ_y (π − π_ref)·∇log π = π − π_ref, the gradient of KL(π_ref‖π)."
    if torch.allclose(g, ref - pi, atol=1e-6):
        return "Close: the sign is flipped. The gradient of the penalty points away from π_ref: π − π_ref."
    if torch.allclose(g, exact_kl_gradient(theta, toy.ref, toy.space)[0], atol=1e-6):
        return "Not this one: that is ∇KL(π‖π_ref), what k1 in the reward follows. k3 in the loss follows the other direction."
    return "Not yet: write ∇k3 = (1 − π_ref(y)/π(y))·∇log π(y), average over y ~ π, and use ∇log π(y) = e_y − π."


def k3_landing_kl() -> float:
    """KL(π‖π_ref) in nats where per-token k3 in the loss settles on the lesson's jackpot toy at β = 0.3."""
    toy = jackpot_toy()
    theta = follow_recipe(toy.ref, toy.space, toy.rewards, LESSON_BETA, "k3_loss")
    return float(sequence_kl(theta, toy.ref, toy.space))


def check_k3_landing(answer: Any) -> str:
    """Check KL(π‖π_ref), in nats summed over the response, where k3 in the loss settles (β = 0.3)."""
    if answer is Ellipsis:
        return "Fill in your answer first: replace the ... with a number of nats, such as 1.234."
    value = _number(answer)
    if value is None:
        return f"Please pass a number of nats, such as 1.234 (got {_shown(answer)})."
    if not math.isfinite(value) or value < 0:
        return "A KL is a finite number ≥ 0."
    toy = jackpot_toy()
    target = k3_landing_kl()
    if abs(value - target) <= KL_TOLERANCE:
        tilted = tilted_sequence_policy(toy.ref, toy.space, toy.rewards, LESSON_BETA)
        ref = sequence_probs(toy.ref, toy.space)
        best = float((tilted * (tilted / ref).log()).sum())
        return f"Correct: {target:.3f} nats, about {target / best:.1f}× the {best:.3f} nats of the optimum π_β."
    theta = follow_recipe(toy.ref, toy.space, toy.rewards, LESSON_BETA, "k3_loss")
    if abs(value - float(sequence_kl(toy.ref, theta, toy.space))) <= KL_TOLERANCE:
        return "Not this one: that is KL(π_ref‖π). The penalty we meant is KL(π‖π_ref), the policy first."
    if abs(value * toy.space.length - target) <= KL_TOLERANCE * toy.space.length:
        return "Close: that is per token. The lesson's KL is summed over the response's 3 tokens."
    tilted = tilted_sequence_policy(toy.ref, toy.space, toy.rewards, LESSON_BETA)
    ref = sequence_probs(toy.ref, toy.space)
    if abs(value - float((tilted * (tilted / ref).log()).sum())) <= KL_TOLERANCE:
        return "Not this one: that is where the exact recipe lands (π_β). Train with recipe 'k3_loss' instead."
    return f"Not yet: train with follow_recipe(..., {LESSON_BETA}, 'k3_loss') and measure sequence_kl(theta, toy.ref, toy.space)."


def check_ratio_weights(answer: Any) -> str:
    """Check whose prefix probabilities weight the ratio × k3 recipe's expected gradient off-policy.

    Parameters
    ----------
    answer : {"current", "old", "reference"}
    """
    choice = str(answer).strip().lower()
    options = {"current": None, "old": "old", "reference": "ref"}
    if choice not in options:
        return f"Pick one of 'current', 'old' or 'reference' (got {_shown(answer)})."
    toy = jackpot_toy(3, 3, seed=5)
    theta = toy.policy(1.0)
    weights = {None: None, "old": toy.old, "ref": toy.ref}[options[choice]]
    guess = local_kl_gradient(theta, toy.ref, toy.space, weights)
    if torch.allclose(expected_gradient(theta, toy.ref, toy.space, "k3_ratio_loss", toy.old), guess, atol=1e-10):
        return ("Correct: the per-token ratio fixes each token's own distribution, but the prefixes still "
                "arrive as π_old wrote them. Only a product of ratios over the prefix would reweight them.")
    if choice == "current":
        return "Not this one: that would need the ratio of the whole prefix, π(y_<t)/π_old(y_<t); the trainer uses one token's."
    return "Not this one: π_ref never samples anything here. Who wrote the responses in the batch?"


__all__ = [
    "check_exact_recipe",
    "check_k3_landing",
    "check_one_token_k3",
    "check_ratio_weights",
    "check_sequence_k2_gradient",
    "k3_landing_kl",
]
