"""Lesson 2: estimating KL(π‖π_ref) from tokens sampled from π.

With ``log r = ref_logprobs - logprobs`` for a token drawn from π (Schulman, 2020):

* ``k1 = -log r``: unbiased, high variance, negative for many single samples;
* ``k2 = ½ (log r)²``: always ≥ 0; equals KL to second order near π_ref, but biased: the bias
  E_π[k2 − k3] starts at −⅙ E_π[(r − 1)³], can have either sign, and can exceed the KL far from π_ref;
* ``k3 = (r - 1) - log r``: unbiased, always ≥ 0; low variance only while π stays near π_ref, because
  r = π_ref/π has a heavy tail (π = [.99, .01], π_ref = [.01, .99]: sd 8.9 nats against k1's 0.9).
"""

from __future__ import annotations

import math

import torch

from ._validate import as_logprobs, as_tensor, check_finite_result, same_shape
from .types import ArrayLike

ESTIMATORS = ("k1", "k2", "k3")


def check_estimator(estimator: str) -> str:
    """Return ``estimator`` if it is one of :data:`ESTIMATORS`, else raise ``ValueError``."""
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return estimator


def kl_estimate(logprobs: ArrayLike, ref_logprobs: ArrayLike, estimator: str = "k1") -> torch.Tensor:
    """Per-token single-sample estimates of KL(π‖π_ref), in nats.

    Parameters
    ----------
    logprobs : array-like, shape (...)
        log π(token) of tokens *sampled from π* (the policy being trained).
    ref_logprobs : array-like, shape (...)
        log π_ref(token) of the same tokens under the frozen reference.
    estimator : {"k1", "k2", "k3"}
        Which estimator to use (see the module docstring).

    Returns
    -------
    torch.Tensor, same shape as the inputs
        One estimate per token, in nats. Average over samples to estimate the
        per-token KL; sum over a sequence's tokens to estimate the sequence KL.
        Floating tensors keep their dtype; other inputs become float64.

    Raises
    ------
    ValueError
        On an unknown ``estimator``, mismatched shapes, NaN/inf inputs,
        log-probabilities above 0, or an estimate too large for the dtype
        (k3 = r − 1 − log r overflows float32 once log r exceeds about 88 nats,
        float64 beyond about 709).
    """
    check_estimator(estimator)
    lp = as_logprobs(logprobs, "logprobs")
    ref = as_logprobs(ref_logprobs, "ref_logprobs")
    same_shape(lp, ref, "logprobs", "ref_logprobs")
    if lp.dtype != ref.dtype:
        # Mixed precision: compute in the wider dtype rather than round the wider input down.
        wide = torch.promote_types(lp.dtype, ref.dtype)
        lp, ref = lp.to(wide), ref.to(wide)
    if estimator == "k1":
        out = lp - ref
    else:
        log_r = ref - lp
        # expm1 keeps (r - 1) accurate when r is close to 1, where k3 is a tiny number.
        out = 0.5 * log_r.square() if estimator == "k2" else torch.expm1(log_r) - log_r
    return check_finite_result(
        out, f"{estimator} estimate",
        f"log r = ref_logprobs - logprobs reaches {float((ref - lp).detach().abs().max()):.4g} nats; "
        "pass float64 log-probs or clip the log-ratio",
    )


def weighted_kl_terms(
    weights: ArrayLike, logprobs: ArrayLike, ref_logprobs: ArrayLike, estimator: str,
    *, log_weights: ArrayLike | None = None,
) -> torch.Tensor:
    """Each outcome's s(y)·k(y): an estimator's value weighted by a sampler's probability, exactly.

    Public API: summed over the outcomes, it is the estimator's exact expectation under the
    sampler s (lessons 2 and 3 use it for E_s[k] and for the expected gradient of k). It is
    written so that the weight may be 0 and k3 huge: k3's term s·(r − 1 − log r) is computed as
    exp(log s + log r) − s − s·log r, so an outcome the sampler never draws adds 0 (not
    0·inf = NaN) and a tiny weight times a huge ratio stays finite.

    Parameters
    ----------
    weights : array-like, shape (...)
        s(y) ≥ 0, one per outcome (not necessarily normalised).
    logprobs, ref_logprobs : array-like, same shape
        log π(y) and log π_ref(y); r = π_ref/π.
    estimator : {"k1", "k2", "k3"}
    log_weights : array-like, same shape, optional
        log s(y), exact where a weight underflowed to 0 without being 0 (−inf allowed);
        by default log(weights).

    Returns
    -------
    torch.Tensor, same shape
        s·k per outcome, in nats; differentiable through ``logprobs``.
    """
    check_estimator(estimator)
    lp = as_logprobs(logprobs, "logprobs")
    ref = as_logprobs(ref_logprobs, "ref_logprobs")
    w = as_tensor(weights, "weights")
    same_shape(lp, ref, "logprobs", "ref_logprobs")
    same_shape(w, lp, "weights", "logprobs")
    if bool((w.detach() < 0).any()):
        raise ValueError("weights must be >= 0 (a sampler's probabilities)")
    log_w = None
    if log_weights is not None:
        log_w = as_tensor(log_weights, "log_weights", allow_inf=True)
        same_shape(log_w, lp, "log_weights", "logprobs")
        if bool((log_w.detach() == math.inf).any()):
            raise ValueError("log_weights must not hold +inf")
    log_r = ref - lp
    if estimator == "k1":
        return w * -log_r
    if estimator == "k2":
        return w * 0.5 * log_r.square()
    log_s = w.log() if log_w is None else log_w
    terms = torch.exp(log_s + log_r) - w - w * log_r
    return check_finite_result(terms, "k3 weighted by the sampler")

