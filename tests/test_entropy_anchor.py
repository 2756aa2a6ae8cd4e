"""Lesson 8 §4: the optimum of E[r] + α·H(π) − β·KL(π‖π_ref), and KL = entropy bonus + anchor.

The closed form π ∝ π_ref^(β/(α+β))·exp(r/(α+β)) (:func:`kl_lessons.regularised_policy`) is
checked against its special cases (lesson 4's tilted optimum, the softmax of an entropy bonus
alone, the arg max), against random policies and a numerical maximiser, and on random inputs.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons import cross_entropy, entropy, kl_divergence, regularised_policy, tilted_policy
from kl_lessons.toy_responses import make_toy_responses

F64 = torch.float64
REF = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15], dtype=F64)
R = torch.tensor([1.0, -0.5, 0.3, 2.0, 0.0], dtype=F64)


def objective(pi: torch.Tensor, ref: torch.Tensor, r: torch.Tensor, beta: float, alpha: float) -> torch.Tensor:
    """J(π) = E_π[r] + α·H(π) − β·KL(π‖π_ref), written out term by term (0·log 0 = 0)."""
    neg_entropy = torch.xlogy(pi, pi).sum(-1)
    kl = neg_entropy - torch.xlogy(pi, ref).sum(-1)
    return pi @ r - alpha * neg_entropy - beta * kl


# ----------------------------------------------------------------------------- special cases
@pytest.mark.parametrize("beta", [1e-3, 0.05, 0.3, 1.0, 7.0])
def test_without_an_entropy_bonus_it_is_the_tilted_optimum(beta: float) -> None:
    torch.testing.assert_close(regularised_policy(REF, R, beta, 0.0), tilted_policy(REF, R, beta), rtol=0, atol=1e-15)
    toy = make_toy_responses()
    torch.testing.assert_close(regularised_policy(toy.ref_probs, toy.proxy, beta, 0.0),
                               tilted_policy(toy.ref_probs, toy.proxy, beta), rtol=0, atol=1e-15)


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 0.3, 1.0, 7.0])
def test_an_entropy_bonus_alone_is_a_softmax_that_ignores_the_reference(alpha: float) -> None:
    expected = torch.softmax(R / alpha, -1)
    torch.testing.assert_close(regularised_policy(REF, R, 0.0, alpha), expected, rtol=0, atol=1e-15)
    # π_ref plays no part, not even where it is 0.
    torch.testing.assert_close(regularised_policy([0.0, 0.0, 1.0, 0.0, 0.0], R, 0.0, alpha), expected,
                               rtol=0, atol=1e-15)


def test_no_regulariser_puts_all_mass_on_the_best_reply_split_over_ties() -> None:
    torch.testing.assert_close(regularised_policy(REF, R, 0.0, 0.0), torch.tensor([0, 0, 0, 1.0, 0], dtype=F64))
    tied = regularised_policy(REF, [1.0, 2.0, 2.0, -3.0, 2.0], 0.0, 0.0)
    torch.testing.assert_close(tied, torch.tensor([0, 1, 1, 0, 1], dtype=F64) / 3)
    # It is the limit of the entropy bonus's softmax as α → 0.
    torch.testing.assert_close(regularised_policy(REF, [1.0, 2.0, 2.0, -3.0, 2.0], 0.0, 1e-3), tied)


def test_a_reply_the_reference_rules_out_gets_nothing_while_beta_is_positive() -> None:
    ref = [0.5, 0.5, 0.0]
    for beta, alpha in [(0.3, 0.0), (0.3, 5.0), (1e-300, 1.0)]:
        assert float(regularised_policy(ref, [0.0, 0.0, 100.0], beta, alpha)[2]) == 0.0
    assert float(regularised_policy(ref, [0.0, 0.0, 100.0], 0.0, 1.0)[2]) == pytest.approx(1.0)


@pytest.mark.parametrize(("beta", "alpha"), [(0.9, 0.1), (0.1, 0.9), (0.25, 1.75), (3.0, 0.5)])
def test_the_anchor_weighs_beta_over_alpha_plus_beta_at_temperature_alpha_plus_beta(beta: float, alpha: float) -> None:
    expected = torch.softmax((beta * REF.log() + R) / (alpha + beta), -1)
    torch.testing.assert_close(regularised_policy(REF, R, beta, alpha), expected, rtol=0, atol=1e-15)


def test_extreme_coefficients_stay_finite() -> None:
    assert torch.equal(regularised_policy(REF, R * 1e300, 1e-300, 1e-300), torch.tensor([0, 0, 0, 1.0, 0], dtype=F64))
    # α + β overflows a float: the reward stops mattering and π ∝ π_ref^(β/(α+β)) = √π_ref.
    huge = regularised_policy(REF, R, 1.5e308, 1.5e308)
    torch.testing.assert_close(huge, REF.sqrt() / REF.sqrt().sum(), rtol=0, atol=1e-15)


def test_rows_of_a_batch_are_solved_independently() -> None:
    refs = torch.stack([REF, REF.flip(0), torch.full((5,), 0.2, dtype=F64)])
    rewards = torch.stack([R, -R, R.roll(1)])
    batch = regularised_policy(refs, rewards, 0.4, 0.2)
    for row in range(3):
        torch.testing.assert_close(batch[row], regularised_policy(refs[row], rewards[row], 0.4, 0.2))


# ----------------------------------------------------------------------------- it is the maximiser
@pytest.mark.parametrize(("beta", "alpha"), [(0.3, 0.0), (0.3, 0.3), (0.0, 0.3), (1.2, 0.05), (0.02, 0.7)])
def test_the_closed_form_beats_random_policies(beta: float, alpha: float) -> None:
    best = regularised_policy(REF, R, beta, alpha)
    top = objective(best, REF, R, beta, alpha)
    gen = torch.Generator().manual_seed(8)
    near = torch.softmax(best.log() + 0.3 * torch.randn(500, 5, generator=gen, dtype=F64), -1)
    anywhere = torch.distributions.Dirichlet(torch.ones(5, dtype=F64)).sample((500,))
    for others in (near, anywhere):
        assert bool((objective(others, REF, R, beta, alpha) <= top + 1e-12).all())


def _numerical_maximiser(ref: torch.Tensor, r: torch.Tensor, beta: float, alpha: float) -> torch.Tensor:
    """Maximise J over the logits of π with L-BFGS in float64, from the uniform policy."""
    logits = torch.zeros_like(ref, requires_grad=True)
    opt = torch.optim.LBFGS([logits], lr=1.0, max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = -objective(torch.softmax(logits, -1), ref, r, beta, alpha)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    return torch.softmax(logits.detach(), -1)


@pytest.mark.parametrize(("beta", "alpha"), [(0.3, 0.0), (0.3, 0.3), (0.0, 0.3), (1.2, 0.05), (0.1, 0.7)])
def test_a_numerical_maximiser_finds_the_closed_form(beta: float, alpha: float) -> None:
    toy = make_toy_responses()
    found = _numerical_maximiser(toy.ref_probs, toy.proxy, beta, alpha)
    exact = regularised_policy(toy.ref_probs, toy.proxy, beta, alpha)
    torch.testing.assert_close(found, exact, rtol=0, atol=1e-8)
    assert float(objective(found, toy.ref_probs, toy.proxy, beta, alpha)) == pytest.approx(
        float(objective(exact, toy.ref_probs, toy.proxy, beta, alpha)), rel=0, abs=1e-12)


# ----------------------------------------------------------------------------- KL = −H(π) + H(π, π_ref)
@pytest.mark.parametrize(("beta", "alpha"), [(0.3, 0.0), (0.3, 0.3), (0.0, 0.3), (2.0, 1.0)])
def test_kl_is_an_entropy_bonus_plus_an_anchor(beta: float, alpha: float) -> None:
    toy = make_toy_responses()
    pi = regularised_policy(toy.ref_probs, toy.proxy, beta, alpha)
    kl, h, cross = kl_divergence(pi, toy.ref_probs), entropy(pi), cross_entropy(pi, toy.ref_probs)
    assert float(kl) == pytest.approx(float(-h + cross), rel=1e-12, abs=1e-14)
    p, q = torch.distributions.Categorical(probs=pi), torch.distributions.Categorical(probs=toy.ref_probs)
    assert float(torch.distributions.kl_divergence(p, q)) == pytest.approx(float(kl), rel=1e-10, abs=1e-14)
    assert float(p.entropy()) == pytest.approx(float(h), rel=1e-12)
    assert float(-(pi * q.logits).sum()) == pytest.approx(float(cross), rel=1e-12)  # q.logits: normalised log π_ref
    # So J with (β, α) is J with KL swapped for its two parts: E[r] + (α + β)·H(π) − β·H(π, π_ref).
    assert float(objective(pi, toy.ref_probs, toy.proxy, beta, alpha)) == pytest.approx(
        float(pi @ toy.proxy + (alpha + beta) * h - beta * cross), rel=1e-12)


def test_an_entropy_bonus_alone_keeps_entropy_but_not_fluency() -> None:
    # Lesson 8 §4 on lesson 4's toy: swap the KL penalty for an entropy bonus of the same size.
    toy = make_toy_responses()
    shouty = toy.exclamations >= 3
    with_kl, bonus_only = (regularised_policy(toy.ref_probs, toy.proxy, b, a) for b, a in ((0.3, 0.0), (0.0, 0.3)))
    assert float(entropy(bonus_only)) > float(entropy(with_kl))  # as spread out, or more
    assert float(cross_entropy(bonus_only, toy.ref_probs)) > float(cross_entropy(with_kl, toy.ref_probs)) + 1.0
    assert float(bonus_only[shouty].sum()) > 3 * float(with_kl[shouty].sum())
    assert float(bonus_only @ toy.gold) < float(with_kl @ toy.gold)


# ----------------------------------------------------------------------------- random inputs
@st.composite
def _problem(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    k = draw(st.integers(2, 12))
    weights = draw(st.lists(st.floats(1e-3, 1.0), min_size=k, max_size=k))
    rewards = draw(st.lists(st.floats(-20.0, 20.0), min_size=k, max_size=k))
    coefficient = st.one_of(st.just(0.0), st.floats(1e-3, 50.0))
    beta, alpha = draw(coefficient), draw(coefficient)
    ref = torch.tensor(weights, dtype=F64)
    return ref / ref.sum(), torch.tensor(rewards, dtype=F64), beta, alpha


@given(_problem())
def test_random_problems_satisfy_the_optimality_condition(problem: tuple) -> None:
    ref, r, beta, alpha = problem
    pi = regularised_policy(ref, r, beta, alpha)
    assert pi.dtype == F64 and bool(torch.isfinite(pi).all()) and bool((pi >= 0).all())
    assert float(pi.sum()) == pytest.approx(1.0, abs=1e-12)
    if alpha + beta == 0:
        assert float(pi @ r) == pytest.approx(float(r.max()), abs=1e-12)
        return
    # Where π > 0: (α + β)·log π − β·log π_ref − r is the same constant (the Lagrange multiplier).
    alive = pi > 1e-250
    residual = (alpha + beta) * pi[alive].log() - beta * ref[alive].log() - r[alive]
    assert float(residual.max() - residual.min()) <= 1e-9 * (1 + float(r.abs().max()) + (alpha + beta) * 600)
    # And no nearby policy does better.
    gen = torch.Generator().manual_seed(0)
    others = torch.softmax(pi.clamp_min(1e-300).log() + 0.1 * torch.randn(50, len(ref), generator=gen, dtype=F64), -1)
    top = objective(pi, ref, r, beta, alpha)
    assert bool((objective(others, ref, r, beta, alpha) <= top + 1e-9 * (1 + abs(float(top)))).all())


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "name"), [
    ({"beta": -0.1}, "beta"), ({"alpha": -0.1}, "alpha"), ({"beta": math.nan}, "beta"), ({"alpha": math.inf}, "alpha"),
    ({"beta": "0.3"}, "beta"), ({"alpha": True}, "alpha"), ({"ref_probs": [0.5, 0.6, 0.0, 0.0, 0.0]}, "ref_probs"),
    ({"rewards": [1.0, math.nan, 0.0, 0.0, 0.0]}, "rewards"), ({"rewards": [1.0, 2.0]}, "rewards"),
])
def test_bad_input_names_the_argument(kwargs: dict, name: str) -> None:
    args = {"ref_probs": REF, "rewards": R, "beta": 0.3, "alpha": 0.1, **kwargs}
    with pytest.raises(ValueError, match=name):
        regularised_policy(**args)
