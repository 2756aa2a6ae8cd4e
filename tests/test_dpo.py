"""DPO on lesson 4's toy: the fit reaches the same π_β, and its implicit reward is r up to a constant."""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

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
    assert float(dpo.dpo_loss_gradient(best, REF, w, beta).abs().max()) < 1e-14
    gen = torch.Generator().manual_seed(0)
    at_best = float(dpo.weighted_dpo_loss(best, REF, w, beta))
    for _ in range(50):
        other = best + 0.2 * torch.randn(K, generator=gen, dtype=F64)
        assert float(dpo.weighted_dpo_loss(other, REF, w, beta)) > at_best
    # A common shift of the logits changes nothing.
    assert float(dpo.weighted_dpo_loss(best + 3.0, REF, w, beta)) == pytest.approx(at_best, abs=1e-14)


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
def test_bradley_terry_matrix() -> None:
    p = dpo.bradley_terry_matrix(PROXY)
    torch.testing.assert_close(p + p.T, torch.ones(K, K, dtype=F64), rtol=0, atol=1e-15)
    torch.testing.assert_close(p.diagonal(), torch.full((K,), 0.5, dtype=F64), rtol=0, atol=0)
    assert float(p[0, 1]) == pytest.approx(1 / (1 + math.exp(-(float(PROXY[0]) - float(PROXY[1])))), abs=1e-15)
    assert float(dpo.exact_pair_weights(REF, PROXY).sum()) == pytest.approx(1.0, abs=1e-14)


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
    got = dpo.dpo_loss(logits, ref, [2], [1], beta)
    assert float(got) == pytest.approx(want, abs=1e-14)


def test_losses_agree(sampled: dpo.PreferencePairs) -> None:
    beta = 0.3
    logits = torch.randn(K, generator=torch.Generator().manual_seed(1), dtype=F64)
    on_pairs = dpo.dpo_loss(logits, REF, *sampled, beta)
    weighted = dpo.weighted_dpo_loss(logits, REF, dpo.empirical_pair_weights(*sampled, K), beta)
    assert float(on_pairs) == pytest.approx(float(weighted), abs=1e-12)
    # The exact expectation, written out over the ordered draws (y1, y2) and the label.
    h = logits - REF.log()
    z = beta * (h[:, None] - h[None, :])
    p = torch.sigmoid(PROXY[:, None] - PROXY[None, :])
    ell = torch.nn.functional.softplus(-z)  # ell[i, j]: loss when i is chosen over j
    want = float((REF[:, None] * REF[None, :] * (p * ell + p.T * ell.T)).sum())
    assert float(dpo.expected_dpo_loss(logits, REF, PROXY, beta)) == pytest.approx(want, abs=1e-14)
    # The sampled loss is within Monte Carlo error of it: sd of one pair's loss / √N, 5 sd.
    per_pair = torch.nn.functional.softplus(-beta * (h[sampled.chosen] - h[sampled.rejected]))
    assert abs(float(on_pairs) - want) < 5 * float(per_pair.std()) / math.sqrt(N_PAIRS)


# ----------------------------------------------------------------------------- gradients
def test_gradient_against_autograd_and_finite_differences() -> None:
    beta, eps = 0.4, 1e-6
    w = dpo.exact_pair_weights(REF, PROXY)
    logits = torch.randn(K, generator=torch.Generator().manual_seed(2), dtype=F64)
    closed = dpo.dpo_loss_gradient(logits, REF, w, beta)
    x = logits.clone().requires_grad_(True)
    dpo.weighted_dpo_loss(x, REF, w, beta).backward()
    torch.testing.assert_close(closed, x.grad, rtol=0, atol=1e-14)
    assert abs(float(closed.sum())) < 1e-14
    loss = lambda t: float(dpo.weighted_dpo_loss(t, REF, w, beta))  # noqa: E731
    basis = torch.eye(K, dtype=F64)
    central = torch.tensor([(loss(logits + eps * e) - loss(logits - eps * e)) / (2 * eps) for e in basis], dtype=F64)
    torch.testing.assert_close(closed, central, rtol=0, atol=1e-9)


