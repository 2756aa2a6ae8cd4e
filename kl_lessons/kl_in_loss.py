"""Lesson 3: KL in the reward versus KL in the loss, on a toy categorical policy.

The policy is π_θ = softmax(θ) over K outcomes and π_ref is a fixed probability
vector. A sample y is drawn from π_θ and held fixed. Two ways to push π_θ back
towards π_ref then give two per-sample gradients with respect to the logits θ:

* **KL in the reward** (PPO, RLOO): the estimate k(y) is a number that enters
  the reward, so its gradient comes through the score function,
  ``g(y) = k(y) · ∇θ log π_θ(y)`` with k(y) held constant;
* **KL in the loss** (GRPO): β·k(y) is added to the loss and differentiated
  directly, ``g(y) = ∇θ k(y)``, through the log-probabilities inside k.

Averaged over y ~ π_θ, the first with k1 is exactly ∇θ KL(π_θ‖π_ref). The second
with k3 is ∇θ KL(π_ref‖π_θ), the other direction, whose gradient in the logits is
simply π_θ − π_ref (Tang & Munos, 2025). All KL values are in nats; all gradients
are in nats per unit of logit.
"""

from __future__ import annotations

from typing import Literal

import torch

from ._validate import as_probs, as_tensor, check_finite_result, count, outcome_indices, positive, seed as as_seed
from .estimators import check_estimator, kl_estimate, weighted_kl_terms
from .types import ArrayLike

#: Where the KL estimate enters training: the reward (score function) or the loss (differentiated directly).
PLACEMENTS = ("reward", "loss")

Placement = Literal["reward", "loss"]


def _ref(ref_probs: ArrayLike) -> torch.Tensor:
    """π_ref: a probability vector of at least 2 outcomes, every entry > 0."""
    ref = as_probs(ref_probs, "ref_probs")
    if ref.ndim != 1 or ref.numel() < 2:
        raise ValueError(f"ref_probs must be a vector of at least 2 outcomes, got shape {tuple(ref.shape)}")
    # softmax gives every outcome some mass, so a zero in π_ref would make KL(π‖π_ref) infinite.
    if bool((ref <= 0).any()):
        raise ValueError("ref_probs must be > 0 for every outcome (KL(π‖π_ref) is infinite otherwise)")
    return ref


