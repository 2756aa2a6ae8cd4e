"""Lesson 4's library: the toy response space, β sweeps, exact best-of-n, and mirror descent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons import best_of_n_kl, entropy, kl_divergence, kl_reward_frontier, tilted_policy
from kl_lessons.self_checks.lesson04 import (
    bon_match_n, check_beta_for_kl, check_bon_match, check_honest_gold, check_rounded_bon_kl, check_sqrt_gain_kl,
    gold_optimal_beta,
)
from kl_lessons.toy_responses import (
    beta_sweep,
    best_of_n_policy,
    exact_best_of_n_kl,
    make_toy_responses,
    mirror_descent_iterates,
    tilted_policies,
    tilted_reward_variance,
    toy_frontier_table,
)

TOY = make_toy_responses()


# --- the toy itself -------------------------------------------------------------------------------------------------

def test_toy_is_a_valid_response_space() -> None:
    assert len(TOY) == 36 == len(set(TOY.texts))
    assert float(TOY.ref_probs.sum()) == pytest.approx(1.0, abs=1e-12)
    assert bool((TOY.ref_probs > 0).all())
    # The error is exactly the exploitable enthusiasm bonus.
    torch.testing.assert_close(TOY.error, 0.12 * TOY.exclamations.to(torch.float64))
    # Every "!" count is visible in the text itself.
    assert [t.count("!") for t in TOY.texts] == TOY.exclamations.tolist()


def test_toy_is_deterministic_and_honest_when_asked() -> None:
    again = make_toy_responses()
    assert torch.equal(again.proxy, TOY.proxy) and torch.equal(again.ref_probs, TOY.ref_probs)
    honest = make_toy_responses(exclamation_bonus=0.0)
    assert torch.equal(honest.proxy, honest.gold)


def test_proxy_and_gold_disagree_on_the_best_reply() -> None:
    best_proxy = int(TOY.proxy.argmax())
    assert int(TOY.exclamations[best_proxy]) == 6
    assert float(TOY.gold[best_proxy]) < float(TOY.gold.max())


# --- identities and limits of the tilted optimum ----------------------------------------------------------------

@pytest.mark.parametrize("beta", [0.03, 0.1, 0.5, 2.0])
def test_derivatives_in_lambda_are_variances(beta: float) -> None:
    # λ = 1/β; centred differences in λ against Var_λ[r] and λ·Var_λ[r].
    lam, h = 1.0 / beta, 1e-4 / beta
    e, kl = kl_reward_frontier(TOY.ref_probs, TOY.proxy, [1.0 / (lam + h), 1.0 / (lam - h)])
    var = float(tilted_reward_variance(TOY.ref_probs, TOY.proxy, beta))
    assert float(e[0] - e[1]) / (2 * h) == pytest.approx(var, rel=1e-6)
    assert float(kl[0] - kl[1]) / (2 * h) == pytest.approx(lam * var, rel=1e-6)


def test_variance_matches_an_independent_computation() -> None:
    pi = tilted_policy(TOY.ref_probs, TOY.proxy, 0.2)
    values = TOY.proxy.numpy()
    expected = float(np.cov(values, aweights=pi.numpy(), bias=True))
    assert float(tilted_reward_variance(TOY.ref_probs, TOY.proxy, 0.2)) == pytest.approx(expected, rel=1e-10)


def test_limits_of_beta() -> None:
    far = beta_sweep(TOY, [1e5])
    assert float(far.kl[0]) < 1e-8
    assert float(far.proxy[0]) == pytest.approx(float(TOY.ref_probs @ TOY.proxy), abs=1e-5)
    near = beta_sweep(TOY, [1e-4])
    star = int(TOY.proxy.argmax())
    pi = tilted_policy(TOY.ref_probs, TOY.proxy, 1e-4)
    assert int(pi.argmax()) == star and float(pi[star]) == pytest.approx(1.0, abs=1e-12)
    assert float(near.entropy[0]) < 1e-10
    assert float(near.kl[0]) == pytest.approx(-math.log(float(TOY.ref_probs[star])), rel=1e-10)


def test_sweep_matches_frontier_and_direct_computation() -> None:
    betas = torch.tensor([0.01, 0.1, 1.0], dtype=torch.float64)
    sweep = beta_sweep(TOY, betas)
    expected, kl = kl_reward_frontier(TOY.ref_probs, TOY.proxy, betas)
    torch.testing.assert_close(sweep.proxy, expected)
    torch.testing.assert_close(sweep.kl, kl)
    for i, b in enumerate(betas.tolist()):
        pi = tilted_policy(TOY.ref_probs, TOY.proxy, b)
        assert float(sweep.gold[i]) == pytest.approx(float(pi @ TOY.gold), rel=1e-12)
        assert float(sweep.entropy[i]) == pytest.approx(float(entropy(pi)), rel=1e-12)
    assert tilted_policies(TOY.ref_probs, TOY.proxy, betas).shape == (3, 36)


def test_gold_peaks_at_an_interior_beta() -> None:
    betas = torch.logspace(-3, 1, 201, dtype=torch.float64)
    sweep = beta_sweep(TOY, betas)
    peak = int(sweep.gold.argmax())
    assert 0 < peak < len(betas) - 1
    assert float(sweep.gold[peak]) > float(sweep.gold[0]) + 0.1
    assert float(sweep.gold[peak]) > float(sweep.gold[-1]) + 0.1
    # The proxy, meanwhile, never stops rising as β falls.
    assert bool((sweep.proxy[:-1] >= sweep.proxy[1:] - 1e-12).all())


def test_an_honest_reward_model_has_no_interior_gold_peak() -> None:
    honest = make_toy_responses(exclamation_bonus=0.0)
    sweep = beta_sweep(honest, torch.logspace(-3, 1, 81, dtype=torch.float64))
    assert bool((sweep.gold[:-1] >= sweep.gold[1:] - 1e-12).all())


def test_toy_frontier_table_for_lesson_5() -> None:
    betas, kl = toy_frontier_table([0.01, 0.1, 1.0])
    assert betas.dtype == kl.dtype == torch.float64 and kl.shape == (3,)
    torch.testing.assert_close(kl, beta_sweep(TOY, betas).kl)
    assert bool((kl[:-1] > kl[1:]).all())


@given(st.floats(-2.5, 0.5), st.floats(0.01, 0.5))
def test_frontier_falls_with_beta_and_has_slope_beta(log10_beta: float, gap: float) -> None:
    b_lo, b_hi = 10.0**log10_beta, 10.0 ** (log10_beta + gap)
    sweep = beta_sweep(TOY, [b_lo, b_hi])
    assert float(sweep.kl[1]) <= float(sweep.kl[0]) + 1e-12
    assert float(sweep.proxy[1]) <= float(sweep.proxy[0]) + 1e-12
    # Slope dE/dKL at b_lo by a small step in log β (skipped where β is so small the curve is flat).
    h = 1e-5
    e, kl = kl_reward_frontier(TOY.ref_probs, TOY.proxy, [b_lo * math.exp(h), b_lo * math.exp(-h)])
    dkl = float(kl[0] - kl[1])
    if abs(dkl) > 1e-8:
        assert float(e[0] - e[1]) / dkl == pytest.approx(b_lo, rel=1e-4)


# --- best-of-n ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 4, 16, 300])
def test_best_of_n_sums_to_one_and_obeys_the_bound(n: int) -> None:
    pi = best_of_n_policy(TOY.ref_probs, TOY.proxy, n)
    assert float(pi.sum()) == pytest.approx(1.0, abs=1e-12) and bool((pi >= 0).all())
    kl = float(exact_best_of_n_kl(TOY.ref_probs, TOY.proxy, n))
    bound = float(best_of_n_kl(n))
    assert kl <= bound + 1e-12
    if n >= 2:
        assert kl < bound  # strict on a finite set
    else:
        torch.testing.assert_close(pi, TOY.ref_probs)


def test_best_of_n_matches_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(0)
    n, draws = 4, 200_000
    idx = torch.multinomial(TOY.ref_probs.expand(draws, -1), n, replacement=True, generator=gen)
    # argmax picks the first of tied samples: a rule blind to which reply a sample is.
    winners = idx.gather(1, TOY.proxy[idx].argmax(1, keepdim=True)).squeeze(1)
    empirical = torch.bincount(winners, minlength=len(TOY)).to(torch.float64) / draws
    exact = best_of_n_policy(TOY.ref_probs, TOY.proxy, n)
    # Each frequency within 5 binomial standard errors.
    se = (exact * (1 - exact) / draws).sqrt()
    assert bool(((empirical - exact).abs() <= 5 * se + 1e-9).all())


def test_ties_share_their_level_in_proportion_to_the_reference() -> None:
    ref = torch.tensor([0.2, 0.3, 0.1, 0.4], dtype=torch.float64)
    r = torch.tensor([0.0, 1.0, 1.0, 0.5], dtype=torch.float64)
    pi = best_of_n_policy(ref, r, 2)
    # Top level {1, 2} has mass 0.4, so P(win) = 1 − 0.6²; split 3:1.
    win = 1 - 0.6**2
    torch.testing.assert_close(pi[1:3], torch.tensor([0.75 * win, 0.25 * win], dtype=torch.float64))
    torch.testing.assert_close(pi[0], torch.tensor(0.2**2, dtype=torch.float64))
    # A tolerance merges near-ties the same way.
    near = best_of_n_policy(ref, r + torch.tensor([0, 0, 1e-12, 0], dtype=torch.float64), 2, tie_atol=1e-9)
    torch.testing.assert_close(near, pi)


def test_best_of_n_approaches_the_bound_with_many_distinct_levels() -> None:
    k = 4000
    ref = torch.full((k,), 1.0 / k, dtype=torch.float64)
    r = torch.arange(k, dtype=torch.float64)
    kl = float(exact_best_of_n_kl(ref, r, 8))
    assert kl == pytest.approx(float(best_of_n_kl(8)), abs=2e-3)


# --- mirror descent = early stopping ---------------------------------------------------------------------------------

def test_unpenalised_mirror_descent_iterates_are_tilted_policies() -> None:
    eta, steps = 0.5, 60
    iterates = mirror_descent_iterates(TOY.ref_probs, TOY.proxy, eta, steps)
    assert iterates.shape == (steps + 1, len(TOY))
    torch.testing.assert_close(iterates[0], TOY.ref_probs)
    for t in range(1, steps + 1):
        expected = tilted_policy(TOY.ref_probs, TOY.proxy, 1.0 / (eta * t))
        torch.testing.assert_close(iterates[t], expected, rtol=1e-10, atol=1e-13)


def test_penalised_mirror_descent_stops_at_pi_beta() -> None:
    eta, beta, steps = 2.0, 0.1, 80
    iterates = mirror_descent_iterates(TOY.ref_probs, TOY.proxy, eta, steps, kl_coef=beta)
    for t in (1, 5, 20, steps):
        lam_t = (1 - (1 - eta * beta) ** t) / beta
        expected = tilted_policy(TOY.ref_probs, TOY.proxy, 1.0 / lam_t)
        torch.testing.assert_close(iterates[t], expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(iterates[-1], tilted_policy(TOY.ref_probs, TOY.proxy, beta), rtol=1e-6, atol=1e-9)


def test_mirror_descent_keeps_zero_reference_mass_at_zero() -> None:
    iterates = mirror_descent_iterates([0.5, 0.5, 0.0], [0.0, 1.0, 5.0], 1.0, 5, kl_coef=0.3)
    assert bool(torch.isfinite(iterates).all()) and bool((iterates[:, 2] == 0).all())


# --- self-check ------------------------------------------------------------------------------------------------------


JUNK = ["abc", None, math.nan, math.inf, torch.tensor([1.0, 2.0]), 10**400, [0.1], object()]


def _beta_with_kl(kl: float) -> float:
    lo, hi = math.log(1e-4), math.log(100.0)
    for _ in range(80):  # bisection in log β: KL falls as β grows
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if float(toy_frontier_table([math.exp(mid)])[1][0]) > kl else (lo, mid)
    return math.exp(0.5 * (lo + hi))


def test_self_check_guides_towards_the_target() -> None:
    assert check_beta_for_kl(0.05).startswith("Not yet") and "raise β" in check_beta_for_kl(0.05)
    assert "lower β" in check_beta_for_kl(0.5)
    assert check_beta_for_kl(_beta_with_kl(2.0)).startswith("✅")
    assert check_beta_for_kl("abc").startswith("❌") and check_beta_for_kl(-1.0).startswith("❌")


def test_check_beta_for_kl_names_the_slips() -> None:
    assert "bits" in check_beta_for_kl(_beta_with_kl(2 * math.log(2)))        # 2 bits, not 2 nats
    assert "√KL" in check_beta_for_kl(_beta_with_kl(4.0))                      # read √KL = 2 off the frontier
    assert "λ = 1/β" in check_beta_for_kl(1 / _beta_with_kl(2.0))               # the inverse stiffness
    assert "gold peaks" in check_beta_for_kl(gold_optimal_beta())
    assert check_beta_for_kl(...).startswith("❌ fill in")
    for junk in JUNK:
        assert check_beta_for_kl(junk).startswith("❌")


def test_gold_optimal_beta_is_the_lessons_beta_star() -> None:
    b = gold_optimal_beta()
    gold = beta_sweep(TOY, [b * 0.9, b, b * 1.1]).gold
    assert 0.1 < b < 0.12 and float(gold[1]) > max(float(gold[0]), float(gold[2]))


def test_check_honest_gold_messages() -> None:
    honest = make_toy_responses(exclamation_bonus=0.0)
    best = float(honest.gold.max())
    assert check_honest_gold(best).startswith("Correct") and check_honest_gold(round(best, 3)).startswith("Correct")
    hacked_peak = float(beta_sweep(TOY, [gold_optimal_beta()]).gold[0])
    assert "hackable" in check_honest_gold(hacked_peak)
    assert "π_ref" in check_honest_gold(float(honest.ref_probs @ honest.gold))
    assert "hacked proxy" in check_honest_gold(float(TOY.proxy.max()))
    assert "cannot exceed" in check_honest_gold(best + 0.1)
    assert check_honest_gold(0.3).startswith("Not yet")
    assert check_honest_gold(...).startswith("Fill in")
    for junk in JUNK:
        assert check_honest_gold(junk).startswith("Please")


def test_check_sqrt_gain_kl_messages() -> None:
    assert check_sqrt_gain_kl(lambda a, beta: a * a / (4 * beta * beta)).startswith("Correct")
    assert "Square it" in check_sqrt_gain_kl(lambda a, beta: a / (2 * beta))            # √KL, not KL
    assert "β is squared too" in check_sqrt_gain_kl(lambda a, beta: a * a / (4 * beta))
    assert "mind the ½" in check_sqrt_gain_kl(lambda a, beta: (a / beta) ** 2)
    assert "gain/β" in check_sqrt_gain_kl(lambda a, beta: a / beta)
    assert check_sqrt_gain_kl(lambda a, beta: 1.0).startswith("Not yet")
    assert "nothing yet" in check_sqrt_gain_kl(lambda a, beta: None)
    assert "raised ZeroDivisionError" in check_sqrt_gain_kl(lambda a, beta: 1 / 0)
    assert check_sqrt_gain_kl(lambda a, beta: "x").startswith("Return one finite number")
    assert check_sqrt_gain_kl(lambda a, beta: torch.tensor([1.0, 2.0])).startswith("Return one finite number")
    for junk in JUNK:
        assert check_sqrt_gain_kl(junk).startswith("Pass your function")


def test_check_bon_match_messages() -> None:
    n = bon_match_n()
    target = float(beta_sweep(TOY, [gold_optimal_beta()]).kl[0])
    gaps = [abs(float(exact_best_of_n_kl(TOY.ref_probs, TOY.proxy, k)) - target) for k in range(1, 65)]
    assert gaps[n - 1] == min(gaps)
    assert check_bon_match(n).startswith("Correct")
    assert "more than" in check_bon_match(n + 1) and "less than" in check_bon_match(n - 1)
    assert check_bon_match(10**7).startswith("Not yet")
    assert check_bon_match(...).startswith("Fill in")
    for junk in JUNK + [2.5, 0, -3, True]:
        assert check_bon_match(junk).startswith("n is a whole number")


def test_check_rounded_bon_kl_messages() -> None:
    rounded = torch.round(TOY.proxy, decimals=1)
    want = float(exact_best_of_n_kl(TOY.ref_probs, rounded, 8))
    assert check_rounded_bon_kl(want).startswith("Correct")
    assert check_rounded_bon_kl(round(want, 3)).startswith("Correct")
    assert "unrounded" in check_rounded_bon_kl(float(exact_best_of_n_kl(TOY.ref_probs, TOY.proxy, 8)))
    assert "assumes no ties" in check_rounded_bon_kl(math.log(8) - 7 / 8)
    assert "bits" in check_rounded_bon_kl(want / math.log(2))
    assert check_rounded_bon_kl(0.5).startswith("Not yet")
    assert check_rounded_bon_kl(...).startswith("Fill in")
    for junk in JUNK:
        assert check_rounded_bon_kl(junk).startswith("Please")


# --- validation -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: make_toy_responses(exclamation_bonus=-0.1), "exclamation_bonus"),
        (lambda: make_toy_responses(shouting_cost=float("nan")), "shouting_cost"),
        (lambda: beta_sweep(TOY, [0.1, 0.0]), "betas"),
        (lambda: toy_frontier_table([]), "betas"),
        (lambda: tilted_reward_variance(TOY.ref_probs, TOY.proxy, 0.0), "beta"),
        (lambda: tilted_reward_variance(TOY.ref_probs[None], TOY.proxy[None], 0.1), "rewards"),
        (lambda: best_of_n_policy(TOY.ref_probs, TOY.proxy, 0), "n"),
        (lambda: best_of_n_policy(TOY.ref_probs, TOY.proxy, 2.5), "n"),
        (lambda: best_of_n_policy(TOY.ref_probs, TOY.proxy[:5], 2), "rewards"),
        (lambda: best_of_n_policy([0.5, 0.6], [0.0, 1.0], 2), "ref_probs"),
        (lambda: best_of_n_policy(TOY.ref_probs, TOY.proxy, 2, tie_atol=-1.0), "tie_atol"),
        (lambda: mirror_descent_iterates(TOY.ref_probs, TOY.proxy, 0.0, 3), "step_size"),
        (lambda: mirror_descent_iterates(TOY.ref_probs, TOY.proxy, 0.1, -1), "n_steps"),
        (lambda: mirror_descent_iterates(TOY.ref_probs, TOY.proxy, 0.1, 3, kl_coef=-1.0), "kl_coef"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_exercise_solutions_numbers() -> None:
    """The numbers the lesson's solutions state for the honest toy and for best-of-n at π_β*'s budget."""
    honest = make_toy_responses(exclamation_bonus=0.0)
    top = honest.gold == honest.gold.max()
    assert math.isclose(float(honest.gold.max()), 0.4) and int(top.sum()) == 2
    assert sorted(int(m) for m in honest.exclamations[top]) == [0, 1]      # a full stop and one "!"
    star = beta_sweep(TOY, [gold_optimal_beta()])
    p7 = best_of_n_policy(TOY.ref_probs, TOY.proxy, 7)
    kl7 = float(kl_divergence(p7, TOY.ref_probs))
    assert bon_match_n() == 7 and round(kl7, 3) == 1.081 and round(float(star.kl[0]), 3) == 1.090
    assert round(float(exact_best_of_n_kl(TOY.ref_probs, TOY.proxy, 8)), 3) == 1.196
    assert round(float(p7 @ TOY.gold), 3) == 0.219 and round(float(star.gold[0]), 3) == 0.186
    assert round(float(p7 @ TOY.proxy), 3) == 0.401 and round(float(star.proxy[0]), 3) == 0.413
    # π_β at best-of-7's own KL still beats it on the proxy.
    assert float(beta_sweep(TOY, [_beta_with_kl(kl7)]).proxy[0]) > float(p7 @ TOY.proxy)
    # ex-04-target-kl: β ≈ 0.0727 spends 2 nats, with gold about 0.16.
    beta_2 = _beta_with_kl(2.0)
    assert round(beta_2, 4) == 0.0727 and round(float(beta_sweep(TOY, [beta_2]).gold[0]), 2) == 0.16
    # Rounded proxy: 12 distinct scores; best-of-8's KL falls from 1.196 to 1.166, below log 8 − 7/8 ≈ 1.204.
    rounded = torch.round(TOY.proxy, decimals=1)
    assert len(set(rounded.tolist())) == 12
    assert round(float(exact_best_of_n_kl(TOY.ref_probs, rounded, 8)), 3) == 1.166
    assert round(math.log(8) - 7 / 8, 3) == 1.204