def test_gradcheck_on_sampled_pairs(sampled: dpo.PreferencePairs) -> None:
    chosen, rejected = sampled.chosen[:500], sampled.rejected[:500]
    x = torch.randn(K, generator=torch.Generator().manual_seed(3), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dpo.dpo_loss(t, REF, chosen, rejected, 0.2), (x,), eps=1e-6, atol=1e-8)


def test_hessian_and_fisher_information() -> None:
    beta = 0.5
    best = tilted_policy(REF, PROXY, beta).log()
    hess = dpo.dpo_hessian(REF, PROXY, beta)
    auto = torch.autograd.functional.hessian(lambda t: dpo.expected_dpo_loss(t, REF, PROXY, beta), best)
    torch.testing.assert_close(hess, auto, rtol=0, atol=1e-13)
    torch.testing.assert_close(hess @ torch.ones(K, dtype=F64), torch.zeros(K, dtype=F64), rtol=0, atol=1e-14)
    # Information equality: the covariance of one pair's gradient, enumerated over every draw (i, j) and label,
    # equals the Hessian at the optimum. This is what makes H⁺/N the fit's covariance.
    h = best - REF.log()
    p = dpo.bradley_terry_matrix(PROXY)
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
    sd_r = dpo.dpo_reward_std(REF, PROXY, N_PAIRS)
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
    sd_pi = dpo.dpo_policy_std(REF, PROXY, 1.0, N_PAIRS)
    fit = dpo.fit_dpo(REF, w, 1.0)
    assert float(((fit.policy - tilted_policy(REF, PROXY, 1.0)) / sd_pi).abs().max()) < Z_MAX
    # The tolerance is not vacuous: every standard deviation is small, and shrinks like 1/√N.
    assert float(sd_r.max()) < 0.15 and float(sd_pi.max()) < 0.01
    torch.testing.assert_close(dpo.dpo_reward_std(REF, PROXY, 4 * N_PAIRS), sd_r / 2, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- bad input
W_OK = dpo.exact_pair_weights(REF, PROXY)
CALLS: dict[str, Callable[..., Any]] = {
    "bradley_terry_matrix": lambda **kw: dpo.bradley_terry_matrix(**{"rewards": PROXY, **kw}),
    "sample_preference_pairs": lambda **kw: dpo.sample_preference_pairs(
        **{"ref_probs": REF, "rewards": PROXY, "n_pairs": 10, "seed": 0, **kw}),
    "empirical_pair_weights": lambda **kw: dpo.empirical_pair_weights(
        **{"chosen": [0, 1], "rejected": [1, 2], "num_responses": K, **kw}),
    "exact_pair_weights": lambda **kw: dpo.exact_pair_weights(**{"ref_probs": REF, "rewards": PROXY, **kw}),
    "dpo_loss": lambda **kw: dpo.dpo_loss(
        **{"logits": REF.log(), "ref_probs": REF, "chosen": [0], "rejected": [1], "beta": 0.1, **kw}),
    "weighted_dpo_loss": lambda **kw: dpo.weighted_dpo_loss(
        **{"logits": REF.log(), "ref_probs": REF, "pair_weights": W_OK, "beta": 0.1, **kw}),
    "expected_dpo_loss": lambda **kw: dpo.expected_dpo_loss(
        **{"logits": REF.log(), "ref_probs": REF, "rewards": PROXY, "beta": 0.1, **kw}),
    "dpo_loss_gradient": lambda **kw: dpo.dpo_loss_gradient(
        **{"logits": REF.log(), "ref_probs": REF, "pair_weights": W_OK, "beta": 0.1, **kw}),
    "fit_dpo": lambda **kw: dpo.fit_dpo(**{"ref_probs": REF, "pair_weights": W_OK, "beta": 0.1, **kw}),
    "implicit_reward": lambda **kw: dpo.implicit_reward(**{"policy": REF, "ref_probs": REF, "beta": 0.1, **kw}),
    "dpo_hessian": lambda **kw: dpo.dpo_hessian(**{"ref_probs": REF, "rewards": PROXY, "beta": 0.1, **kw}),
    "dpo_reward_std": lambda **kw: dpo.dpo_reward_std(**{"ref_probs": REF, "rewards": PROXY, "n_pairs": 10, **kw}),
    "dpo_policy_std": lambda **kw: dpo.dpo_policy_std(
        **{"ref_probs": REF, "rewards": PROXY, "beta": 0.1, "n_pairs": 10, **kw}),
    "smoothness_bound": lambda **kw: dpo.smoothness_bound(**{"pair_weights": W_OK, "beta": 0.1, **kw}),
    "dpo_descent": lambda **kw: dpo.dpo_descent(
        **{"ref_probs": REF, "pair_weights": W_OK, "beta": 0.1, "steps": 3, **kw}),
}
ZERO_REF = torch.cat([torch.zeros(1, dtype=F64), REF[1:] / REF[1:].sum()])
BAD: dict[str, list[Any]] = {
    "ref_probs": [None, "p", [0.5, 0.6], REF[:5], ZERO_REF, REF.reshape(6, 6), [math.nan] * K],
    "rewards": [None, "r", torch.full((K,), math.inf, dtype=F64), PROXY.reshape(6, 6)],
    "beta": [0.0, -1.0, math.nan, math.inf, "0.1", None, True],
    "n_pairs": [0, -3, 2.5, "10", None],
    "seed": [-1, 1.5, "0", None, 2**64],
    "chosen": [[K], [-1], [0.5], torch.tensor([True]), [], None, "a"],
    "rejected": [[K], [-1], [1.5], [[1]], None],
    "num_responses": [0, 1.5, None, "36"],
    "logits": [None, torch.zeros(3, dtype=F64), [math.nan] * K, "x"],
    "pair_weights": [None, torch.zeros(K, K, dtype=F64), -W_OK, W_OK[:3], torch.full((K, K), math.nan)],
    "init_logits": [torch.zeros(3, dtype=F64), [math.inf] * K, "x"],
    "max_iter": [0, 1.5, None],
    "tolerance": [0.0, -1e-9, math.nan],
    "policy": [None, torch.full((K,), 0.5, dtype=F64), REF[:3]],
    "steps": [0, 1.5, None, "3"],
    "lr": [0.0, -0.1, math.inf],
}

def _cases() -> list[tuple[str, str, int]]:
    out = []
    for fn in CALLS:
        params = inspect.signature(getattr(dpo, fn)).parameters
        out += [(fn, arg, i) for arg in BAD if arg in params for i in range(len(BAD[arg]))]
    return out


@pytest.mark.parametrize("fn", list(CALLS))
def test_valid_calls_are_finite(fn: str) -> None:
    out = CALLS[fn]()
    tensors = out if isinstance(out, tuple) else (out,)
    for t in tensors:
        if isinstance(t, torch.Tensor):
            assert bool(torch.isfinite(t.to(F64)).all()), fn


@pytest.mark.parametrize(("fn", "arg", "i"), _cases())
def test_bad_input_raises_naming_the_argument(fn: str, arg: str, i: int) -> None:
    with pytest.raises(ValueError, match=arg):
        CALLS[fn](**{arg: BAD[arg][i]})


# ----------------------------------------------------------------------------- a DPO run, step by step
def test_descent_never_increases_the_loss_and_heads_for_pi_beta() -> None:
    beta = 1.0
    w = dpo.exact_pair_weights(REF, PROXY)
    run = dpo.dpo_descent(REF, w, beta, 400)
    assert run.logits.shape == (401, K) and run.loss.shape == (401,)
    assert run.lr == pytest.approx(1.0 / dpo.smoothness_bound(w, beta))
    assert bool((run.loss.diff() <= 1e-15).all())
    target = tilted_policy(REF, PROXY, beta)
    kl = kl_divergence(run.logits.exp(), target)
    assert float(kl[-1]) < 0.1 * float(kl[0])
    # The bound holds: the exact Hessian at any point is below L·I.
    for theta in (REF.log(), run.logits[-1], torch.linspace(-3.0, 3.0, K, dtype=F64)):
        hess = torch.autograd.functional.hessian(lambda t: dpo.weighted_dpo_loss(t, REF, w, beta), theta)
        assert float(torch.linalg.eigvalsh(hess)[-1]) <= dpo.smoothness_bound(w, beta) * (1 + 1e-12)
