"""Lesson 2: how the batch mean of k1, k2, k3 tightens as the batch grows.

A trainer logs the *mean* of per-token estimates over a batch of n sampled tokens. That
mean is random; its spread is σ/√n, with σ the spread of one token's estimate. Here σ is
computed exactly over the vocabulary, and batch means are simulated cheaply: a batch of n
tokens is summarised by its token counts ~ Multinomial(n, π), so any n costs the same.
All KL values are in nats.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._validate import as_tensor, count, seed as as_seed
from .estimators import ESTIMATORS, kl_estimate
from .types import ArrayLike

#: Lesson 2's running example: π_ref and π over eight next words of "The cat sat on the …".
CAT_SAT_VOCAB: tuple[str, ...] = ("mat", "floor", "sofa", "bed", "rug", "chair", "roof", "moon")
CAT_SAT_REF_PROBS: tuple[float, ...] = (0.40, 0.22, 0.13, 0.09, 0.07, 0.05, 0.03, 0.01)
CAT_SAT_POLICY_PROBS: tuple[float, ...] = (0.27, 0.17, 0.31, 0.07, 0.08, 0.06, 0.02, 0.02)


def _token_values(logits: ArrayLike, ref_logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """π (shape (V,)) and each token's k1, k2, k3 value (shape (3, V))."""
    lg = as_tensor(logits, "logits").to(torch.float64)
    ref = as_tensor(ref_logits, "ref_logits").to(torch.float64)
    if lg.ndim != 1 or lg.shape != ref.shape or lg.numel() < 2:
        raise ValueError(f"logits and ref_logits must both have shape (V,), V >= 2; got {tuple(lg.shape)}, {tuple(ref.shape)}")
    logp, logq = torch.log_softmax(lg, -1), torch.log_softmax(ref, -1)
    values = torch.stack([kl_estimate(logp, logq, e) for e in ESTIMATORS])
    return logp.exp().numpy(), values.numpy()


def single_token_sd(logits: ArrayLike, ref_logits: ArrayLike) -> dict[str, float]:
    """Exact standard deviation of one token's k1, k2, k3 estimate under π, in nats.

    A batch mean of n tokens has spread ``single_token_sd / √n``.
    """
    pi, values = _token_values(logits, ref_logits)
    centre = values @ pi
    return {e: math.sqrt(max(float(((values[i] - centre[i]) ** 2) @ pi), 0.0)) for i, e in enumerate(ESTIMATORS)}


def simulate_batch_means(
    logits: ArrayLike, ref_logits: ArrayLike, sample_size: int, num_batches: int = 4000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Batch means of k1, k2, k3 over ``num_batches`` simulated batches of ``sample_size`` tokens from π.

    Returns
    -------
    dict of str → numpy.ndarray, shape (num_batches,)
        One array per estimator, in nats.
    """
    n = count(sample_size, "sample_size", maximum=2**62)  # numpy's multinomial draws int64 counts
    batches = count(num_batches, "num_batches", maximum=10**7)
    rng = np.random.default_rng(as_seed(seed))
    pi, values = _token_values(logits, ref_logits)
    counts = rng.multinomial(n, pi / pi.sum(), size=batches)
    means = (counts @ values.T) / n
    return {e: means[:, i] for i, e in enumerate(ESTIMATORS)}


__all__ = ["CAT_SAT_POLICY_PROBS", "CAT_SAT_REF_PROBS", "CAT_SAT_VOCAB", "simulate_batch_means", "single_token_sd"]
