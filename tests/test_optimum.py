"""The tilted optimum π_β ∝ π_ref·exp(r/β), the reward–KL frontier and best-of-n KL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons import best_of_n_kl, entropy, kl_divergence, kl_reward_frontier, tilted_policy

REF = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15], dtype=torch.float64)
R = torch.tensor([1.0, -0.5, 0.3, 2.0, 0.0], dtype=torch.float64)


def test_tilted_policy_maximises_the_regularised_objective() -> None:
    beta = 0.7
    best = tilted_policy(REF, R, beta)
    objective = lambda pi: float(pi @ R - beta * kl_divergence(pi, REF))  # noqa: E731
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        other = torch.softmax(torch.log(best) + 0.3 * torch.randn(5, generator=gen, dtype=torch.float64), -1)
        assert objective(best) >= objective(other) - 1e-12


def test_stable_for_tiny_beta_and_huge_rewards() -> None:
    pi = tilted_policy(REF, R * 1000, 1e-4)
    assert bool(torch.isfinite(pi).all())
    torch.testing.assert_close(pi, torch.tensor([0, 0, 0, 1.0, 0], dtype=torch.float64))


def test_zero_reference_mass_stays_zero() -> None:
    pi = tilted_policy([0.5, 0.5, 0.0], [0.0, 0.0, 100.0], 0.01)
    assert float(pi[2]) == 0.0
    expected, kl = kl_reward_frontier([0.5, 0.5, 0.0], [0.0, 1.0, 100.0], [0.01, 1.0])
    assert bool(torch.isfinite(kl).all()) and bool(torch.isfinite(expected).all())


def test_frontier_matches_tilted_policy_and_identities() -> None:
    betas = torch.tensor([0.05, 0.3, 1.0, 4.0], dtype=torch.float64)
    expected, kl = kl_reward_frontier(REF, R, betas)
    for b, e, k in zip(betas, expected, kl):
        pi = tilted_policy(REF, R, float(b))
        assert float(e) == pytest.approx(float(pi @ R), rel=1e-12)
        assert float(k) == pytest.approx(float(kl_divergence(pi, REF)), rel=1e-10, abs=1e-14)
        # KL = λ·E[r] − log Z with λ = 1/β.
        log_z = float(torch.logsumexp(torch.log(REF) + R / b, 0))
        assert float(k) == pytest.approx(float(e / b) - log_z, rel=1e-9, abs=1e-12)


def test_limits() -> None:
    _, kl_far = kl_reward_frontier(REF, R, [1e6])
    assert float(kl_far) < 1e-9
    pi = tilted_policy(REF, R, 1e-3)
    assert float(entropy(pi)) < 1e-6
    _, kl_near = kl_reward_frontier(REF, R, [1e-3])
    assert float(kl_near) == pytest.approx(-math.log(float(REF[int(R.argmax())])), rel=1e-6)


@given(st.integers(0, 10_000), st.integers(3, 12))
def test_frontier_monotone_with_slope_beta(seed: int, k: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    ref = torch.softmax(torch.randn(k, generator=gen, dtype=torch.float64), -1)
    r = torch.randn(k, generator=gen, dtype=torch.float64)
    betas = torch.logspace(-1, 1, 41, dtype=torch.float64)
    expected, kl = kl_reward_frontier(ref, r, betas)
    assert bool((kl[1:] <= kl[:-1] + 1e-12).all())
    assert bool((expected[1:] <= expected[:-1] + 1e-12).all())
    # dE/dKL = β: a centred difference in log β, checked where the curve is not flat.
    h = 1e-4
    for b in (0.3, 1.0, 3.0):
        e2, k2 = kl_reward_frontier(ref, r, [b * math.exp(h), b * math.exp(-h)])
        dk = float(k2[0] - k2[1])
        if abs(dk) > 1e-9:
            assert float(e2[0] - e2[1]) / dk == pytest.approx(b, rel=1e-4)


def test_best_of_n_kl_formula() -> None:
    n = np.array([1, 2, 4, 16])
    torch.testing.assert_close(best_of_n_kl(n), torch.tensor(np.log(n) - (n - 1) / n))
    assert float(best_of_n_kl(1)) == 0.0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: tilted_policy(REF, R, 0.0), "beta"),
        (lambda: tilted_policy(REF, R, -1.0), "beta"),
        (lambda: tilted_policy(REF, R, float("inf")), "beta"),
        (lambda: tilted_policy(REF, R[:3], 1.0), "rewards"),
        (lambda: tilted_policy(REF * 2, R, 1.0), "ref_probs"),
        (lambda: tilted_policy(REF, R + float("nan"), 1.0), "rewards"),
        (lambda: kl_reward_frontier(REF, R, [1.0, 0.0]), "betas"),
        (lambda: kl_reward_frontier(REF, R, [float("nan")]), "betas"),
        (lambda: best_of_n_kl(0), "n"),
        (lambda: best_of_n_kl(2.5), "n"),
    ],
)
def test_bad_input_raises(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
