"""DPO on lesson 4's toy: the fit reaches the same π_β, and its implicit reward is r up to a constant."""

from __future__ import annotations

import math

import pytest
import torch

from kl_lessons import dpo
from kl_lessons.divergence import kl_divergence
from kl_lessons.optimum import tilted_policy
from kl_lessons.toy_responses import make_toy_responses

F64 = torch.float64
TOY = make_toy_responses()
REF, PROXY, GOLD = TOY.ref_probs, TOY.proxy, TOY.gold
K = len(TOY)
BETAS = (0.05, 0.1, 0.3, 1.0, 3.0)
#: Pairs for the sampled fits, and the z-score no entry may exceed: with K = 36 entries and normal
#: errors, P(any |z| > 4.5) ≤ 36·P(|Z| > 4.5) ≈ 2.4e-4 (Bonferroni).
N_PAIRS, Z_MAX = 200_000, 4.5


def _log_z(rewards: torch.Tensor, beta: float) -> float:
    """log Σ_y π_ref(y)·exp(r(y)/β), the normaliser of π_β."""
    return float(torch.logsumexp(REF.log() + rewards / beta, 0))


def _bradley_terry(rewards: torch.Tensor) -> torch.Tensor:
    """P[i, j] = σ(r_i − r_j), written out: the probability that i is preferred to j."""
    diff = rewards[:, None] - rewards[None, :]
    return 1.0 / (1.0 + torch.exp(-diff))


def _fisher(rewards: torch.Tensor, beta: float) -> torch.Tensor:
    """The expected loss's Hessian at its minimum π_β, from the library's closed form."""
    return dpo.dpo_objective(tilted_policy(REF, rewards, beta).log(), REF, dpo.exact_pair_weights(REF, rewards),
                             beta).hessian


def _reward_std(rewards: torch.Tensor, n_pairs: int) -> torch.Tensor:
    """Large-N standard deviation of each implicit reward fitted on ``n_pairs`` pairs (a test tolerance).

    The fit's β·(θ̂_i − θ̂_j) is the maximum-likelihood estimate of r_i − r_j of the Bradley–Terry
    model, whose Fisher information per pair is H/β² (free of β); compared after centring under
    π_ref (P = I − 1·π_refᵀ), Cov(r̂) ≈ P·(H/β²)⁺·Pᵀ / N.
    """
    centre = torch.eye(K, dtype=F64) - REF[None, :]
    cov = centre @ torch.linalg.pinv(_fisher(rewards, 1.0), hermitian=True) @ centre.T / n_pairs
    return cov.diagonal().clamp_min(0.0).sqrt()


def _policy_std(rewards: torch.Tensor, beta: float, n_pairs: int) -> torch.Tensor:
    """Large-N standard deviation of each fitted π̂(y) (a test tolerance), by the delta method.

    √N·(θ̂ − θ_β) tends to a normal with covariance H⁺; with J = diag(π_β) − π_β·π_βᵀ,
    Cov(π̂) ≈ J·H⁺·J / N. It needs the reward noise ≪ β (it reaches π multiplied by 1/β).
    """
    pi = tilted_policy(REF, rewards, beta)
    jac = torch.diag(pi) - pi[:, None] * pi[None, :]
    cov = jac @ torch.linalg.pinv(_fisher(rewards, beta), hermitian=True) @ jac / n_pairs
    return cov.diagonal().clamp_min(0.0).sqrt()


