"""Lesson 3's policy-gradient primer: REINFORCE, a baseline, PPO's clipped ratio, GRPO's group advantage.

The policy is π_θ = softmax(θ) over K outcomes (one prompt, K possible responses), and
``rewards[y]`` is the score of response y. The expected reward J(θ) = Σ_y π_θ(y)·r(y)
has the gradient E_{y~π}[(r(y) − b)·∇θ log π_θ(y)] for any baseline b that does not
depend on y (the score-function or REINFORCE form), and for a softmax policy
∇θ log π_θ(y) = e_y − π_θ. The functions here give that gradient exactly and per
sample, PPO's clipped surrogate, and GRPO's group-standardised advantages. Gradients are
in reward units per unit of logit.
"""

from __future__ import annotations

import torch

from ._validate import as_tensor, check_finite_result, finite, positive
from ._validate import outcome_indices
from .types import ArrayLike

#: What TRL's GRPOTrainer (1.16.0) adds to a group's standard deviation before dividing by it.
GROUP_STD_EPS = 1e-4


def _logits_and_rewards(logits: ArrayLike, rewards: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    theta = as_tensor(logits, "logits").to(torch.float64)
    if theta.ndim != 1 or theta.numel() < 2:
        raise ValueError(f"logits must be a vector of at least 2 outcomes, got shape {tuple(theta.shape)}")
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if r.shape != theta.shape:
        raise ValueError(f"rewards has shape {tuple(r.shape)} but logits has shape {tuple(theta.shape)}")
    return theta, r


def expected_policy_gradient(logits: ArrayLike, rewards: ArrayLike, baseline: float = 0.0) -> torch.Tensor:
    """The exact REINFORCE gradient Σ_y π(y)·(r(y) − b)·∇θ log π(y), with no sampling.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ.
    rewards : array-like, shape (K,)
        The reward of each outcome.
    baseline : float
        A number b subtracted from every reward. It does not change the result, because
        Σ_y π(y)·∇log π(y) = ∇Σ_y π(y) = 0; it is here so that this can be shown.

    Returns
    -------
    torch.Tensor, shape (K,)
        ∇θ E_π[r], computed as π ⊙ (r − b) − π·Σ_y π(y)(r(y) − b).
    """
    theta, r = _logits_and_rewards(logits, rewards)
    advantage = r - finite(baseline, "baseline")
    pi = torch.softmax(theta, -1)
    # Σ_y π(y)·A(y)·(e_y − π), written out for a softmax policy.
    return check_finite_result(pi * advantage - pi * (pi @ advantage), "the policy gradient")


def sampled_policy_gradients(
    logits: ArrayLike, rewards: ArrayLike, samples: ArrayLike, baseline: float = 0.0
) -> torch.Tensor:
    """One REINFORCE gradient per sampled outcome: (r(y) − b)·∇θ log π(y), by autograd.

    Parameters
    ----------
    logits : array-like, shape (K,)
        The policy's logits θ.
    rewards : array-like, shape (K,)
        The reward of each outcome.
    samples : array-like of int, shape (n,)
        Outcome indices in [0, K), drawn from π (e.g. with :func:`kl_lessons.kl_in_loss.draw_samples`).
        Passing every outcome once gives the gradient each outcome would contribute.
    baseline : float
        The number b subtracted from every reward.

    Returns
    -------
    torch.Tensor, shape (n, K)
        Row i is the gradient that sample i contributes; their mean estimates :func:`expected_policy_gradient`.
    """
    theta, r = _logits_and_rewards(logits, rewards)
    y = outcome_indices(samples, theta.numel())
    advantage = (r - finite(baseline, "baseline"))[y]
    # One copy of the logits per sample, so one backward pass returns one gradient per sample.
    copies = theta.expand(y.numel(), -1).clone().requires_grad_(True)
    logp = torch.log_softmax(copies, -1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
    (grads,) = torch.autograd.grad((advantage * logp).sum(), copies)  # the reward is a number: no gradient
    return check_finite_result(grads, "the sampled policy gradients")


def clipped_surrogate(ratio: ArrayLike, advantages: ArrayLike, clip_eps: float = 0.2) -> torch.Tensor:
    """PPO's clipped objective per sample: min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A), to be maximised.

    Parameters
    ----------
    ratio : array-like
        ρ = π_θ(y) / π_old(y) of each sample (> 0). Autograd flows through it if it requires grad.
    advantages : array-like, same shape
        The advantage A of each sample, held fixed.
    clip_eps : float
        ε, in (0, 1); PPO's usual value is 0.2.

    Returns
    -------
    torch.Tensor, same shape
        The per-sample objective. Where ρ is outside [1 − ε, 1 + ε] on the side that would raise ρ·A,
        the clipped term is the minimum and its gradient with respect to ρ is zero.
    """
    rho = as_tensor(ratio, "ratio")  # a floating tensor is kept as it is, so autograd flows through it
    if bool((rho.detach() <= 0).any()):
        raise ValueError("ratio must be > 0: it is π_θ(y) / π_old(y), a ratio of probabilities")
    adv = as_tensor(advantages, "advantages").to(rho.dtype)
    if adv.shape != rho.shape:
        raise ValueError(f"advantages has shape {tuple(adv.shape)} but ratio has shape {tuple(rho.shape)}")
    eps = positive(clip_eps, "clip_eps")
    if eps >= 1:
        raise ValueError(f"clip_eps must be in (0, 1), got {eps}")
    return torch.minimum(rho * adv, rho.clamp(1 - eps, 1 + eps) * adv)


def group_advantages(rewards: ArrayLike, scale: bool = True, eps: float = GROUP_STD_EPS) -> torch.Tensor:
    """GRPO's advantages: each reward minus its group's mean, divided by the group's standard deviation.

    Parameters
    ----------
    rewards : array-like, shape (prompts, G)
        One row per prompt: the rewards of its G ≥ 2 sampled responses.
    scale : bool
        Divide by the group's sample standard deviation (n − 1 in the denominator) plus ``eps``, as TRL's
        GRPOTrainer does by default (``scale_rewards="group"``); ``False`` only subtracts the mean.
    eps : float
        Added to the standard deviation (≥ 0), so a group of equal rewards gets advantages 0, not NaN.

    Returns
    -------
    torch.Tensor, shape (prompts, G)
        The advantages; each row sums to zero.
    """
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"rewards must have shape (prompts, G) with G >= 2 responses per prompt, got {tuple(r.shape)}")
    if not isinstance(scale, bool):
        raise ValueError(f"scale must be True or False, got {scale!r}")
    floor = positive(eps, "eps", allow_zero=True)
    centred = r - r.mean(-1, keepdim=True)
    if not scale:
        return centred
    std = r.std(-1, keepdim=True)  # the sample standard deviation, divided by G − 1
    if floor == 0 and bool((std == 0).any()):
        raise ValueError("eps must be > 0 when a group's rewards are all equal (its standard deviation is 0)")
    return check_finite_result(centred / (std + floor), "the group advantages")


__all__ = [
    "GROUP_STD_EPS", "clipped_surrogate", "expected_policy_gradient", "group_advantages", "sampled_policy_gradients",
]
