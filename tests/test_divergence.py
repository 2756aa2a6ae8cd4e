"""Exact KL, entropy and cross-entropy, checked against torch.distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Categorical
from torch.distributions import kl_divergence as torch_kl

from kl_lessons import cross_entropy, entropy, kl_contributions, kl_divergence


def random_probs(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.softmax(torch.randn(*shape, generator=gen, dtype=torch.float64) * 2, dim=-1)


def test_forecasters_match_published_values() -> None:
    assert float(kl_divergence([0.7, 0.3], [0.3, 0.7])) == pytest.approx(0.3389, abs=5e-5)
    assert float(kl_divergence([0.7, 0.3], [0.65, 0.35])) == pytest.approx(0.0056, abs=5e-5)
    expected = 0.7 * math.log(0.7 / 0.3) + 0.3 * math.log(0.3 / 0.7)
    assert float(kl_divergence([0.7, 0.3], [0.3, 0.7])) == pytest.approx(expected, rel=1e-14)


def test_agrees_with_torch_distributions_on_random_batches() -> None:
    gen = torch.Generator().manual_seed(0)
    p, q = random_probs(gen, 64, 10), random_probs(gen, 64, 10)
    ours = kl_divergence(p, q)
    theirs = torch_kl(Categorical(probs=p), Categorical(probs=q))
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(entropy(p), Categorical(probs=p).entropy(), rtol=1e-10, atol=1e-12)


def test_cross_entropy_is_entropy_plus_kl() -> None:
    gen = torch.Generator().manual_seed(1)
    p, q = random_probs(gen, 32, 7), random_probs(gen, 32, 7)
    torch.testing.assert_close(cross_entropy(p, q), entropy(p) + kl_divergence(p, q), rtol=1e-12, atol=1e-12)


def test_zero_probabilities_follow_the_conventions() -> None:
    # 0·log 0 = 0: an outcome P rules out adds nothing.
    assert float(kl_divergence([0.5, 0.5, 0.0], [0.25, 0.25, 0.5])) == pytest.approx(math.log(2))
    # q = 0 < p: infinite, and never NaN.
    value = kl_divergence([0.5, 0.5], [1.0, 0.0])
    assert torch.isinf(value) and value > 0
    assert torch.isinf(cross_entropy([0.5, 0.5], [1.0, 0.0]))
    assert float(entropy([1.0, 0.0])) == 0.0


def test_contributions_sum_to_kl_and_can_be_negative() -> None:
    p, q = [0.7, 0.3], [0.3, 0.7]
    terms = kl_contributions(p, q)
    assert float(terms.sum()) == pytest.approx(float(kl_divergence(p, q)))
    assert bool((terms < 0).any())


def test_accepts_lists_numpy_and_tensors_and_batches() -> None:
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    out = kl_divergence(p, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert out.shape == (2,) and out.dtype == torch.float64
    assert float(out[1]) == 0.0
    assert kl_divergence(p.T, p.T, dim=0).shape == (2,)


@given(st.lists(st.floats(0.01, 10.0), min_size=2, max_size=8), st.integers(0, 10_000))
def test_kl_is_non_negative_and_zero_only_for_equal(weights: list[float], seed: int) -> None:
    p = torch.tensor(weights, dtype=torch.float64)
    p = p / p.sum()
    gen = torch.Generator().manual_seed(seed)
    q = random_probs(gen, len(weights))
    assert float(kl_divergence(p, q)) >= 0.0
    assert float(kl_divergence(p, p)) == pytest.approx(0.0, abs=1e-12)
    if not torch.allclose(p, q, atol=1e-6):
        assert float(kl_divergence(p, q)) > 0.0


@pytest.mark.parametrize(
    ("p", "q", "name"),
    [
        ([0.5, float("nan")], [0.5, 0.5], "p"),
        ([0.5, 0.5], [0.5, float("inf")], "q"),
        ([1.2, -0.2], [0.5, 0.5], "p"),
        ([0.6, 0.6], [0.5, 0.5], "p"),
        ([0.5, 0.5], [0.9, 0.3], "q"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], "outcomes"),
        ([[0.5, 0.5]] * 3, [[0.5, 0.5]] * 2, "broadcast"),
        ("abc", [0.5, 0.5], "p"),
        ([], [], "p"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(p, q, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        kl_divergence(p, q)


def test_kl_divergence_is_differentiable() -> None:
    logits = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    (ours,) = torch.autograd.grad(kl_divergence(torch.softmax(logits, 0), q), logits)
    ref_logits = logits.detach().clone().requires_grad_(True)
    (theirs,) = torch.autograd.grad(torch_kl(Categorical(logits=ref_logits), Categorical(probs=q)), ref_logits)
    torch.testing.assert_close(ours, theirs)
