"""Lesson 4: the exact optimum of E[r] − β·KL(π‖π_ref), and the reward–KL frontier.

The maximiser is the reference tilted by the reward (Korbak et al., 2022; Rafailov
et al., 2023, eq. 4): π_β(y) = π_ref(y)·exp(r(y)/β) / Z(β). With λ = 1/β:
E_λ[r] = d log Z/dλ, KL = λ·E_λ[r] − log Z, and the frontier's slope dE[r]/dKL = β.

Lesson 8 adds an entropy bonus α·H(π) (:func:`regularised_policy`): since
KL(π‖π_ref) = −H(π) + H(π, π_ref), the KL penalty is itself an entropy bonus plus an anchor to π_ref.
"""

from __future__ import annotations


import torch

from ._validate import as_probs, as_tensor, positive
from .types import ArrayLike


def _ref_and_rewards(ref_probs: ArrayLike, rewards: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    ref = as_probs(ref_probs, "ref_probs")
    r = as_tensor(rewards, "rewards").to(torch.float64)
    if ref.shape != r.shape:
        raise ValueError(f"ref_probs has shape {tuple(ref.shape)} but rewards has shape {tuple(r.shape)}")
    return ref, r


def _reward_gap(r: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """r − max r, the max over each row's ``support`` (0 outside it)."""
    top = r.masked_fill(~support, -torch.inf).amax(-1, keepdim=True)
    return torch.where(support, r - top, torch.zeros_like(r))


def _shifted(ref: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log π_ref and r − max r, the max over each row's support (π_ref > 0).

    Tilting by (r − max r)/β instead of r/β changes nothing mathematically (the shift
    cancels in the normalisation) but keeps every logit ≤ log π_ref: a tiny β or a huge
    reward sends the losers to −inf (probability 0) and never makes inf − inf = NaN.
    """
    return torch.log(ref), _reward_gap(r, ref > 0)


def _tilted_log(ref: torch.Tensor, r: torch.Tensor, beta: float) -> torch.Tensor:
    """log π_β, normalised by log-sum-exp (β = 1e-310 or rewards of ±1e300 stay exact)."""
    log_ref, gap = _shifted(ref, r)
    logits = log_ref + gap / beta
    return logits - torch.logsumexp(logits, dim=-1, keepdim=True)


def tilted_policy(ref_probs: ArrayLike, rewards: ArrayLike, beta: float) -> torch.Tensor:
    """The KL-regularised optimum π_β ∝ π_ref·exp(r/β).

    Parameters
    ----------
    ref_probs : array-like, shape (..., K)
        Reference probabilities over K responses.
    rewards : array-like, shape (..., K)
        Reward of each response (same shape as ``ref_probs``).
    beta : float
        KL coefficient β > 0, in reward units per nat.

    Returns
    -------
    torch.Tensor, shape (..., K), float64
        π_β. Responses with π_ref = 0 keep probability 0.
    """
    ref, r = _ref_and_rewards(ref_probs, rewards)
    b = positive(beta, "beta")
    return _tilted_log(ref, r, b).exp()


def regularised_policy(ref_probs: ArrayLike, rewards: ArrayLike, beta: float, alpha: float) -> torch.Tensor:
    """The maximiser of E_π[r] + α·H(π) − β·KL(π‖π_ref): π ∝ π_ref^(β/(α+β))·exp(r/(α+β)).

    Why this form: setting the derivative of the Lagrangian to zero gives
    r − α·(log π + 1) − β·(log π − log π_ref + 1) = const, so
    (α + β)·log π = β·log π_ref + r + const. For α + β > 0 the objective is strictly
    concave in π, so this stationary point is the maximum. With α = 0 it is
    :func:`tilted_policy`; with β = 0 it is softmax(r/α), which ignores π_ref entirely:
    an entropy bonus alone keeps the policy spread out but no longer anchored to what
    the reference finds fluent. Because KL(π‖π_ref) = −H(π) + H(π, π_ref), the KL penalty
    is an entropy bonus of β plus that anchor: the temperature α + β sets how peaked π is,
    and only β pulls it towards π_ref.

    Parameters
    ----------
    ref_probs : array-like, shape (..., K)
        Reference probabilities over K responses.
    rewards : array-like, shape (..., K)
        Reward of each response (same shape as ``ref_probs``), in reward units.
    beta : float
        KL coefficient β ≥ 0, in reward units per nat.
    alpha : float
        Entropy bonus α ≥ 0, in reward units per nat.

    Returns
    -------
    torch.Tensor, shape (..., K), float64
        The maximising policy. For β > 0, responses with π_ref = 0 keep probability 0
        (any mass there would make the KL infinite). For β = 0 the objective does not
        involve π_ref, so every response can get mass. For α = β = 0 the objective is
        E_π[r] alone: all mass goes to the best responses, split evenly among ties (the
        limit of softmax(r/α) as α → 0).
    """
    ref, r = _ref_and_rewards(ref_probs, rewards)
    b = positive(beta, "beta", allow_zero=True)
    a = positive(alpha, "alpha", allow_zero=True)
    # With β = 0 the objective never sees π_ref: every response is eligible.
    support = ref > 0 if b > 0 else torch.ones_like(ref, dtype=torch.bool)
    gap = _reward_gap(r, support)  # ≤ 0: large rewards over a small α + β give −inf, never NaN
    if a == 0 and b == 0:
        best = support & (gap == 0)
        return best.to(torch.float64) / best.sum(-1, keepdim=True)
    # The anchor's weight β/(α+β), computed from α/β or β/α so that α + β overflowing a float
    # (temperature inf: the reward no longer matters) still leaves the weight right.
    anchor = 1.0 / (1.0 + a / b) if b >= a else (b / a) / (1.0 + b / a)
    temperature = a + b
    log_ref = torch.where(ref > 0, torch.log(ref), torch.zeros_like(ref))  # never 0·(−inf) = NaN at β = 0
    logits = (anchor * log_ref + gap / temperature).masked_fill(~support, -torch.inf)
    return (logits - torch.logsumexp(logits, dim=-1, keepdim=True)).exp()


def kl_reward_frontier(
    ref_probs: ArrayLike, rewards: ArrayLike, betas: ArrayLike
) -> tuple[torch.Tensor, torch.Tensor]:
    """Expected reward and KL(π_β‖π_ref) along the optimum, for many β at once.

    Parameters
    ----------
    ref_probs, rewards : array-like, shape (K,)
        Reference probabilities and rewards of K responses.
    betas : array-like, shape (B,)
        KL coefficients, each > 0.

    Returns
    -------
    expected_reward : torch.Tensor, shape (B,), float64
        E_{π_β}[r], in reward units.
    kl : torch.Tensor, shape (B,), float64
        KL(π_β‖π_ref), in nats (summed over the whole response).
    """
    ref, r = _ref_and_rewards(ref_probs, rewards)
    if ref.ndim != 1:
        raise ValueError(f"ref_probs must be 1-D (K responses), got shape {tuple(ref.shape)}")
    b = as_tensor(betas, "betas").to(torch.float64).reshape(-1)
    if bool((b <= 0).any()):
        raise ValueError("betas must all be > 0")
    # Only responses π_ref can produce matter; the rest have probability 0 under every π_β.
    support = ref > 0
    log_ref, gap = _shifted(ref[support], r[support])
    r = r[support]
    expected, kl = torch.empty_like(b), torch.empty_like(b)
    # Blocks of β small enough to stay in cache: the dense (B, K) matrix of π_β is
    # never stored, so the cost is one exp per entry rather than memory traffic.
    rows = max(1, (1 << 17) // ref.numel())
    for start in range(0, b.numel(), rows):
        tilt = gap / b[start : start + rows, None]  # (r − max r)/β ≤ 0, shape (rows, K)
        logits = tilt + log_ref
        peak = logits.amax(-1)
        weights = logits.sub_(peak.unsqueeze(-1)).exp_()  # π_β up to the factor 1/Z
        norm = weights.sum(-1)
        expected[start : start + rows] = (weights @ r) / norm
        # KL = E_π[(r − max r)/β] − log Z, with log Z = peak + log(norm); responses
        # whose weight underflowed to 0 add nothing (not 0·(−inf)).
        mean_tilt = torch.where(weights > 0, weights * tilt, torch.zeros_like(tilt)).sum(-1) / norm
        kl[start : start + rows] = mean_tilt - (peak + norm.log())
    kl.clamp_min_(0.0)
    return expected, kl


def best_of_n_kl(n: ArrayLike) -> torch.Tensor:
    """The analytic best-of-n KL, log n − (n − 1)/n, in nats (Stiennon et al., 2020, App. G.3).

    It is exact for continuous rewards with no ties and an upper bound in general
    (Beirami et al., 2024).

    Parameters
    ----------
    n : int or array-like of int
        Number of samples (each ≥ 1).

    Returns
    -------
    torch.Tensor, float64, same shape as ``n``
    """
    nt = as_tensor(n, "n").to(torch.float64)
    if bool((nt < 1).any()) or bool((nt != nt.round()).any()):
        raise ValueError("n must hold integers >= 1")
    return torch.log(nt) - (nt - 1) / nt


__all__ = ["tilted_policy", "regularised_policy", "kl_reward_frontier", "best_of_n_kl"]
