"""Lesson 3's policy-gradient primer: REINFORCE, baselines, PPO's clipped ratio and GRPO's group advantages,
each checked against an independent computation (autograd of the exact expectation, Monte Carlo, a hand formula)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons.kl_in_loss import draw_samples
from kl_lessons.policy_gradient import (
    GROUP_STD_EPS, clipped_surrogate, expected_policy_gradient, group_advantages, sampled_policy_gradients,
)
from kl_lessons.self_checks.lesson03 import GROUP_REWARDS, check_group_advantages

F64 = torch.float64


def _toy(seed: int, k: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(k, generator=gen, dtype=F64), torch.randn(k, generator=gen, dtype=F64)


def _autograd_of_expected_reward(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    theta = logits.clone().requires_grad_(True)
    (torch.softmax(theta, -1) @ rewards).backward()
    return theta.grad


@given(st.integers(0, 10_000), st.integers(2, 8), st.floats(-5.0, 5.0))
def test_expected_gradient_is_autograd_of_the_expected_reward_for_any_baseline(seed: int, k: int, b: float) -> None:
    logits, rewards = _toy(seed, k)
    want = _autograd_of_expected_reward(logits, rewards)
    torch.testing.assert_close(expected_policy_gradient(logits, rewards, baseline=b), want, rtol=1e-10, atol=1e-12)


def test_per_outcome_gradients_weighted_by_pi_give_the_expected_gradient() -> None:
    logits, rewards = _toy(1)
    every = sampled_policy_gradients(logits, rewards, torch.arange(4), baseline=0.3)
    pi = torch.softmax(logits, -1)
    torch.testing.assert_close((pi[:, None] * every).sum(0), expected_policy_gradient(logits, rewards))
    # Each row is (r(y) − b)·(e_y − π), the softmax score function written out.
    torch.testing.assert_close(every, (rewards - 0.3)[:, None] * (torch.eye(4, dtype=F64) - pi))


def test_sample_mean_lands_on_the_expected_gradient() -> None:
    logits, rewards = _toy(2)
    n = 50_000
    grads = sampled_policy_gradients(logits, rewards, draw_samples(logits, n, seed=3))
    se = grads.std(0) / math.sqrt(n)
    assert bool(((grads.mean(0) - expected_policy_gradient(logits, rewards)).abs() < 5 * se).all())


def _total_variance(logits: torch.Tensor, rewards: torch.Tensor, b: float) -> float:
    """E_π‖g(y) − E g‖², exactly, by enumerating the outcomes."""
    pi = torch.softmax(logits, -1)
    every = sampled_policy_gradients(logits, rewards, torch.arange(len(pi)), baseline=b)
    return float((pi * ((every - pi @ every) ** 2).sum(-1)).sum())


def test_the_variance_is_least_at_the_score_weighted_baseline_not_always_at_the_mean() -> None:
    for seed in range(20):
        logits, rewards = _toy(seed)
        pi = torch.softmax(logits, -1)
        norms = ((torch.eye(4, dtype=F64) - pi) ** 2).sum(-1)  # ‖∇log π(y)‖² for each outcome
        best = float((pi * norms * rewards).sum() / (pi * norms).sum())  # the variance is a parabola in b
        grid = torch.linspace(best - 3, best + 3, 61, dtype=F64).tolist()
        assert all(_total_variance(logits, rewards, best) <= _total_variance(logits, rewards, b) + 1e-12 for b in grid)
        # Rewards far from zero (a reward model's offset): the mean-reward baseline beats none at all.
        value = float(pi @ rewards)
        assert _total_variance(logits, rewards + 5, value + 5) < _total_variance(logits, rewards + 5, 0.0)
    # "The mean reward lowers the variance" is not general: with rewards near zero, here it raises it 6-fold.
    logits, rewards = _toy(4)
    value = float(torch.softmax(logits, -1) @ rewards)
    assert _total_variance(logits, rewards, value) > 6 * _total_variance(logits, rewards, 0.0)


def test_clipped_surrogate_matches_the_ppo_formula_and_its_gradient() -> None:
    rho = torch.tensor([0.5, 0.9, 1.0, 1.1, 1.5, 0.5, 1.5], dtype=F64, requires_grad=True)
    adv = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0], dtype=F64)
    out = clipped_surrogate(rho, adv, 0.2)
    by_hand = [min(r * a, min(max(r, 0.8), 1.2) * a) for r, a in zip(rho.tolist(), adv.tolist())]
    torch.testing.assert_close(out.detach(), torch.tensor(by_hand, dtype=F64))
    (grad,) = torch.autograd.grad(out.sum(), rho)
    # A > 0: no more push once ρ > 1 + ε. A < 0: no more push once ρ < 1 − ε. The other side stays unclipped.
    assert grad.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0]


def test_at_the_old_policy_the_clipped_surrogate_gives_the_policy_gradient() -> None:
    logits, rewards = _toy(5)
    old = torch.softmax(logits, -1)
    advantages = rewards - old @ rewards
    theta = logits.clone().requires_grad_(True)
    ratio = torch.softmax(theta, -1) / old
    (old * clipped_surrogate(ratio, advantages)).sum().backward()  # the expectation over y ~ π_old, exactly
    torch.testing.assert_close(theta.grad, expected_policy_gradient(logits, rewards), rtol=1e-10, atol=1e-12)


def test_group_advantages_follow_the_formula_and_are_scale_free() -> None:
    r = torch.tensor(GROUP_REWARDS, dtype=F64)
    adv = group_advantages(r)
    for row, got in zip(r.tolist(), adv):
        mean = sum(row) / len(row)
        sd = math.sqrt(sum((x - mean) ** 2 for x in row) / (len(row) - 1))  # sample standard deviation
        torch.testing.assert_close(got, torch.tensor([(x - mean) / (sd + GROUP_STD_EPS) for x in row], dtype=F64))
    torch.testing.assert_close(adv.sum(-1), torch.zeros(len(r), dtype=F64), rtol=0, atol=1e-12)
    assert bool((adv[2] == 0).all())  # equal rewards: no signal
    torch.testing.assert_close(group_advantages(10 * r + 3), adv, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(group_advantages(r, scale=False), r - r.mean(-1, keepdim=True))


def test_group_advantages_one_group_by_hand() -> None:
    # Rewards 1, 0, 0, 1: mean ½, sample sd √(1/3), so ±½·√3 ≈ ±0.866.
    adv = group_advantages([[1.0, 0.0, 0.0, 1.0]], eps=0.0)
    torch.testing.assert_close(adv, torch.tensor([[1.0, -1.0, -1.0, 1.0]], dtype=F64) * math.sqrt(3) / 2)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: expected_policy_gradient([0.0], [1.0]), "logits"),
        (lambda: expected_policy_gradient([0.0, 1.0], [1.0]), "rewards"),
        (lambda: expected_policy_gradient([0.0, 1.0], [1.0, math.nan]), "rewards"),
        (lambda: expected_policy_gradient([0.0, 1.0], [1.0, 0.0], baseline=math.inf), "baseline"),
        (lambda: sampled_policy_gradients([0.0, 1.0], [1.0, 0.0], [2]), "samples"),
        (lambda: sampled_policy_gradients([0.0, 1.0], [1.0, 0.0], [0.5]), "samples"),
        (lambda: clipped_surrogate([1.0, -1.0], [1.0, 1.0]), "ratio"),
        (lambda: clipped_surrogate([1.0, 1.0], [1.0]), "advantages"),
        (lambda: clipped_surrogate([1.0], [1.0], clip_eps=1.5), "clip_eps"),
        (lambda: clipped_surrogate([1.0], [1.0], clip_eps=0.0), "clip_eps"),
        (lambda: group_advantages([1.0, 2.0]), "rewards"),
        (lambda: group_advantages([[1.0], [2.0]]), "rewards"),
        (lambda: group_advantages([[1.0, 1.0]], eps=0.0), "eps"),
        (lambda: group_advantages([[1.0, 2.0]], eps=-1.0), "eps"),
        (lambda: group_advantages([[1.0, 2.0]], scale=1), "scale"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


# ---- the exercise's self-check: the right answer, and each slip named ----


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (group_advantages, "Correct"),
        (lambda r: (r - r.mean(-1, keepdim=True)) / (r.std(-1, keepdim=True) + 1e-8), "Correct"),
        (lambda r: (r - r.mean(-1, keepdim=True)) / r.std(-1, keepdim=True), "came out NaN"),
        (lambda r: r - r.mean(-1, keepdim=True), "only subtracts the group's mean"),
        (lambda r: (r - r.mean(-1, keepdim=True)) / (r.std(-1, correction=0, keepdim=True) + 1e-4), "population"),
        (lambda r: (r - r.mean()) / (r.std() + 1e-4), "whole batch"),
        (lambda r: r, "Not yet"),
        (lambda r: r.flatten(), "one advantage per response"),
        (lambda r: 1 / 0, "ZeroDivisionError"),
        (lambda r: None, "returns nothing yet"),
        (lambda r: "advantages", "tensor of numbers"),
        (3, "function itself"),
        (..., "Fill in"),
    ],
)
def test_check_group_advantages_names_each_slip(answer, words: str) -> None:
    message = check_group_advantages(answer)
    assert words in message and (words == "Correct") == message.startswith("Correct"), message


def test_scaling_the_scores_moves_the_kl_in_the_reward_but_not_grpos_advantages() -> None:
    # The exercise's solution: scores × 10 with the KL in the reward acts like β / 10 (the optimum depends on r/β);
    # GRPO's standardised advantages do not change, so its β·k3 in the loss keeps its weight.
    from kl_lessons import tilted_policy

    ref, r = [0.5, 0.3, 0.15, 0.05], torch.tensor([0.0, 0.2, 0.1, 1.0], dtype=F64)
    torch.testing.assert_close(tilted_policy(ref, 10 * r, 0.5), tilted_policy(ref, r, 0.05))
    assert not torch.allclose(tilted_policy(ref, 10 * r, 0.5), tilted_policy(ref, r, 0.5))
    torch.testing.assert_close(group_advantages(10 * r[None]), group_advantages(r[None]), rtol=1e-3, atol=1e-3)


def test_group_advantages_follow_trls_grpo_trainer_as_pinned() -> None:
    # Lesson 3 says TRL 1.16.0's GRPOTrainer divides by the sample standard deviation plus 1e-4 with
    # scale_rewards="group" by default. Read from its installed source, without importing TRL (slow).
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("trl")
    if spec is None or spec.origin is None:
        pytest.skip("trl is not installed")
    assert importlib.metadata.version("trl") == "1.16.0"
    package = Path(spec.origin).parent
    trainer = (package / "trainer" / "grpo_trainer.py").read_text(encoding="utf-8")
    config = (package / "trainer" / "grpo_config.py").read_text(encoding="utf-8")
    utils = (package / "trainer" / "utils.py").read_text(encoding="utf-8")
    assert "advantages = advantages / (std_rewards + 1e-4)" in trainer and GROUP_STD_EPS == 1e-4
    assert re.search(r"scale_rewards: str = field\(\s*default=\"group\"", config)
    assert "correction = count / (count - 1)" in utils  # nanstd: Bessel's correction, the sample standard deviation
