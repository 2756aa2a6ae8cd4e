"""Sampled KL estimators k1, k2, k3 (Schulman, 2020)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Categorical, Normal

from kl_lessons import kl_divergence, kl_estimate


def test_formulas_on_a_hand_example() -> None:
    logp, ref = torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -1.0])
    log_r = ref - logp
    torch.testing.assert_close(kl_estimate(logp, ref, "k1"), -log_r)
    torch.testing.assert_close(kl_estimate(logp, ref, "k2"), 0.5 * log_r**2)
    torch.testing.assert_close(kl_estimate(logp, ref, "k3"), log_r.exp() - 1 - log_r)


def test_keeps_float32_and_shapes() -> None:
    x = torch.log_softmax(torch.randn(4, 5, generator=torch.Generator().manual_seed(0)), -1)
    out = kl_estimate(x, x - 0.1, "k3")
    assert out.dtype == torch.float32 and out.shape == (4, 5)
    assert kl_estimate([0.0], [0.0]).dtype == torch.float64


def test_k3_is_accurate_when_policies_almost_agree() -> None:
    # Naive exp(log_r) - 1 - log_r loses every digit at log_r = 1e-9; expm1 keeps them.
    out = kl_estimate(torch.tensor([-1e-9], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64), "k3")
    assert float(out) == pytest.approx(0.5e-18, rel=1e-6)


def _sample_mc(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    gen = torch.Generator().manual_seed(seed)
    pi = torch.softmax(torch.randn(6, generator=gen, dtype=torch.float64), -1)
    ref = torch.softmax(torch.randn(6, generator=gen, dtype=torch.float64), -1)
    tokens = torch.multinomial(pi, n, replacement=True, generator=gen)
    return pi[tokens].log(), ref[tokens].log(), float(kl_divergence(pi, ref))


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_k1_and_k3_are_unbiased(estimator: str) -> None:
    n = 200_000
    logp, ref, true = _sample_mc(n, seed=3)
    est = kl_estimate(logp, ref, estimator)
    # Five standard errors: a false alarm about once in 3.5 million runs.
    tolerance = 5 * float(est.std()) / math.sqrt(n)
    assert abs(float(est.mean()) - true) < tolerance


def test_k2_is_biased_upward_for_distant_gaussians() -> None:
    # Schulman's table: for p = N(1, 1), q = N(0, 1), k2's bias/true is 0.25.
    q, p = Normal(0.0, 1.0), Normal(1.0, 1.0)
    torch.manual_seed(0)
    x = q.sample(torch.Size([400_000]))
    est = kl_estimate(q.log_prob(x), p.log_prob(x), "k2")
    true = float(torch.distributions.kl_divergence(q, p))
    assert float(est.mean()) / true - 1 == pytest.approx(0.25, abs=0.02)


def test_single_sample_k1_is_often_negative() -> None:
    n = 20_000
    logp, ref, true = _sample_mc(n, seed=4)
    negative = float((kl_estimate(logp, ref, "k1") < 0).double().mean())
    # k1 < 0 exactly on tokens the reference likes more than the policy: P_pi(ref > pi).
    gen = torch.Generator().manual_seed(4)
    pi = torch.softmax(torch.randn(6, generator=gen, dtype=torch.float64), -1)
    ref_p = torch.softmax(torch.randn(6, generator=gen, dtype=torch.float64), -1)
    exact = float(pi[ref_p > pi].sum())
    assert true > 0 and exact > 0.1
    assert abs(negative - exact) < 5 * math.sqrt(exact * (1 - exact) / n)


@given(st.lists(st.floats(-20, 0), min_size=1, max_size=20), st.lists(st.floats(-20, 0), min_size=1, max_size=20))
def test_k2_and_k3_are_never_negative(a: list[float], b: list[float]) -> None:
    n = min(len(a), len(b))
    assert bool((kl_estimate(a[:n], b[:n], "k3") >= 0).all())
    assert bool((kl_estimate(a[:n], b[:n], "k2") >= 0).all())


def test_matches_exact_kl_of_categoricals_in_expectation() -> None:
    # E_pi[k1] is exactly KL(pi || ref) when the expectation is taken by enumeration.
    pi = Categorical(probs=torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    ref = Categorical(probs=torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64))
    tokens = torch.arange(3)
    for name in ("k1", "k3"):
        expected = (pi.probs * kl_estimate(pi.log_prob(tokens), ref.log_prob(tokens), name)).sum()
        assert float(expected) == pytest.approx(float(torch.distributions.kl_divergence(pi, ref)), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"logprobs": [0.1, float("nan")], "ref_logprobs": [0.0, 0.0]}, "logprobs"),
        ({"logprobs": [0.0, 0.0], "ref_logprobs": [0.0, -float("inf")]}, "ref_logprobs"),
        ({"logprobs": [0.0, 0.0], "ref_logprobs": [0.0]}, "shape"),
        ({"logprobs": [0.0], "ref_logprobs": [0.0], "estimator": "k4"}, "estimator"),
    ],
)
def test_bad_input_raises(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        kl_estimate(**kwargs)


def test_estimators_are_differentiable() -> None:
    # E_pi[∇k3] is not ∇KL in general, but each estimator must carry gradients for lesson 3.
    logp = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([-1.5, -1.0], dtype=torch.float64)
    for name in ("k1", "k2", "k3"):
        (grad,) = torch.autograd.grad(kl_estimate(logp, ref, name).sum(), logp)
        log_r = (ref - logp).detach()
        expected = {"k1": torch.ones(2), "k2": -log_r, "k3": 1 - log_r.exp()}[name]
        torch.testing.assert_close(grad, expected.to(torch.float64))