def _logits_and_ref(logits: ArrayLike, ref_probs: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    theta = as_tensor(logits, "logits").to(torch.float64)
    if theta.ndim != 1 or theta.numel() < 2:
        raise ValueError(f"logits must be a vector of at least 2 outcomes, got shape {tuple(theta.shape)}")
    ref = _ref(ref_probs)
    if ref.shape != theta.shape:
        raise ValueError(f"ref_probs has shape {tuple(ref.shape)} but logits has shape {tuple(theta.shape)}")
    return theta, ref


def _check_placement(placement: str, estimator: str) -> None:
    if not isinstance(placement, str) or placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    check_estimator(estimator)


def _per_sample_gradients(
    theta: torch.Tensor, log_ref: torch.Tensor, y: torch.Tensor, placement: str, estimator: str
) -> torch.Tensor:
    """Unchecked core of :func:`estimator_gradients` (inputs already validated)."""
    # Each sample gets its own copy of the logits, so one backward pass returns one gradient per sample.
    copies = theta.expand(y.numel(), -1).clone().requires_grad_(True)
    logp = torch.log_softmax(copies, -1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
    k = kl_estimate(logp, log_ref[y], estimator)  # autograd flows through it, as the loss placement needs
    # In the reward, k is a number (detached): only log π(y) carries the gradient.
    surrogate = k.detach() * logp if placement == "reward" else k
    (grads,) = torch.autograd.grad(surrogate.sum(), copies)
    return check_finite_result(grads, f"the {estimator}-in-the-{placement} gradient",
                               "a sample is far less likely under the policy than under the reference")


def _expected_gradient(theta: torch.Tensor, log_ref: torch.Tensor, placement: str, estimator: str) -> torch.Tensor:
    """Σ_y π(y)·g(y), by one backward pass through a π-weighted surrogate (π held constant).

    Weighting inside the surrogate, with k3's π·r computed as exp(log π + log r), keeps
    outcomes whose probability underflows (logit gaps of 750 and more) exact instead
    of 0·inf = NaN: π(y)·r(y) is π_ref(y), however small π(y) is.
    """
    theta = theta.detach().requires_grad_(True)
    logp = torch.log_softmax(theta, -1)
    pi, log_pi = logp.detach().exp(), logp.detach()
    if placement == "reward":  # Σ π·k held constant, times ∇log π
        with torch.no_grad():
            weight = weighted_kl_terms(pi, log_pi, log_ref, estimator, log_weights=log_pi)
        surrogate = (weight * logp).sum()
    else:  # Σ π·∇k: differentiate k through log π with the weight π held constant
        surrogate = weighted_kl_terms(pi, logp, log_ref, estimator, log_weights=log_pi).sum()
    (grad,) = torch.autograd.grad(surrogate, theta)
    return check_finite_result(grad, f"the expected {estimator}-in-the-{placement} gradient")


def _exact_kl_gradient(logits: ArrayLike, ref_probs: ArrayLike, *, policy_first: bool) -> torch.Tensor:
    """∇θ of the exact KL(π_θ‖π_ref) (``policy_first``) or KL(π_ref‖π_θ), by autograd."""
    theta, ref = _logits_and_ref(logits, ref_probs)
    theta = theta.clone().requires_grad_(True)
    logp, log_ref = torch.log_softmax(theta, -1), ref.log()
    # KL(P‖Q) is the exact P-weighted mean of k1 = log p − log q. It is built from log-probabilities
    # rather than with kl_divergence, which takes probabilities: once softmax underflows to 0
    # (logit gaps beyond about 745) its gradient turns NaN, while log_softmax keeps it finite.
    if policy_first:
        kl = (logp.exp() * kl_estimate(logp, log_ref, "k1")).sum()
    else:
        kl = (ref * kl_estimate(log_ref, logp, "k1")).sum()
    (grad,) = torch.autograd.grad(kl, theta)
    return grad


def draw_samples(logits: ArrayLike, n: int, seed: int = 0) -> torch.Tensor:
    """Draw ``n`` outcomes from π_θ = softmax(logits), reproducibly.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ.
    n : int
        Number of samples, ≥ 1.
    seed : int
        Seed of the private generator, so the caller's global RNG is untouched.

    Returns
    -------
    torch.Tensor, shape (n,), int64
        Outcome indices in [0, K).
    """
    theta = as_tensor(logits, "logits").to(torch.float64)
    if theta.ndim != 1:
        raise ValueError(f"logits must be a vector, got shape {tuple(theta.shape)}")
    draws = count(n, "n", maximum=_MAX_DRAWS)
    gen = torch.Generator().manual_seed(as_seed(seed))
    return torch.multinomial(torch.softmax(theta, -1), draws, replacement=True, generator=gen)


#: ``torch.multinomial`` draws at most 2**24 samples per call.
_MAX_DRAWS = 2**24


def reverse_kl_gradient(logits: ArrayLike, ref_probs: ArrayLike) -> torch.Tensor:
    """Exact ∇θ KL(π_θ‖π_ref) by autograd: the gradient RLHF's penalty means to follow.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ; π_θ = softmax(θ).
    ref_probs : array-like, shape (K,)
        π_ref, a probability vector with every entry > 0.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        The gradient in nats per unit of logit. In closed form it is
        π ⊙ (ℓ − KL) with ℓ = log π − log π_ref.
    """
    return _exact_kl_gradient(logits, ref_probs, policy_first=True)


def forward_kl_gradient(logits: ArrayLike, ref_probs: ArrayLike) -> torch.Tensor:
    """Exact ∇θ KL(π_ref‖π_θ) by autograd: the *other* direction, which k3-in-the-loss follows.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ; π_θ = softmax(θ).
    ref_probs : array-like, shape (K,)
        π_ref, a probability vector with every entry > 0.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        The gradient in nats per unit of logit; in closed form π_θ − π_ref.
    """
    return _exact_kl_gradient(logits, ref_probs, policy_first=False)


def estimator_gradients(
    logits: ArrayLike,
    ref_probs: ArrayLike,
    samples: ArrayLike,
    placement: Placement,
    estimator: str = "k1",
) -> torch.Tensor:
    """One gradient per sample of a KL estimate placed in the reward or in the loss.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ; the samples are assumed drawn from softmax(θ).
    ref_probs : array-like, shape (K,)
        π_ref, a probability vector with every entry > 0.
    samples : array-like of int, shape (n,)
        Outcome indices y_i, held fixed (no gradient flows through sampling).
    placement : {"reward", "loss"}
        ``"reward"``: g_i = k(y_i) · ∇θ log π_θ(y_i), with k(y_i) held constant
        (how PPO and RLOO see a KL term inside the reward).
        ``"loss"``: g_i = ∇θ k(y_i), differentiating through k (how GRPO
        sees β·k3 added to its loss).
    estimator : {"k1", "k2", "k3"}
        Which single-sample KL estimate k is used.

    Returns
    -------
    torch.Tensor, shape (n, K), float64
        Row i is sample i's gradient in nats per unit of logit. Their mean is a
        Monte Carlo estimate of what that placement follows in expectation.
    """
    theta, ref = _logits_and_ref(logits, ref_probs)
    _check_placement(placement, estimator)
    y = outcome_indices(samples, theta.numel())
    return _per_sample_gradients(theta, ref.log(), y, placement, estimator)


def expected_estimator_gradient(
    logits: ArrayLike, ref_probs: ArrayLike, placement: Placement, estimator: str = "k1"
) -> torch.Tensor:
    """The exact mean of :func:`estimator_gradients` over y ~ π_θ, with no sampling.

    It sums every outcome's gradient weighted by its probability, Σ_y π_θ(y)·g(y),
    so it is what infinitely many samples would average to.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        The expected gradient in nats per unit of logit.
    """
    theta, ref = _logits_and_ref(logits, ref_probs)
    _check_placement(placement, estimator)
    return _expected_gradient(theta, ref.log(), placement, estimator)


def follow_expected_gradient(
    ref_probs: ArrayLike,
    rewards: ArrayLike,
    kl_coef: float,
    placement: Placement,
    estimator: str = "k1",
    steps: int = 1000,
    lr: float = 1.0,
) -> torch.Tensor:
    """Train the toy policy with exact expected gradients and return where it settles.

    Starting from a copy of the reference (θ = log π_ref, as RLHF starts), each step
    moves the logits along ∇θ E_π[r] − β·E[g], where g is the KL term's gradient for
    the given placement and estimator (see :func:`estimator_gradients`). Using exact
    expectations removes sampling noise, so the end point shows which objective
    each placement really optimises.

    Parameters
    ----------
    ref_probs : array-like, shape (K,)
        π_ref, every entry > 0.
    rewards : array-like, shape (K,)
        Reward of each outcome, in reward units.
    kl_coef : float
        β > 0, in reward units per nat.
    placement : {"reward", "loss"}
        Where the KL estimate enters training.
    estimator : {"k1", "k2", "k3"}
        Which single-sample estimate.
    steps : int
        Number of plain gradient-ascent steps.
    lr : float
        Step size in logits per unit of gradient.

    Returns
    -------
    torch.Tensor, shape (K,), float64
        The policy's probabilities after ``steps`` steps.
    """
    ref = _ref(ref_probs)
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if r.shape != ref.shape:
        raise ValueError(f"rewards has shape {tuple(r.shape)} but ref_probs has shape {tuple(ref.shape)}")
    beta = positive(kl_coef, "kl_coef")
    rate = positive(lr, "lr")
    n_steps = count(steps, "steps")
    _check_placement(placement, estimator)
    theta = log_ref = ref.log()
    for _ in range(n_steps):
        pi = torch.softmax(theta, -1)
        # ∇θ E_π[r] for softmax logits: π ⊙ (r − E_π[r]).
        reward_grad = pi * (r - pi @ r)
        theta = theta + rate * (reward_grad - beta * _expected_gradient(theta, log_ref, placement, estimator))
    return check_finite_result(torch.softmax(theta, -1), "the policy",
                               "the steps diverged; lower lr, kl_coef or the rewards' scale")
