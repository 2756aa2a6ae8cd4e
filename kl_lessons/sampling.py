"""Lesson 2: where sampled KL estimates come from, and how they go wrong.

RLHF never sums over every possible response: there are vocab^T of them. It samples
tokens from the policy π, scores them under π and under the reference π_ref, and feeds
the log-probs to an estimator (:mod:`kl_lessons.estimators`). This module builds the
pieces the lesson checks that story with:

* a two-token categorical "language model", small enough to enumerate, on which the
  chain rule (sequence KL = first-token KL + expected second-token KL) holds exactly;
* :func:`sample_and_score`: draw tokens with a seeded generator and return their
  log-probs under π and π_ref, optionally with a *sampler* (temperature, top-k, top-p)
  that differs from the π being scored, which is how the negative-KL bug is born;
* :func:`full_kl_from_logits`: the exact per-token KL when the logits are at hand;
* a Monte Carlo study of k1, k2, k3 on Gaussians, next to Schulman's (2020) table.

Conventions: ``logits`` belong to the policy π (which samples), ``ref_logits`` to the
frozen reference π_ref, and every KL is KL(π‖π_ref) in nats. In Schulman's notation
π is q, π_ref is p and r = p(x)/q(x) = π_ref/π.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

from ._validate import as_probs, as_tensor, check_finite_result, count, finite, in_range, positive, seed as as_seed
from .divergence import kl_divergence
from .estimators import ESTIMATORS, check_estimator, kl_estimate, weighted_kl_terms
from .types import ArrayLike


# --------------------------------------------------------------------------- inputs
def _as_logits(x: ArrayLike, name: str) -> torch.Tensor:
    """Logits as float64 with a vocabulary axis of at least two tokens."""
    t = as_tensor(x, name).to(torch.float64)
    if t.ndim == 0 or t.shape[-1] < 2:
        raise ValueError(f"{name} needs a last (vocabulary) axis with at least 2 tokens, got shape {tuple(t.shape)}")
    return t


def _logit_pair(logits: ArrayLike, ref_logits: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    lg, ref = _as_logits(logits, "logits"), _as_logits(ref_logits, "ref_logits")
    if lg.shape != ref.shape:
        raise ValueError(f"logits has shape {tuple(lg.shape)} but ref_logits has shape {tuple(ref.shape)}")
    return lg, ref


# ------------------------------------------------------------ a two-token language model
class TwoTokenModel(NamedTuple):
    """A language model that writes exactly two tokens from a vocabulary of V.

    Attributes
    ----------
    first : torch.Tensor, shape (V,), float64
        P(y1), the distribution of the first token.
    second : torch.Tensor, shape (V, V), float64
        P(y2 | y1): row ``a`` is the next-token distribution after first token ``a``.
    """

    first: torch.Tensor
    second: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return self.first.shape[0]

    def sequence_probs(self) -> torch.Tensor:
        """P(y1, y2) = P(y1)·P(y2 | y1) for all V² sequences, shape (V, V); sums to 1."""
        return self.first[:, None] * self.second


def two_token_model(first_logits: ArrayLike, second_logits: ArrayLike) -> TwoTokenModel:
    """Build a :class:`TwoTokenModel` from logits of shapes (V,) and (V, V)."""
    first = _as_logits(first_logits, "first_logits")
    second = _as_logits(second_logits, "second_logits")
    v = first.shape[-1]
    if first.ndim != 1 or second.shape != (v, v):
        raise ValueError(
            f"first_logits must have shape (V,) and second_logits (V, V); got {tuple(first.shape)} "
            f"and {tuple(second.shape)}"
        )
    return TwoTokenModel(torch.softmax(first, -1), torch.softmax(second, -1))


def random_two_token_model(vocab_size: int, seed: int, scale: float = 1.5) -> TwoTokenModel:
    """A :class:`TwoTokenModel` with standard-normal logits times ``scale``, reproducible from ``seed``."""
    v = count(vocab_size, "vocab_size", minimum=2)
    s = positive(scale, "scale")
    gen = torch.Generator().manual_seed(as_seed(seed))
    logits = torch.randn(v + v * v, generator=gen, dtype=torch.float64) * s
    return two_token_model(logits[:v], logits[v:].reshape(v, v))


def _check_model(model: object, name: str) -> TwoTokenModel:
    """``model`` as a valid :class:`TwoTokenModel` (shapes (V,) and (V, V), rows summing to one)."""
    if not isinstance(model, TwoTokenModel):
        raise ValueError(f"{name} must be a TwoTokenModel (see two_token_model), got {type(model).__name__}")
    first, second = as_probs(model.first, f"{name}.first"), as_probs(model.second, f"{name}.second")
    v = first.shape[-1]
    if first.ndim != 1 or second.shape != (v, v):
        raise ValueError(f"{name} must have first of shape (V,) and second of shape (V, V); got "
                         f"{tuple(first.shape)} and {tuple(second.shape)}")
    return TwoTokenModel(first, second)


def _check_same_vocab(policy: object, reference: object) -> tuple[TwoTokenModel, TwoTokenModel]:
    pi, ref = _check_model(policy, "policy"), _check_model(reference, "reference")
    if pi.vocab_size != ref.vocab_size:
        raise ValueError(f"policy has {pi.vocab_size} tokens but reference has {ref.vocab_size}")
    return pi, ref


def sequence_kl_by_enumeration(policy: TwoTokenModel, reference: TwoTokenModel) -> float:
    """KL(π‖π_ref) over whole two-token sequences, summing all V² of them, in nats."""
    policy, reference = _check_same_vocab(policy, reference)
    return float(kl_divergence(policy.sequence_probs().flatten(), reference.sequence_probs().flatten()))


def chain_rule_terms(policy: TwoTokenModel, reference: TwoTokenModel) -> tuple[float, float]:
    """The two per-token terms whose sum is the sequence KL, in nats.

    Returns
    -------
    first_token_kl : float
        KL(π(y1) ‖ π_ref(y1)).
    second_token_kl : float
        E_{y1 ~ π}[ KL(π(· | y1) ‖ π_ref(· | y1)) ]: the second token's KL in each
        context, averaged over the contexts *the policy* writes.
    """
    policy, reference = _check_same_vocab(policy, reference)
    first = float(kl_divergence(policy.first, reference.first))
    per_context = kl_divergence(policy.second, reference.second)  # shape (V,): one KL per first token
    return first, float((policy.first * per_context).sum())


# ------------------------------------------------------------------ sampling tokens
def _check_sampler(temperature: float, top_k: int, top_p: float) -> tuple[float, int, float]:
    t = positive(temperature, "temperature")
    k = count(top_k, "top_k", minimum=0)
    p = in_range(top_p, "top_p", 0.0, 1.0, low_open=True)
    return t, k, p


def sampling_distribution(
    logits: ArrayLike, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """The distribution a sampler really draws from, in the order ``generate`` applies its settings.

    Parameters
    ----------
    logits : array-like, shape (..., V)
        Policy logits (one next-token distribution per row).
    temperature : float
        Divide the logits by this (> 0). 1 leaves them alone.
    top_k : int
        Keep only the ``top_k`` most likely tokens (ties with the k-th are kept too);
        0 keeps all (Hugging Face's convention).
    top_p : float
        Then keep the smallest set of most likely tokens whose mass reaches ``top_p``; 1 keeps all.

    Returns
    -------
    torch.Tensor, shape (..., V), float64
        Probabilities (zero on filtered-out tokens, renormalised). With the defaults
        it is exactly ``softmax(logits)``: the policy itself.
    """
    return _sampler(logits, temperature, top_k, top_p)[0]


def _sampler(logits: ArrayLike, temperature: float, top_k: int, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The sampler's probabilities and their logarithms (exact even where the probability underflows)."""
    t, k, p = _check_sampler(temperature, top_k, top_p)
    z = _as_logits(logits, "logits") / t
    if 0 < k < z.shape[-1]:
        kth = torch.topk(z, k, dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, -math.inf)
    probs, log_probs = torch.softmax(z, -1), torch.log_softmax(z, -1)
    if p < 1.0:
        sorted_p, order = torch.sort(probs, dim=-1, descending=True)
        mass_before = sorted_p.cumsum(-1) - sorted_p
        # A token stays if the tokens ranked above it have not yet reached top_p (the first always stays).
        keep_sorted = mass_before < p
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        probs = probs * keep
        kept = probs.sum(-1, keepdim=True)
        probs = probs / kept
        log_probs = torch.where(keep, log_probs - kept.log(), -math.inf)
    return probs, log_probs


class ScoredSample(NamedTuple):
    """Tokens drawn by a sampler, with their log-probs under the policy and the reference.

    Attributes
    ----------
    tokens : torch.Tensor of int64, shape (num_samples, ...)
        Token ids; the trailing shape is the logits' shape without the vocabulary axis.
    logprobs : torch.Tensor, shape (num_samples, ...), float64
        log π(token) under the *unmodified* policy, as a trainer scores it (nats).
    ref_logprobs : torch.Tensor, shape (num_samples, ...), float64
        log π_ref(token) under the reference (nats).
    """

    tokens: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor


def sample_and_score(
    logits: ArrayLike,
    ref_logits: ArrayLike,
    num_samples: int,
    *,
    seed: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> ScoredSample:
    """Sample tokens and score them under π and π_ref, as an RLHF trainer does.

    With the default sampler settings the tokens come from π itself, and
    ``kl_estimate(logprobs, ref_logprobs, "k1").mean()`` is an unbiased estimate of
    KL(π‖π_ref). With a ``temperature`` ≠ 1, ``top_k`` > 0 or ``top_p`` < 1 the tokens
    come from another distribution while the scores still come from π: the mismatch
    behind TRL's "KL divergence is starting to become negative" warning.

    Parameters
    ----------
    logits, ref_logits : array-like, shape (..., V)
        Policy and reference logits; each row is one next-token distribution (one context).
    num_samples : int
        Tokens drawn per row (≥ 1).
    seed : int
        Seeds a private ``torch.Generator``, so the draw never touches global RNG state.
    temperature, top_k, top_p
        Sampler settings, see :func:`sampling_distribution`.

    Returns
    -------
    ScoredSample
        ``tokens``, ``logprobs`` and ``ref_logprobs``, each of shape (num_samples, ...).
    """
    lg, ref = _logit_pair(logits, ref_logits)
    n = count(num_samples, "num_samples")
    sampler = sampling_distribution(lg, temperature=temperature, top_k=top_k, top_p=top_p)
    gen = torch.Generator().manual_seed(as_seed(seed))
    rows = sampler.reshape(-1, sampler.shape[-1])
    drawn = torch.multinomial(rows, n, replacement=True, generator=gen)  # (rows, n)
    tokens = drawn.T.reshape(n, *lg.shape[:-1])
    index = tokens.unsqueeze(-1)

    def score(z: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(z, -1).expand(n, *z.shape)
        return logp.gather(-1, index).squeeze(-1)

    return ScoredSample(tokens, score(lg), score(ref))


def full_kl_from_logits(logits: ArrayLike, ref_logits: ArrayLike) -> torch.Tensor:
    """Exact per-token KL(π‖π_ref) from logits, summing over the whole vocabulary.

    Costs one pass over V numbers per token, which is cheap once the logits exist
    (a trainer has them after its forward pass), and has no sampling noise at all.

    Parameters
    ----------
    logits, ref_logits : array-like, shape (..., V)
        Policy and reference logits.

    Returns
    -------
    torch.Tensor, shape (...,), float64
        KL(softmax(logits) ‖ softmax(ref_logits)) per row, in nats, ≥ 0.
    """
    lg, ref = _logit_pair(logits, ref_logits)
    logp, logq = torch.log_softmax(lg, -1), torch.log_softmax(ref, -1)
    return (logp.exp() * (logp - logq)).sum(-1).clamp_min(0.0)


def expected_estimate_under_sampler(
    logits: ArrayLike,
    ref_logits: ArrayLike,
    estimator: str = "k1",
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> torch.Tensor:
    """What an estimator averages to when the sampler is not the policy it scores, exactly.

    Σ_y s(y)·k(y), where s is the sampler's distribution and k(y) the estimator
    computed from log π(y) and log π_ref(y). With the default sampler (s = π) this
    is the true KL for k1 and k3, and KL plus k2's bias for k2.

    Returns
    -------
    torch.Tensor, shape (...,), float64
        The expectation in nats, one per row of ``logits``.
    """
    check_estimator(estimator)
    lg, ref = _logit_pair(logits, ref_logits)
    sampler, log_sampler = _sampler(lg, temperature, top_k, top_p)
    return weighted_kl_terms(sampler, torch.log_softmax(lg, -1), torch.log_softmax(ref, -1), estimator,
                             log_weights=log_sampler).sum(-1)


# -------------------------------------------------------- Schulman's Gaussian table
#: Schulman (2020), "Approximating KL Divergence": q = N(0, 1), p = N(mu, 1), x ~ q,
#: r = p(x)/q(x), estimating KL(q‖p) = mu²/2. Per mu, per estimator: (bias/true, stdev/true)
#: exactly as printed, as text, so that the precision they were printed to is kept.
PUBLISHED_GAUSSIAN_TABLE: dict[float, dict[str, tuple[str, str]]] = {
    0.1: {"k1": ("0", "20"), "k2": ("0.002", "1.42"), "k3": ("0", "1.42")},
    1.0: {"k1": ("0", "2"), "k2": ("0.25", "1.73"), "k3": ("0", "1.7")},
}


def published_rounding(text: str) -> float:
    """Half a unit in the last printed digit of a table entry: how far rounding can move it.

    An entry of exactly "0" is a bias that theory makes exactly zero (k1 and k3 are
    unbiased), so it gets no rounding allowance.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a table entry as printed (a string such as '1.42'), got {text!r}")
    try:
        value = float(text)
    except ValueError as err:
        raise ValueError(f"text must be a number as printed, such as '1.42', got {text!r}") from err
    if not math.isfinite(value):
        raise ValueError(f"text must be a finite number, got {text!r}")
    if value == 0.0:
        return 0.0
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


class EstimatorStats(NamedTuple):
    """Monte Carlo bias and spread of one estimator, relative to the true KL.

    Attributes
    ----------
    bias_over_true : float
        (mean of single-sample estimates − true KL) / true KL.
    stdev_over_true : float
        Standard deviation of single-sample estimates / true KL.
    bias_se, stdev_se : float
        Standard errors of the two numbers above, from batch means (the spread of
        the statistic over independent batches, divided by √batches).
    """

    bias_over_true: float
    stdev_over_true: float
    bias_se: float
    stdev_se: float


def gaussian_true_kl(mu: float) -> float:
    """KL(N(0, 1) ‖ N(mu, 1)) = mu²/2, in nats (|mu| up to about 1.9e154, where mu²/2 overflows a float)."""
    m = finite(mu, "mu")
    if abs(m) > _MAX_MU:
        raise ValueError(f"mu is too large: mu²/2 overflows a float for |mu| > {_MAX_MU:.3g}, got {m:g}")
    return 0.5 * m * m


#: Largest |mu| whose mu²/2 is a finite float64.
_MAX_MU = math.sqrt(2.0) * math.sqrt(1.7976931348623157e308) * (1 - 1e-15)


def gaussian_single_sample_estimates(mu: float, num_samples: int, *, seed: int) -> dict[str, torch.Tensor]:
    """Single-sample k1, k2, k3 for x ~ q = N(0, 1) against p = N(mu, 1), in nats.

    The policy π of the rest of the lesson plays q (it is sampled) and π_ref plays p,
    so ``logprobs = log q(x)`` and ``ref_logprobs = log p(x)``.

    Returns
    -------
    dict of str → torch.Tensor, each shape (num_samples,), float64
        Keyed ``"k1"``, ``"k2"``, ``"k3"``.
    """
    m = finite(mu, "mu")
    if m == 0.0:
        raise ValueError("mu must be nonzero: at mu = 0 the true KL is 0 and the table's ratios are undefined")
    n = count(num_samples, "num_samples")
    gen = torch.Generator().manual_seed(as_seed(seed))
    x = torch.randn(n, generator=gen, dtype=torch.float64)
    q, p = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(m, 1.0)
    logq, logp = q.log_prob(x), p.log_prob(x)
    return {name: kl_estimate(logq, logp, name) for name in ESTIMATORS}


def gaussian_estimator_study(
    mu: float, num_samples: int = 500_000, *, seed: int = 0, num_batches: int = 100
) -> dict[str, EstimatorStats]:
    """Monte Carlo reproduction of one half of Schulman's (2020) table.

    Parameters
    ----------
    mu : float
        Mean of p = N(mu, 1); q = N(0, 1). The true KL(q‖p) is mu²/2 nats.
    num_samples : int
        Draws of x ~ q (a multiple of ``num_batches`` is used; the remainder is dropped).
    seed : int
        Seed for the private generator.
    num_batches : int
        How many equal batches the standard errors are computed from (≥ 2).

    Returns
    -------
    dict of str → EstimatorStats
        Bias/true and stdev/true of each single-sample estimator, with standard errors.
    """
    b = count(num_batches, "num_batches", minimum=2)
    n = count(num_samples, "num_samples", minimum=b)
    true = gaussian_true_kl(mu)
    estimates = gaussian_single_sample_estimates(mu, n - n % b, seed=seed)
    out = {}
    for name, est in estimates.items():
        per_batch = est.reshape(b, -1)
        bias_b = per_batch.mean(1) / true - 1.0
        sd_b = per_batch.std(1) / true
        out[name] = EstimatorStats(
            bias_over_true=float(est.mean()) / true - 1.0,
            stdev_over_true=float(est.std()) / true,
            bias_se=float(bias_b.std()) / math.sqrt(b),
            stdev_se=float(sd_b.std()) / math.sqrt(b),
        )
    return out


def gaussian_estimator_exact(mu: float) -> dict[str, tuple[float, float]]:
    """Closed-form (bias/true, stdev/true) of k1, k2, k3 for q = N(0, 1), p = N(mu, 1).

    With x ~ q, log r = mu·x − mu²/2 is normal with mean −mu²/2 and variance mu², which gives
    k1: (0, 2/|mu|); k2: (mu²/4, √(2 + mu²)); k3: (0, √(e^{mu²} − 1 − mu²) / (mu²/2)).
    """
    true = gaussian_true_kl(mu)
    if true == 0.0:
        raise ValueError("mu must be nonzero: at mu = 0 the true KL is 0 and the table's ratios are undefined")
    m2 = float(mu) ** 2
    k3_spread = _k3_stdev_over_true(m2, mu)  # first: it is the one that overflows (|mu| > 37.85)
    return {
        "k1": (0.0, math.sqrt(m2) / true),
        "k2": (m2 / 4.0, math.sqrt(2.0 + m2)),
        "k3": (0.0, k3_spread),
    }


def _k3_stdev_over_true(x: float, mu: float) -> float:
    """√(e^x − 1 − x) / (x/2) with x = mu², without cancellation near 0 or overflow for large x.

    Near 0 the numerator is x·√S with S = (e^x − 1 − x)/x² = Σ_{n≥2} x^(n−2)/n!, so the
    ratio is 2√S → √2; for large x it is computed in logs, and beyond a float it raises.
    """
    if x < 0.5:
        term, total = 0.5, 0.0
        for n in range(3, 30):  # x^(n−2)/n! for n = 2, 3, …: 27 terms reach 1e-17 of the sum at x = 0.5
            total += term
            term *= x / n
        return 2.0 * math.sqrt(total)
    if x < 700.0:
        return math.sqrt(math.expm1(x) - x) / (x / 2.0)
    # e^x − 1 − x = e^x·(1 − (1 + x)·e^(−x)); take logs, then come back only if it fits a float.
    log_ratio = 0.5 * (x + math.log1p(-(1.0 + x) * math.exp(-x))) - math.log(x / 2.0)
    if log_ratio >= math.log(1.7976931348623157e308):
        raise ValueError(f"mu is too large: k3's stdev/true overflows a float for |mu| above about 37.85, got {mu:g}")
    return math.exp(log_ratio)