def _pair_loss(logits: torch.Tensor, chosen: torch.Tensor, rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 7 averaged over sampled pairs, written directly from log-softmax (independent of the library)."""
    h = torch.log_softmax(logits, 0) - REF.log()
    return -torch.nn.functional.logsigmoid(beta * (h[chosen] - h[rejected])).mean()


@pytest.fixture(scope="module")
def sampled() -> dpo.PreferencePairs:
    return dpo.sample_preference_pairs(REF, PROXY, N_PAIRS, seed=7)


# ----------------------------------------------------------------------------- the exact fit
@pytest.mark.parametrize("rewards", [PROXY, GOLD], ids=["proxy", "gold"])
@pytest.mark.parametrize("beta", BETAS)
def test_exact_expectation_fit_is_pi_beta(rewards: torch.Tensor, beta: float) -> None:
    fit = dpo.fit_dpo(REF, dpo.exact_pair_weights(REF, rewards), beta)
    target = tilted_policy(REF, rewards, beta)
    assert fit.policy.dtype == F64
    assert float((fit.policy - target).abs().max()) < 1e-10
    assert float(kl_divergence(fit.policy, target)) < 1e-12
    assert fit.grad_norm < 1e-13 * beta * 10


@pytest.mark.parametrize("beta", BETAS)
def test_implicit_reward_is_r_minus_beta_log_z(beta: float) -> None:
    fit = dpo.fit_dpo(REF, dpo.exact_pair_weights(REF, PROXY), beta)
    implicit = dpo.implicit_reward(fit.policy, REF, beta)
    # One constant on the whole support (π_ref > 0 everywhere here), and it is −β·log Z(β).
    offset = implicit - PROXY
    assert float(offset.max() - offset.min()) < 1e-9
    assert float(offset.mean()) == pytest.approx(-beta * _log_z(PROXY, beta), abs=1e-9)
    # π_β itself gives the same implicit reward in closed form.
    torch.testing.assert_close(dpo.implicit_reward(tilted_policy(REF, PROXY, beta), REF, beta),
                               PROXY - beta * _log_z(PROXY, beta), rtol=0, atol=1e-12)


def test_pi_beta_is_a_stationary_point_and_the_minimum() -> None:
    beta = 0.3
    w = dpo.exact_pair_weights(REF, PROXY)
    best = tilted_policy(REF, PROXY, beta).log()
    assert float(dpo.dpo_objective(best, REF, w, beta).gradient.abs().max()) < 1e-14
    gen = torch.Generator().manual_seed(0)
    at_best = float(dpo.dpo_objective(best, REF, w, beta).loss)
    for _ in range(50):
        other = best + 0.2 * torch.randn(K, generator=gen, dtype=F64)
        assert float(dpo.dpo_objective(other, REF, w, beta).loss) > at_best
    # A common shift of the logits changes nothing.
    assert float(dpo.dpo_objective(best + 3.0, REF, w, beta).loss) == pytest.approx(at_best, abs=1e-14)


def test_fit_from_another_start_and_with_an_unseen_response() -> None:
    w = dpo.exact_pair_weights(REF, PROXY)
    start = torch.linspace(-2.0, 2.0, K, dtype=F64)
    fit = dpo.fit_dpo(REF, w, 1.0, init_logits=start)
    torch.testing.assert_close(fit.policy, tilted_policy(REF, PROXY, 1.0), rtol=0, atol=1e-10)
    # Response 0 in no pair: it carries no gradient and keeps its starting logit.
    w0 = w.clone()
    w0[0, :], w0[:, 0] = 0.0, 0.0
    fit0 = dpo.fit_dpo(REF, w0, 1.0)
    assert fit0.grad_norm < 1e-12
    rest = tilted_policy(REF[1:] / REF[1:].sum(), PROXY[1:], 1.0)
    torch.testing.assert_close(fit0.policy[1:] / fit0.policy[1:].sum(), rest, rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------- preferences and losses
def test_exact_pair_weights_are_both_orders_of_a_bradley_terry_draw() -> None:
    w = dpo.exact_pair_weights(REF, PROXY)
    p = _bradley_terry(PROXY)
    # (i, j) drawn in either order, i winning with σ(r_i − r_j): 2·π_ref(i)·π_ref(j)·σ(r_i − r_j).
    torch.testing.assert_close(w, 2 * REF[:, None] * REF[None, :] * p, rtol=1e-14, atol=0)
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-14)
    # The diagonal (a response against itself, drawn as (i, i), won by the first half the time) is π_ref(i)².
    torch.testing.assert_close(w.diagonal(), REF**2, rtol=1e-14, atol=0)


def test_sampled_pairs_follow_the_exact_pair_weights(sampled: dpo.PreferencePairs) -> None:
    assert sampled.chosen.dtype == torch.int64 and sampled.chosen.shape == (N_PAIRS,)
    emp = dpo.empirical_pair_weights(*sampled, K)
    exact = dpo.exact_pair_weights(REF, PROXY)
    # Each entry is a binomial share: sd = √(W(1 − W)/N); 1296 entries, P(any |z| > 5) ≤ 1296·5.7e-7 < 1e-3.
    sd = (exact * (1 - exact) / N_PAIRS).sqrt()
    assert float(((emp - exact).abs() / sd).max()) < 5.0
    again = dpo.sample_preference_pairs(REF, PROXY, N_PAIRS, seed=7)
    assert torch.equal(again.chosen, sampled.chosen) and torch.equal(again.rejected, sampled.rejected)


def test_loss_is_eq7_on_one_pair() -> None:
    logits = torch.tensor([0.3, -1.2, 0.8], dtype=F64)
    ref = torch.tensor([0.5, 0.2, 0.3], dtype=F64)
    beta = 0.7
    log_pi = torch.log_softmax(logits, 0)
    margin = beta * (log_pi[2] - ref[2].log()) - beta * (log_pi[1] - ref[1].log())
    want = -math.log(1 / (1 + math.exp(-float(margin))))
    got = dpo.dpo_objective(logits, ref, dpo.empirical_pair_weights([2], [1], 3), beta).loss
    assert float(got) == pytest.approx(want, abs=1e-14)


def test_loss_on_sampled_pairs_and_its_exact_expectation(sampled: dpo.PreferencePairs) -> None:
    beta = 0.3
    logits = torch.randn(K, generator=torch.Generator().manual_seed(1), dtype=F64)
    on_pairs = float(_pair_loss(logits, sampled.chosen, sampled.rejected, beta))
    weighted = dpo.dpo_objective(logits, REF, dpo.empirical_pair_weights(*sampled, K), beta).loss
    assert float(weighted) == pytest.approx(on_pairs, abs=1e-12)
    # The exact expectation, written out over the ordered draws (y1, y2) and the label.
    h = logits - REF.log()
    z = beta * (h[:, None] - h[None, :])
    p = _bradley_terry(PROXY)
    ell = torch.nn.functional.softplus(-z)  # ell[i, j]: loss when i is chosen over j
    want = float((REF[:, None] * REF[None, :] * (p * ell + p.T * ell.T)).sum())
    exact = dpo.dpo_objective(logits, REF, dpo.exact_pair_weights(REF, PROXY), beta).loss
    assert float(exact) == pytest.approx(want, abs=1e-14)
    # The sampled loss is within Monte Carlo error of it: sd of one pair's loss / √N, 5 sd.
    per_pair = torch.nn.functional.softplus(-beta * (h[sampled.chosen] - h[sampled.rejected]))
    assert abs(on_pairs - want) < 5 * float(per_pair.std()) / math.sqrt(N_PAIRS)


# ----------------------------------------------------------------------------- gradients
def test_gradient_against_autograd_and_finite_differences() -> None:
    beta, eps = 0.4, 1e-6
    w = dpo.exact_pair_weights(REF, PROXY)
    logits = torch.randn(K, generator=torch.Generator().manual_seed(2), dtype=F64)
    x = logits.clone().requires_grad_(True)
    at = dpo.dpo_objective(x, REF, w, beta)
    at.loss.backward()
    torch.testing.assert_close(at.gradient, x.grad, rtol=0, atol=1e-14)
    assert abs(float(at.gradient.sum())) < 1e-14
    loss = lambda t: float(dpo.dpo_objective(t, REF, w, beta).loss)  # noqa: E731
    basis = torch.eye(K, dtype=F64)
    central = torch.tensor([(loss(logits + eps * e) - loss(logits - eps * e)) / (2 * eps) for e in basis], dtype=F64)
    torch.testing.assert_close(at.gradient, central, rtol=0, atol=1e-9)


def test_gradcheck_on_sampled_pairs(sampled: dpo.PreferencePairs) -> None:
    w = dpo.empirical_pair_weights(sampled.chosen[:500], sampled.rejected[:500], K)
    x = torch.randn(K, generator=torch.Generator().manual_seed(3), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dpo.dpo_objective(t, REF, w, 0.2).loss, (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("where", ["optimum", "elsewhere"])
def test_hessian_against_autograd_and_the_fisher_information(where: str) -> None:
    beta = 0.5
    w = dpo.exact_pair_weights(REF, PROXY)
    best = tilted_policy(REF, PROXY, beta).log()
    theta = best if where == "optimum" else torch.linspace(-2.0, 2.0, K, dtype=F64)
    hess = dpo.dpo_objective(theta, REF, w, beta).hessian
    auto = torch.autograd.functional.hessian(lambda t: dpo.dpo_objective(t, REF, w, beta).loss, theta)
    torch.testing.assert_close(hess, auto, rtol=0, atol=1e-13)
    torch.testing.assert_close(hess @ torch.ones(K, dtype=F64), torch.zeros(K, dtype=F64), rtol=0, atol=1e-14)
    if where != "optimum":
        return
    # Information equality: the covariance of one pair's gradient, enumerated over every draw (i, j) and label,
    # equals the Hessian at the optimum. This is what makes H⁺/N the fit's covariance.
    h = best - REF.log()
    p = _bradley_terry(PROXY)
    eye = torch.eye(K, dtype=F64)
    cov = torch.zeros(K, K, dtype=F64)
    for i in range(K):
        diff = eye[i] - eye  # row j: e_i − e_j
        for first_wins, prob in ((True, p[i]), (False, 1 - p[i])):
            z = beta * (h[i] - h) * (1 if first_wins else -1)
            g = -beta * torch.sigmoid(-z)[:, None] * diff * (1 if first_wins else -1)  # ∂ℓ/∂θ for each j
            cov += ((REF[i] * REF * prob)[:, None, None] * g[:, :, None] * g[:, None, :]).sum(0)
    torch.testing.assert_close(cov, hess, rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------- many sampled pairs
def test_sampled_fit_approaches_pi_beta(sampled: dpo.PreferencePairs) -> None:
    w = dpo.empirical_pair_weights(*sampled, K)
    sd_r = _reward_std(PROXY, N_PAIRS)
    centred = PROXY - REF @ PROXY
    first = None
    for beta in (0.1, 0.3, 1.0):
        fit = dpo.fit_dpo(REF, w, beta)
        implicit = dpo.implicit_reward(fit.policy, REF, beta)
        implicit = implicit - REF @ implicit
        # The recovered reward does not depend on β: the pairs fix r̂, β only sets how far π tilts by it.
        if first is None:
            first = implicit
        torch.testing.assert_close(implicit, first, rtol=0, atol=1e-9)
        torch.testing.assert_close(fit.policy, tilted_policy(REF, implicit, beta), rtol=0, atol=1e-10)
        assert float(((implicit - centred) / sd_r).abs().max()) < Z_MAX
    # The same in the policy, where the delta method holds (reward noise ≪ β): β = 1.
    sd_pi = _policy_std(PROXY, 1.0, N_PAIRS)
    fit = dpo.fit_dpo(REF, w, 1.0)
    assert float(((fit.policy - tilted_policy(REF, PROXY, 1.0)) / sd_pi).abs().max()) < Z_MAX
    # The tolerance is not vacuous: every standard deviation is small, and shrinks like 1/√N.
    assert float(sd_r.max()) < 0.15 and float(sd_pi.max()) < 0.01
    torch.testing.assert_close(_reward_std(PROXY, 4 * N_PAIRS), sd_r / 2, rtol=1e-12, atol=0)
