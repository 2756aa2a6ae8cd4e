"""Lesson 2's library: the chain rule, sampling and scoring, Schulman's Gaussian table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from torch.distributions import Categorical, kl_divergence as torch_kl

from kl_lessons import kl_divergence, kl_estimate
from kl_lessons.sampling import (
    PUBLISHED_GAUSSIAN_TABLE,
    chain_rule_terms,
    expected_estimate_under_sampler,
    full_kl_from_logits,
    gaussian_estimator_exact,
    gaussian_estimator_study,
    gaussian_single_sample_estimates,
    published_rounding,
    random_two_token_model,
    sample_and_score,
    sampling_distribution,
    sequence_kl_by_enumeration,
    two_token_model,
)
from kl_lessons.self_checks.lesson02 import check_k3

#: Five standard errors: a correct estimator fails about once in 3.5 million runs.
Z = 5.0

REF_PROBS = [0.40, 0.22, 0.13, 0.09, 0.07, 0.05, 0.03, 0.01]
POLICY_PROBS = [0.27, 0.17, 0.31, 0.07, 0.08, 0.06, 0.02, 0.02]


def _logits(probs: list[float]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float64).log()


# ------------------------------------------------------------------ chain rule
@given(st.integers(2, 7), st.integers(0, 10_000), st.integers(0, 10_000), st.floats(0.1, 4.0))
def test_chain_rule_holds_exactly(vocab: int, seed_pi: int, seed_ref: int, scale: float) -> None:
    pi = random_two_token_model(vocab, seed_pi, scale)
    ref = random_two_token_model(vocab, seed_ref, scale)
    first, second = chain_rule_terms(pi, ref)
    total = sequence_kl_by_enumeration(pi, ref)
    assert first >= 0 and second >= 0
    assert first + second == pytest.approx(total, rel=1e-12, abs=1e-14)


def test_enumeration_matches_torch_distributions() -> None:
    pi, ref = random_two_token_model(4, 1), random_two_token_model(4, 2)
    joint_pi, joint_ref = pi.sequence_probs().flatten(), ref.sequence_probs().flatten()
    expected = torch_kl(Categorical(probs=joint_pi), Categorical(probs=joint_ref))
    assert sequence_kl_by_enumeration(pi, ref) == pytest.approx(float(expected), rel=1e-12)
    assert float(pi.sequence_probs().sum()) == pytest.approx(1.0, abs=1e-12)


def test_chain_rule_second_term_averages_over_the_policys_contexts() -> None:
    # Build the second term by hand: each first token's KL, weighted by π(first token).
    pi, ref = random_two_token_model(3, 5), random_two_token_model(3, 6)
    by_hand = sum(float(pi.first[a]) * float(kl_divergence(pi.second[a], ref.second[a])) for a in range(3))
    assert chain_rule_terms(pi, ref)[1] == pytest.approx(by_hand, rel=1e-12)


# ------------------------------------------------------------ full KL, samplers
@given(st.integers(2, 12), st.integers(0, 10_000))
def test_full_kl_matches_torch_distributions(vocab: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    lg, ref = torch.randn(2, 3, vocab, generator=gen, dtype=torch.float64) * 2
    expected = torch_kl(Categorical(logits=lg), Categorical(logits=ref))
    torch.testing.assert_close(full_kl_from_logits(lg, ref), expected, rtol=1e-10, atol=1e-12)


def test_default_sampler_is_the_policy_itself() -> None:
    lg = torch.randn(4, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(sampling_distribution(lg), torch.softmax(lg, -1))
    torch.testing.assert_close(sampling_distribution(lg, temperature=0.5), torch.softmax(lg / 0.5, -1))


def test_top_k_and_top_p_keep_the_right_tokens() -> None:
    probs = torch.tensor(REF_PROBS, dtype=torch.float64)
    top3 = sampling_distribution(probs.log(), top_k=3)
    torch.testing.assert_close(top3[:3], probs[:3] / probs[:3].sum())
    assert bool((top3[3:] == 0).all())
    # 0.40 + 0.22 = 0.62 < 0.7 ≤ 0.75: nucleus sampling at 0.7 keeps exactly three tokens.
    nucleus = sampling_distribution(probs.log(), top_p=0.7)
    assert int((nucleus > 0).sum()) == 3
    assert float(nucleus.sum()) == pytest.approx(1.0)
    # The most likely token always survives, however small top_p is.
    assert int((sampling_distribution(probs.log(), top_p=1e-6) > 0).sum()) == 1


def test_samples_follow_the_sampler_and_are_scored_by_the_policy() -> None:
    lg, ref = _logits(POLICY_PROBS), _logits(REF_PROBS)
    n = 200_000
    for kwargs in ({}, {"top_k": 3}, {"temperature": 0.7}):
        s = sample_and_score(lg, ref, n, seed=1, **kwargs)
        freq = torch.bincount(s.tokens, minlength=8).double() / n
        want = sampling_distribution(lg, **kwargs)
        assert bool(((freq - want).abs() <= Z * (want * (1 - want) / n).sqrt() + 1e-12).all())
        torch.testing.assert_close(s.logprobs, torch.log_softmax(lg, -1)[s.tokens])
        torch.testing.assert_close(s.ref_logprobs, torch.log_softmax(ref, -1)[s.tokens])


def test_sampling_is_reproducible_and_shapes_follow_the_logits() -> None:
    lg = torch.randn(5, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    a = sample_and_score(lg, lg.flip(-1), 11, seed=4)
    b = sample_and_score(lg, lg.flip(-1), 11, seed=4)
    assert a.tokens.shape == a.logprobs.shape == (11, 5)
    assert torch.equal(a.tokens, b.tokens)
    assert sample_and_score(lg[2], lg[2], 11, seed=4).tokens.shape == (11,)
    # Column j is drawn from row j: rows that each allow a single token make this visible.
    certain = torch.full((3, 4), -math.inf, dtype=torch.float64)
    certain[0, 2] = certain[1, 0] = certain[2, 3] = 0.0
    tokens = sample_and_score(torch.where(certain.isinf(), -50.0, certain), torch.zeros(3, 4), 50, seed=5).tokens
    assert bool((tokens == torch.tensor([2, 0, 3])).all())


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_k1_and_k3_are_unbiased_for_sampled_tokens(estimator: str) -> None:
    lg, ref = _logits(POLICY_PROBS), _logits(REF_PROBS)
    n = 400_000
    s = sample_and_score(lg, ref, n, seed=7)
    est = kl_estimate(s.logprobs, s.ref_logprobs, estimator)
    tolerance = Z * float(est.std()) / math.sqrt(n)
    assert abs(float(est.mean()) - float(full_kl_from_logits(lg, ref))) < tolerance


def test_k2_expectation_exceeds_kl_and_k1_expectation_is_kl() -> None:
    lg, ref = _logits(POLICY_PROBS), _logits(REF_PROBS)
    true = float(full_kl_from_logits(lg, ref))
    assert float(expected_estimate_under_sampler(lg, ref, "k1")) == pytest.approx(true, rel=1e-12)
    assert float(expected_estimate_under_sampler(lg, ref, "k3")) == pytest.approx(true, rel=1e-12)
    assert float(expected_estimate_under_sampler(lg, ref, "k2")) > true


@given(st.integers(2, 10), st.integers(0, 10_000), st.floats(0.1, 5.0))
def test_k3_is_never_negative_on_sampled_tokens(vocab: int, seed: int, scale: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    lg, ref = torch.randn(2, vocab, generator=gen, dtype=torch.float64) * scale
    s = sample_and_score(lg, ref, 64, seed=seed)
    assert bool((kl_estimate(s.logprobs, s.ref_logprobs, "k3") >= 0).all())


def test_top_k_sampling_makes_the_k1_batch_mean_negative() -> None:
    # A policy flatter than its reference, sampled with top-k: the TRL FAQ's example.
    ref = _logits(REF_PROBS)
    flat = ref / 1.6
    true = float(full_kl_from_logits(flat, ref))
    n = 100_000
    s = sample_and_score(flat, ref, n, seed=11, top_k=3)
    k1 = kl_estimate(s.logprobs, s.ref_logprobs, "k1")
    se = float(k1.std()) / math.sqrt(n)
    assert true > 0
    assert float(k1.mean()) < -Z * se
    exact = float(expected_estimate_under_sampler(flat, ref, "k1", top_k=3))
    assert abs(float(k1.mean()) - exact) < Z * se
    # The same policy sampled honestly gives the true KL back.
    honest = sample_and_score(flat, ref, n, seed=12)
    k1h = kl_estimate(honest.logprobs, honest.ref_logprobs, "k1")
    assert abs(float(k1h.mean()) - true) < Z * float(k1h.std()) / math.sqrt(n)


# ------------------------------------------------------------ Gaussian table
@pytest.mark.parametrize("mu", sorted(PUBLISHED_GAUSSIAN_TABLE))
def test_gaussian_study_agrees_with_the_published_table(mu: float) -> None:
    study = gaussian_estimator_study(mu, 500_000, seed=0)
    for name, (bias_text, sd_text) in PUBLISHED_GAUSSIAN_TABLE[mu].items():
        got = study[name]
        assert abs(got.bias_over_true - float(bias_text)) <= Z * got.bias_se + published_rounding(bias_text)
        assert abs(got.stdev_over_true - float(sd_text)) <= Z * got.stdev_se + published_rounding(sd_text)


@pytest.mark.parametrize("mu", [0.1, 0.5, 1.0, -1.3])
def test_gaussian_study_agrees_with_the_closed_form(mu: float) -> None:
    study = gaussian_estimator_study(mu, 400_000, seed=1)
    for name, (bias, sd) in gaussian_estimator_exact(mu).items():
        assert abs(study[name].bias_over_true - bias) <= Z * study[name].bias_se
        assert abs(study[name].stdev_over_true - sd) <= Z * study[name].stdev_se


@pytest.mark.parametrize("mu", [0.1, 1.0])
def test_gaussian_closed_form_agrees_with_numerical_integration(mu: float) -> None:
    true = mu**2 / 2
    logr = lambda x: mu * x - mu**2 / 2  # noqa: E731
    k = {"k1": lambda x: -logr(x), "k2": lambda x: 0.5 * logr(x) ** 2, "k3": lambda x: math.expm1(logr(x)) - logr(x)}
    for name, (bias, sd) in gaussian_estimator_exact(mu).items():
        mean = integrate.quad(lambda x: k[name](x) * stats.norm.pdf(x), -12, 12, epsabs=1e-13)[0]
        second = integrate.quad(lambda x: k[name](x) ** 2 * stats.norm.pdf(x), -12, 12, epsabs=1e-13)[0]
        assert mean / true - 1 == pytest.approx(bias, abs=1e-7)
        assert math.sqrt(second - mean**2) / true == pytest.approx(sd, rel=1e-6)


def test_single_sample_k1_is_negative_as_often_as_theory_says() -> None:
    # k1 = mu²/2 − mu·x < 0 exactly when x > mu/2, so P(k1 < 0) = Φ(−mu/2).
    n = 200_000
    for mu in (0.1, 1.0):
        frac = float((gaussian_single_sample_estimates(mu, n, seed=2)["k1"] < 0).double().mean())
        p = stats.norm.cdf(-mu / 2)
        assert abs(frac - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_published_rounding() -> None:
    assert published_rounding("0") == 0.0
    assert published_rounding("20") == 0.5
    assert published_rounding("1.42") == pytest.approx(0.005)
    assert published_rounding("0.002") == pytest.approx(0.0005)


# ---------------------------------------------------------------- validation
def test_library_validates_its_inputs() -> None:
    lg = torch.zeros(4)
    with pytest.raises(ValueError, match="temperature"):
        sampling_distribution(lg, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        sampling_distribution(lg, top_k=-1)
    with pytest.raises(ValueError, match="top_p"):
        sampling_distribution(lg, top_p=1.5)
    with pytest.raises(ValueError, match="num_samples"):
        sample_and_score(lg, lg, 0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        sample_and_score(lg, lg, 3, seed=-1)
    with pytest.raises(ValueError, match="ref_logits"):
        sample_and_score(lg, torch.zeros(5), 3, seed=0)
    with pytest.raises(ValueError, match="logits"):
        full_kl_from_logits([float("nan"), 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="logits"):
        full_kl_from_logits([1.0], [1.0])
    with pytest.raises(ValueError, match="second_logits"):
        two_token_model(torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="vocab_size"):
        random_two_token_model(1, 0)
    with pytest.raises(ValueError, match="reference"):
        chain_rule_terms(random_two_token_model(3, 0), random_two_token_model(4, 0))
    with pytest.raises(ValueError, match="mu"):
        gaussian_estimator_study(0.0)
    with pytest.raises(ValueError, match="num_batches"):
        gaussian_estimator_study(1.0, 1000, num_batches=1)
    with pytest.raises(ValueError, match="estimator"):
        expected_estimate_under_sampler(lg, lg, "k4")


# ---------------------------------------------------------------- self-check
def test_check_k3_accepts_correct_answers() -> None:
    assert check_k3(lambda lp, ref: kl_estimate(lp, ref, "k3")).startswith("Correct")
    # The naive formula (exp rather than expm1) is also right to within the tolerance.
    assert check_k3(lambda lp, ref: torch.exp(ref - lp) - 1 - (ref - lp)).startswith("Correct")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda lp, ref: lp - ref, "k1"),
        (lambda lp, ref: torch.exp(lp - ref) - 1 - (lp - ref), "upside down"),
        (lambda lp, ref: (ref - lp).mean(), "one estimate per token"),
        (lambda lp, ref: 1 / 0, "ZeroDivisionError"),
        (lambda lp, ref: (ref - lp) ** 2, "Not yet"),
        (lambda lp, ref: kl_estimate(lp, ref, "k2"), "That is k2"),  # k2 given where k3 is asked
        (lambda lp, ref: 0.5 * (lp - ref) ** 2, "That is k2"),
        (lambda lp, ref: ref - lp - 1, "negative"),
        (42, "function itself"),
    ],
)
def test_check_k3_explains_wrong_answers(answer: object, hint: str) -> None:
    message = check_k3(answer)  # type: ignore[arg-type]
    assert not message.startswith("Correct") and hint in message


# ------------------------------------------------- numbers quoted in the solutions
def test_k2_bias_reaches_ten_percent_at_root_point_four() -> None:
    mu = math.sqrt(0.4)
    assert gaussian_estimator_exact(mu)["k2"][0] == pytest.approx(0.1)
    study = gaussian_estimator_study(mu, 400_000, seed=3)
    assert abs(study["k2"].bias_over_true - 0.1) <= Z * study["k2"].bias_se


def test_a_hot_sampler_pushes_k1_above_the_true_kl() -> None:
    ref = _logits(REF_PROBS)
    flat = ref / 1.6
    true = float(full_kl_from_logits(flat, ref))
    hot = float(expected_estimate_under_sampler(flat, ref, "k1", temperature=1.5))
    assert hot > 2 * true > 0
