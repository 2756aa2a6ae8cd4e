"""Lesson 3 library: KL in the reward vs in the loss, the café batch, the self-checks, shaped rewards."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Categorical
from torch.distributions import kl_divergence as torch_kl

from kl_lessons import kl_divergence, kl_penalized_rewards, tilted_policy
from kl_lessons.response_batch import ResponseBatch, cafe_review_batch
from kl_lessons.kl_in_loss import (
    draw_samples,
    estimator_gradients,
    expected_estimator_gradient,
    follow_expected_gradient,
    forward_kl_gradient,
    reverse_kl_gradient,
)
from kl_lessons.self_checks.lesson03 import (
    BETA_TOLERANCE, UNITS_TASK, check_loss_estimator, check_overtake_beta, check_response_penalty, overtake_beta, response_penalty,
)

@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Every tensor here is tiny; with one thread, torch skips thread hand-offs that dominate on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# A policy that drifted onto its last outcome, far from a reference that prefers the first.
LOGITS = torch.tensor([0.0, -0.5, -1.0, 1.6], dtype=torch.float64)
REF = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64)


def _autograd_of_torch_kl(logits: torch.Tensor, ref: torch.Tensor, policy_first: bool) -> torch.Tensor:
    theta = logits.clone().requires_grad_(True)
    pi, pref = Categorical(logits=theta), Categorical(probs=ref)
    kl = torch_kl(pi, pref) if policy_first else torch_kl(pref, pi)
    (grad,) = torch.autograd.grad(kl, theta)
    return grad


@st.composite
def toy_policies(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    k = draw(st.integers(2, 6))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    scale = draw(st.floats(0.1, 3.0))
    logits = scale * torch.randn(k, generator=gen, dtype=torch.float64)
    ref = torch.softmax(scale * torch.randn(k, generator=gen, dtype=torch.float64), -1)
    return logits, ref


# --- exact gradients -------------------------------------------------------------------------


@given(toy_policies())
def test_exact_gradients_match_torch_distributions_and_closed_forms(policy: tuple) -> None:
    logits, ref = policy
    pi = torch.softmax(logits, -1)
    rev, fwd = reverse_kl_gradient(logits, ref), forward_kl_gradient(logits, ref)
    torch.testing.assert_close(rev, _autograd_of_torch_kl(logits, ref, policy_first=True))
    torch.testing.assert_close(fwd, _autograd_of_torch_kl(logits, ref, policy_first=False))
    # Closed forms in the logits: π ⊙ (ℓ − KL) with ℓ = log(π/π_ref), and π − π_ref.
    log_ratio = pi.log() - ref.log()
    torch.testing.assert_close(rev, pi * (log_ratio - kl_divergence(pi, ref)))
    torch.testing.assert_close(fwd, pi - ref)


def test_exact_gradients_stay_finite_when_the_softmax_underflows() -> None:
    # A logit gap of 800 makes softmax return exact zeros; working in log-probabilities keeps the
    # gradients finite and equal to their closed forms (π is then one-hot, so KL(π‖π_ref) = −log π_ref(0)).
    logits = torch.tensor([800.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    pi = torch.softmax(logits, -1)
    assert float(pi[1:].sum()) == 0.0
    kl = -math.log(float(REF[0]))
    log_ratio = torch.log_softmax(logits, -1) - REF.log()
    torch.testing.assert_close(reverse_kl_gradient(logits, REF), pi * (log_ratio - kl))
    torch.testing.assert_close(forward_kl_gradient(logits, REF), pi - REF)


# --- what each placement follows in expectation (exact sums over outcomes) --------------------


@given(toy_policies())
def test_expected_gradients_of_each_placement(policy: tuple) -> None:
    logits, ref = policy
    pi = torch.softmax(logits, -1)
    rev = reverse_kl_gradient(logits, ref)
    # KL in the reward with k1 (PPO, RLOO): unbiased for ∇KL(π‖π_ref).
    torch.testing.assert_close(expected_estimator_gradient(logits, ref, "reward", "k1"), rev)
    # KL in the loss with k3 (GRPO): derivation gives E[(1 − π_ref/π)∇log π] = −Σ π_ref ∇log π = π − π_ref.
    torch.testing.assert_close(expected_estimator_gradient(logits, ref, "loss", "k3"), pi - ref)
    torch.testing.assert_close(expected_estimator_gradient(logits, ref, "loss", "k3"), forward_kl_gradient(logits, ref))
    # k1 in the loss: ∇log π averages to zero; k2 in the loss: the right gradient.
    torch.testing.assert_close(expected_estimator_gradient(logits, ref, "loss", "k1"), torch.zeros_like(pi))
    torch.testing.assert_close(expected_estimator_gradient(logits, ref, "loss", "k2"), rev)


def test_k3_in_the_loss_differs_from_the_kl_gradient_away_from_the_reference() -> None:
    rev = reverse_kl_gradient(LOGITS, REF)
    k3_loss = expected_estimator_gradient(LOGITS, REF, "loss", "k3")
    # Gradients here are a few tenths per logit; a gap of 0.1 is no rounding error.
    assert float((k3_loss - rev).abs().max()) > 0.1


def test_both_placements_vanish_at_the_reference_and_agree_to_first_order_near_it() -> None:
    direction = torch.tensor([1.0, -2.0, 0.5, 0.3], dtype=torch.float64)
    at_ref = REF.log()
    for g in (reverse_kl_gradient(at_ref, REF), expected_estimator_gradient(at_ref, REF, "loss", "k3")):
        torch.testing.assert_close(g, torch.zeros(4, dtype=torch.float64), atol=1e-12, rtol=0)
    gaps = []
    for eps in (1e-2, 1e-3):
        logits = at_ref + eps * direction
        rev, k3 = reverse_kl_gradient(logits, REF), forward_kl_gradient(logits, REF)
        gaps.append(float((rev - k3).norm() / rev.norm()))
    # Both KLs share the same second-order term, so the relative gap shrinks in proportion to eps.
    assert gaps[1] < 0.2 * gaps[0]


def test_per_sample_k2_in_the_loss_equals_k1_in_the_reward() -> None:
    samples = draw_samples(LOGITS, 50, seed=1)
    torch.testing.assert_close(
        estimator_gradients(LOGITS, REF, samples, "loss", "k2"),
        estimator_gradients(LOGITS, REF, samples, "reward", "k1"),
    )


def test_per_sample_reward_gradient_matches_the_score_function_formula() -> None:
    samples = torch.tensor([0, 3, 3, 1])
    pi = torch.softmax(LOGITS, -1)
    k1 = pi.log()[samples] - REF.log()[samples]
    score = torch.nn.functional.one_hot(samples, 4).to(torch.float64) - pi  # ∇θ log softmax(θ)_y = e_y − π
    torch.testing.assert_close(estimator_gradients(LOGITS, REF, samples, "reward", "k1"), k1[:, None] * score)


# --- where training with each placement settles -------------------------------------------------

REWARDS = torch.tensor([0.0, 0.2, 0.1, 1.0], dtype=torch.float64)


@pytest.mark.parametrize("beta", [0.3, 0.5, 1.0])
def test_kl_in_the_reward_settles_at_the_tilted_optimum(beta: float) -> None:
    settled = follow_expected_gradient(REF, REWARDS, beta, "reward", "k1")
    torch.testing.assert_close(settled, tilted_policy(REF, REWARDS, beta), atol=1e-6, rtol=0)
    # k2 in the loss has the same expected gradient, so it settles at the same place.
    torch.testing.assert_close(follow_expected_gradient(REF, REWARDS, beta, "loss", "k2"), settled)


@pytest.mark.parametrize("beta", [0.3, 0.5, 1.0])
def test_k3_in_the_loss_settles_at_the_forward_kl_optimum(beta: float) -> None:
    pi = follow_expected_gradient(REF, REWARDS, beta, "loss", "k3")
    # Stationary point of E[r] − β·KL(π_ref‖π): π ⊙ (r − E_π r) = β (π − π_ref).
    torch.testing.assert_close(pi * (REWARDS - pi @ REWARDS), beta * (pi - REF), atol=1e-9, rtol=0)
    tilted = tilted_policy(REF, REWARDS, beta)
    assert float((pi - tilted).abs().max()) > 0.01

    def objective(p: torch.Tensor, forward: bool) -> float:
        kl = kl_divergence(REF, p) if forward else kl_divergence(p, REF)
        return float(p @ REWARDS - beta * kl)

    # Each end point wins on its own objective and loses on the other.
    assert objective(pi, forward=True) > objective(tilted, forward=True)
    assert objective(tilted, forward=False) > objective(pi, forward=False)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kl_coef": 0.0}, "kl_coef"),
        ({"rewards": [1.0, 2.0]}, "rewards"),
        ({"ref_probs": [1.0, 0.0, 0.0, 0.0]}, "ref_probs"),
        ({"steps": 0}, "steps"),
        ({"lr": -1.0}, "lr"),
        ({"placement": "value"}, "placement"),
    ],
)
def test_follow_expected_gradient_validates_inputs(kwargs: dict, name: str) -> None:
    args = {"ref_probs": REF, "rewards": REWARDS, "kl_coef": 0.5, "placement": "reward", "steps": 3} | kwargs
    with pytest.raises(ValueError, match=name):
        follow_expected_gradient(**args)


# --- Monte Carlo ------------------------------------------------------------------------------


def _mc_mean_and_se(placement: str, estimator: str, n: int = 40_000) -> tuple[torch.Tensor, torch.Tensor]:
    grads = estimator_gradients(LOGITS, REF, draw_samples(LOGITS, n, seed=7), placement, estimator)
    return grads.mean(0), grads.std(0) / math.sqrt(n)


def test_monte_carlo_kl_in_the_reward_estimates_the_kl_gradient() -> None:
    mean, se = _mc_mean_and_se("reward", "k1")
    # Five standard errors per coordinate.
    assert bool(((mean - reverse_kl_gradient(LOGITS, REF)).abs() < 5 * se).all())


def test_monte_carlo_k3_in_the_loss_estimates_the_other_direction() -> None:
    mean, se = _mc_mean_and_se("loss", "k3")
    pi = torch.softmax(LOGITS, -1)
    assert bool(((mean - (pi - REF)).abs() < 5 * se).all())
    assert bool(((mean - reverse_kl_gradient(LOGITS, REF)).abs() > 10 * se).any())


def test_draw_samples_is_reproducible_follows_the_policy_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    y = draw_samples(LOGITS, 20_000, seed=5)
    assert torch.equal(y, draw_samples(LOGITS, 20_000, seed=5))
    assert torch.equal(torch.rand(1), before)
    freq = torch.bincount(y, minlength=4).to(torch.float64) / y.numel()
    pi = torch.softmax(LOGITS, -1)
    assert bool(((freq - pi).abs() < 5 * (pi * (1 - pi) / y.numel()).sqrt()).all())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"logits": [[0.0, 1.0]]}, "logits"),
        ({"logits": [0.0]}, "logits"),
        ({"logits": [0.0, float("nan"), 1.0, 2.0]}, "logits"),
        ({"ref_probs": [0.5, 0.5]}, "ref_probs"),
        ({"ref_probs": [0.5, 0.5, 0.0, 0.0]}, "ref_probs"),
        ({"ref_probs": [0.5, 0.5, 0.5, 0.5]}, "ref_probs"),
        ({"samples": [0.0, 1.0]}, "samples"),
        ({"samples": [0, 4]}, "samples"),
        ({"samples": [-1]}, "samples"),
        ({"samples": []}, "samples"),
        ({"samples": ["a", "b"]}, "samples"),
        ({"placement": "advantage"}, "placement"),
        ({"estimator": "k4"}, "estimator"),
    ],
)
def test_gradient_functions_validate_inputs(kwargs: dict, name: str) -> None:
    args = {"logits": LOGITS, "ref_probs": REF, "samples": [0, 1], "placement": "reward", "estimator": "k1"} | kwargs
    with pytest.raises(ValueError, match=name):
        estimator_gradients(**args)


@pytest.mark.parametrize(("n", "logits"), [(0, LOGITS), (2.5, LOGITS), (3, [[0.0, 1.0]])])
def test_draw_samples_validates_inputs(n: float, logits: object) -> None:
    with pytest.raises(ValueError, match="n must|logits"):
        draw_samples(logits, n)  # type: ignore[arg-type]


# --- the café batch ----------------------------------------------------------------------------


def test_batch_is_padded_and_masked() -> None:
    batch = cafe_review_batch()
    lengths = [len(t) for t in batch.tokens]
    assert batch.mask.sum(-1).tolist() == lengths
    assert batch.logprobs.shape == batch.ref_logprobs.shape == (4, max(lengths))
    # The KL totals only count real tokens: check against a plain loop over the ragged lists.
    for i, n in enumerate(lengths):
        by_hand = float((batch.logprobs[i, :n] - batch.ref_logprobs[i, :n]).sum())
        assert float(batch.kl_totals()[i]) == pytest.approx(by_hand)


def test_ranking_flips_as_beta_moves() -> None:
    batch = cafe_review_batch()
    betas = np.linspace(0.0, 0.4, 81)
    rankings = {batch.ranking(float(b)) for b in betas}
    assert batch.ranking(0.0) != batch.ranking(0.4)
    assert len(rankings) >= 3
    # At β = 0 the ranking is by score alone; the top response at β = 0 ends last at β = 0.4.
    assert batch.ranking(0.0) == tuple(int(i) for i in torch.argsort(batch.scores, descending=True))
    assert batch.ranking(0.4)[-1] == batch.ranking(0.0)[0]


def test_forgetting_the_mask_reorders_the_batch_as_the_exercise_solution_says() -> None:
    batch = cafe_review_batch()
    unmasked, _ = kl_penalized_rewards(batch.scores, batch.logprobs, batch.ref_logprobs, 0.05)
    # Each padding position adds PAD_LOGPROB − PAD_REF_LOGPROB = 1.95 phantom nats.
    n_pad = (~batch.mask).sum(-1).to(torch.float64)
    expected = batch.scores - 0.05 * (batch.kl_totals() + 1.95 * n_pad)
    torch.testing.assert_close(unmasked.sum(-1), expected)
    order = "".join(batch.labels[i] for i in torch.argsort(unmasked.sum(-1), descending=True).tolist())
    assert order == "BACD" and "".join(batch.labels[i] for i in batch.ranking(0.05)) == "ABCD"


@pytest.mark.parametrize(("winner", "index"), [("B", 1), ("C", 2)])
def test_overtake_beta_is_where_the_order_changes(winner: str, index: int) -> None:
    beta = overtake_beta(winner, "A")
    batch = cafe_review_batch()
    below, above = batch.shaped_totals(beta - 1e-4), batch.shaped_totals(beta + 1e-4)
    assert float(below[0]) > float(below[index]) and float(above[0]) < float(above[index])


def test_the_exercise_pair_tells_a_forgotten_mask_apart() -> None:
    # A and C have three padding positions each, so their phantom nats cancel and a forgotten mask gives C's
    # answer unchanged: that pair could not catch the slip. B has no padding, so for B against A it shows.
    from kl_lessons.self_checks.lesson03 import _overtake

    assert _overtake("C", "A", masked=False) == pytest.approx(overtake_beta("C", "A"), abs=1e-12)
    unmasked = _overtake("B", "A", masked=False)
    assert abs(unmasked - overtake_beta("B", "A")) > 10 * BETA_TOLERANCE
    # Worked by hand: 0.6 / (8.4 + 3 × 1.95) phantom nats, against 0.6 / 8.4.
    assert unmasked == pytest.approx(0.6 / (8.4 + 3 * 1.95)) and overtake_beta() == pytest.approx(0.6 / 8.4)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"labels": ()}, "labels"),
        ({"scores": (1.0,)}, "scores"),
        ({"tokens": (("a",), ())}, "tokens"),
        ({"logprobs": ((-1.0,), (-1.0,))}, "logprobs"),
        ({"ref_logprobs": ((-1.0,), (float("nan"), -1.0))}, "ref_logprobs"),
    ],
)
def test_batch_validates_inputs(kwargs: dict, name: str) -> None:
    args = {
        "labels": ("x", "y"), "tokens": (("a",), ("b", "c")), "scores": (1.0, 2.0),
        "logprobs": ((-1.0,), (-1.0, -1.0)), "ref_logprobs": ((-1.0,), (-1.0, -1.0)),
    } | kwargs
    with pytest.raises(ValueError, match=name):
        ResponseBatch.from_ragged(**args)


# --- self-checks ------------------------------------------------------------------------------


def test_check_overtake_beta_messages() -> None:
    beta = overtake_beta("B", "A")
    assert check_overtake_beta(round(beta, 3)).startswith("Correct")
    assert check_overtake_beta(beta / 2).startswith("Not yet") and "go higher" in check_overtake_beta(beta / 2)
    assert "go lower" in check_overtake_beta(2 * beta)
    assert check_overtake_beta(1 / beta).startswith("Close")
    assert check_overtake_beta("abc").startswith("Please") and check_overtake_beta(-1).startswith("β is")


def test_check_overtake_beta_names_a_forgotten_mask() -> None:
    from kl_lessons.self_checks.lesson03 import _overtake

    message = check_overtake_beta(round(_overtake("B", "A", masked=False), 3))
    assert message.startswith("Not yet") and "mask was forgotten" in message, message


def test_check_overtake_beta_names_the_wrong_pair() -> None:
    message = check_overtake_beta(round(overtake_beta("C", "A"), 3))
    assert message.startswith("Not yet") and "where C catches up" in message, message


def test_check_loss_estimator_messages() -> None:
    assert check_loss_estimator(" K2 ").startswith("Correct")
    assert "zero" in check_loss_estimator("k1") and "other direction" in check_loss_estimator("k3")
    assert check_loss_estimator(3).startswith("Pick")
    assert check_loss_estimator(...).startswith("Fill in")


def test_check_overtake_beta_asks_to_fill_in_the_placeholder() -> None:
    assert check_overtake_beta(...).startswith("Fill in")


def test_response_penalty_is_beta_times_the_summed_kl() -> None:
    kl = UNITS_TASK["tokens"] * UNITS_TASK["nats_per_token"]
    assert math.isclose(response_penalty(UNITS_TASK["beta"]), UNITS_TASK["beta"] * kl, rel_tol=1e-12)
    assert math.isclose(response_penalty(1.0), kl, rel_tol=1e-12)


def test_check_response_penalty_messages() -> None:
    t = UNITS_TASK
    kl = response_penalty(1.0)
    penalty, beta = t["beta"] * kl, t["score_to_match"] / kl
    assert check_response_penalty(penalty, beta).startswith("Correct")
    assert check_response_penalty(round(penalty, 3), round(beta, 3)).startswith("Correct")
    assert "one token" in check_response_penalty(penalty / t["tokens"], beta)                      # per token
    assert "positive" in check_response_penalty(-penalty, beta)                                    # wrong sign
    assert "bits" in check_response_penalty(penalty / math.log(2), beta)                           # bits
    assert "one token's penalty" in check_response_penalty(penalty, 1 / t["nats_per_token"])       # per-token β
    assert "reciprocal" in check_response_penalty(penalty, kl)
    assert "not by the penalty" in check_response_penalty(penalty, 1 / penalty)
    assert "per bit" in check_response_penalty(penalty, math.log(2) / kl)
    assert check_response_penalty(penalty, 0.5).startswith("Penalty right")
    assert check_response_penalty(0.5, beta).startswith("Not yet")
    assert check_response_penalty(..., ...).startswith("Fill in")
    for junk in ("abc", None, math.nan, torch.tensor([1.0, 2.0]), 10**400):
        assert check_response_penalty(junk, beta).startswith("Please")
        assert check_response_penalty(penalty, junk).startswith("Please")


# --- the shaped reward itself -----------------------------------------------------------------


def test_the_seed_worked_example() -> None:
    # Each of the seed's four "samples" is a one-token sequence: score − β·(logp − ref).
    rewards, kl = kl_penalized_rewards(
        [1.0, 0.5, -0.2, 0.8], [[-2.0], [-2.5], [-3.0], [-2.2]], [[-2.1], [-2.3], [-2.8], [-2.5]], 0.1
    )
    torch.testing.assert_close(kl.squeeze(-1), torch.tensor([0.1, -0.2, -0.2, 0.3], dtype=torch.float64))
    torch.testing.assert_close(rewards.squeeze(-1), torch.tensor([0.99, 0.52, -0.18, 0.77], dtype=torch.float64))


@st.composite
def masked_batches(draw: st.DrawFn) -> tuple:
    b, t = draw(st.integers(1, 4)), draw(st.integers(1, 7))
    # Any mask pattern (left padding, holes) as long as each row keeps one real token.
    rows = [draw(st.lists(st.booleans(), min_size=t, max_size=t).filter(any)) for _ in range(b)]
    return torch.tensor(rows), draw(st.integers(0, 2**16)), draw(st.floats(0.0, 2.0))


@given(masked_batches())
def test_property_rewards_sum_to_score_minus_penalty_on_real_tokens(batch: tuple) -> None:
    mask, seed, beta = batch
    gen = torch.Generator().manual_seed(seed)
    logp = -4 * torch.rand(mask.shape, generator=gen, dtype=torch.float64)
    ref = -4 * torch.rand(mask.shape, generator=gen, dtype=torch.float64)
    scores = torch.randn(mask.shape[0], generator=gen, dtype=torch.float64)
    rewards, kl = kl_penalized_rewards(scores, logp, ref, beta, mask=mask)
    k1 = (logp - ref) * mask  # k1 on real tokens, computed independently
    torch.testing.assert_close(rewards.sum(-1), scores - beta * k1.sum(-1))
    assert bool((rewards[~mask] == 0).all()) and bool((kl[~mask] == 0).all())
    # The score sits on the last real token; every other real token carries only −β·kl_t.
    last = torch.tensor([int(torch.nonzero(row)[-1]) for row in mask])
    expected = -beta * k1
    expected[torch.arange(mask.shape[0]), last] += scores
    torch.testing.assert_close(rewards, expected)
