"""Lesson 3: the KL-shaped reward that PPO-style RLHF actually optimises."""

from __future__ import annotations

import torch

from ._validate import as_mask, as_tensor, check_finite_result, positive
from .estimators import kl_estimate
from .types import ArrayLike


def _as_mask(mask: ArrayLike | None, like: torch.Tensor) -> torch.Tensor:
    if mask is None:
        return torch.ones(like.shape, dtype=torch.bool)
    m = as_mask(mask, like.shape, "mask")
    if not bool(m.any(-1).all()):
        raise ValueError("mask has a sequence with no valid tokens; each row needs at least one")
    return m


def kl_penalized_rewards(
    scores: ArrayLike,
    logprobs: ArrayLike,
    ref_logprobs: ArrayLike,
    kl_coef: float,
    mask: ArrayLike | None = None,
    estimator: str = "k1",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards with a KL penalty, as in Ziegler et al. (2019) and TRL's PPO.

    Every valid token t gets ``-kl_coef * kl_t``; each sequence's reward-model score
    is added at its *last* valid token; masked (padding) tokens get exactly 0.

    Parameters
    ----------
    scores : array-like, shape (...,)
        One reward-model score per sequence.
    logprobs, ref_logprobs : array-like, shape (..., T)
        Per-token log-probs under the policy (which sampled the tokens) and the reference.
    kl_coef : float
        β ≥ 0, in reward units per nat. A reward too large for the log-probs'
        dtype raises ``ValueError`` instead of returning ``inf``.
    mask : array-like of bool or 0/1, shape (..., T), optional
        True for real response tokens, False for padding. Default: all valid.
    estimator : {"k1", "k2", "k3"}
        Per-token KL estimator (see :func:`kl_lessons.kl_estimate`).

    Returns
    -------
    rewards : torch.Tensor, shape (..., T)
        Per-token rewards. For each sequence, Σ_t rewards = score − β·Σ_t kl_t.
    kl : torch.Tensor, shape (..., T)
        Per-token KL estimates in nats, zero on masked tokens.
    """
    beta = positive(kl_coef, "kl_coef", allow_zero=True)
    kl = kl_estimate(logprobs, ref_logprobs, estimator)
    if kl.ndim == 0:
        raise ValueError("logprobs must have a token dimension (shape (..., T))")
    s = check_finite_result(as_tensor(scores, "scores").to(kl.dtype), "scores",
                            f"a score does not fit the log-probs' dtype {kl.dtype}")
    if s.shape != kl.shape[:-1]:
        raise ValueError(f"scores has shape {tuple(s.shape)}; expected {tuple(kl.shape[:-1])} (one per sequence)")
    m = _as_mask(mask, kl)
    kl = kl.masked_fill_(~m, 0.0)
    rewards = kl.mul(-beta).add_(0.0)  # + 0.0 turns -0.0 into 0.0 for tidy printing
    # Index of each row's last valid token: the first True when the row is read backwards.
    last = (kl.shape[-1] - 1) - m.flip(-1).to(torch.uint8).argmax(-1, keepdim=True)
    rewards.scatter_add_(-1, last, s.unsqueeze(-1))
    check_finite_result(rewards, "kl_coef · kl (the penalised reward)",
                        f"kl_coef = {beta:g} times KL estimates up to {float(kl.detach().abs().max()):.4g} nats")
    return rewards, kl
