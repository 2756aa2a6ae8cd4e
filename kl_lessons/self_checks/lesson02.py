"""Self-check for lesson 2 (estimating KL from samples).

The learner writes k3 from per-token log-probs; :func:`check_k3` runs it on a few
batches and answers with a short message: "Correct", or a hint. It never raises.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..estimators import kl_estimate

#: Relative and absolute tolerance (nats) for agreeing with the library's k3.
RTOL, ATOL = 1e-6, 1e-9


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(logprobs, ref_logprobs) pairs: a random batch, a 2-D batch, identical models, a tiny gap."""
    gen = torch.Generator().manual_seed(2020)
    logits = torch.randn(2, 3, 6, generator=gen, dtype=torch.float64)
    logp = torch.log_softmax(logits, -1)
    lp, ref = logp[0].flatten(), logp[1].flatten()
    near = lp + 1e-4 * torch.randn(lp.shape, generator=gen, dtype=torch.float64)
    return [(lp, ref), (logp[0], logp[1]), (lp, lp.clone()), (lp, near)]


def check_k3(estimator: Callable[[torch.Tensor, torch.Tensor], Any]) -> str:
    """Check a learner's k3 against :func:`kl_lessons.kl_estimate`.

    Parameters
    ----------
    estimator : callable
        ``estimator(logprobs, ref_logprobs)`` taking float64 tensors of per-token
        log-probs (nats) of tokens sampled from π, under π and under π_ref, and
        returning one k3 estimate per token (same shape), in nats.

    Returns
    -------
    str
        "Correct: …" or a hint about what to change.
    """
    if not callable(estimator):
        return f"Pass your function itself, e.g. check_k3(my_k3), not its result (got {type(estimator).__name__})."
    for lp, ref in _cases():
        try:
            got = estimator(lp.clone(), ref.clone())
        except Exception as err:  # noqa: BLE001 - any failure becomes a hint, not a traceback
            return f"Your function raised {type(err).__name__}: {err}. It should take two tensors of log-probs."
        try:
            got = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            return f"Return a tensor of numbers, one per token (got {type(got).__name__})."
        if got.shape != lp.shape:
            return (
                f"Return one estimate per token: shape {tuple(lp.shape)}, got {tuple(got.shape)}. "
                "Average later, not inside the estimator."
            )
        want = kl_estimate(lp, ref, "k3")
        if torch.allclose(got, want, rtol=RTOL, atol=ATOL):
            continue
        log_r = ref - lp
        if torch.allclose(got, -log_r, rtol=RTOL, atol=ATOL):
            return "That is k1 (−log r). k3 adds the control variate r − 1, which averages to zero under π."
        if torch.allclose(got, 0.5 * log_r**2, rtol=RTOL, atol=ATOL):
            return (
                "That is k2 = ½(log r)², the squared-log estimator: never negative, but biased. "
                "k3 = (r − 1) − log r is the one that is both never negative and unbiased."
            )
        if torch.allclose(got, torch.expm1(-log_r) + log_r, rtol=RTOL, atol=ATOL):
            return "Close, but r is upside down: r = π_ref(y) / π(y), so log r = ref_logprobs − logprobs."
        if bool((got < -ATOL).any()):
            return "Some of your estimates are negative. k3 = (r − 1) − log r is never below zero, since log r ≤ r − 1."
        return "Not yet: with log r = ref_logprobs − logprobs and r = exp(log r), k3 = (r − 1) − log r."
    return (
        "Correct: k3 = (r − 1) − log r matches on every test batch. It is never negative, and it "
        "averages to the same KL as k1 because r − 1 averages to zero over tokens sampled from π."
    )
