"""Lesson 1's library code: the forward/reverse Gaussian fits, the forecasters and the self-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy

from kl_lessons import kl_divergence
from kl_lessons.mode_seeking import (
    fit_both_directions,
    fit_gaussian,
    gaussian_log_probs,
    grid_kl,
    make_grid,
    mixture_log_probs,
)
from kl_lessons.self_checks import lesson01
from kl_lessons.self_checks.lesson01 import check_kl_in_bits, dog_kl_bits

# ---- mode_seeking: forward KL covers both modes, reverse KL sits on one ----


@pytest.fixture(scope="module")
def fits() -> dict:
    return fit_both_directions()


def test_forward_fit_covers_both_modes(fits: dict) -> None:
    fwd = fits["forward"]
    # Between the modes at ±2, and wider than the gap between them.
    assert abs(fwd.mean) < 0.05
    assert fwd.std > 2.0


def test_reverse_fit_sits_on_one_mode(fits: dict) -> None:
    rev = fits["reverse"]
    assert abs(rev.mean - 2.0) < 0.05
    assert abs(rev.std - 0.6) < 0.05
    # Ignoring a mode of weight ½ costs about log 2 nats and no more.
    assert rev.kl == pytest.approx(math.log(2), abs=0.01)


def test_forward_fit_matches_the_targets_moments_on_the_grid(fits: dict) -> None:
    # Gaussians normalised on a grid are an exponential family with statistics (x, x²),
    # so the forward-KL optimum matches E[x] and E[x²] of the target on that grid.
    grid = make_grid()
    p = mixture_log_probs(grid).exp()
    q = gaussian_log_probs(grid, fits["forward"].mean, fits["forward"].std).exp()
    for power in (1, 2):
        assert float((q * grid**power).sum()) == pytest.approx(float((p * grid**power).sum()), abs=1e-4)


def test_each_fit_wins_its_own_objective_and_loses_the_other(fits: dict) -> None:
    grid = make_grid()
    log_p = mixture_log_probs(grid)
    log_q = {d: gaussian_log_probs(grid, f.mean, f.std) for d, f in fits.items()}
    assert float(grid_kl(log_p, log_q["forward"])) < float(grid_kl(log_p, log_q["reverse"]))
    assert float(grid_kl(log_q["reverse"], log_p)) < float(grid_kl(log_q["forward"], log_p))


def test_reported_kl_matches_the_direction(fits: dict) -> None:
    grid = make_grid()
    log_p = mixture_log_probs(grid)
    fwd, rev = fits["forward"], fits["reverse"]
    assert fwd.kl == pytest.approx(float(grid_kl(log_p, gaussian_log_probs(grid, fwd.mean, fwd.std))), rel=1e-12)
    assert rev.kl == pytest.approx(float(grid_kl(gaussian_log_probs(grid, rev.mean, rev.std), log_p)), rel=1e-12)


def test_grid_kl_agrees_with_torch_distributions() -> None:
    grid = make_grid(size=101)
    log_p, log_q = mixture_log_probs(grid), gaussian_log_probs(grid, 0.3, 1.5)
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=log_p), torch.distributions.Categorical(logits=log_q)
    )
    assert float(grid_kl(log_p, log_q)) == pytest.approx(float(theirs), rel=1e-10)
    assert float(grid_kl(log_p, log_q)) == pytest.approx(float(kl_divergence(log_p.exp(), log_q.exp())), rel=1e-8)


def test_the_fit_is_deterministic() -> None:
    assert fit_both_directions() == fit_both_directions()


def test_reverse_fit_lands_in_the_mode_downhill_from_its_start() -> None:
    # Exercise ex-01-which-mode: starting on the left finds the left mode.
    grid = make_grid()
    left = fit_gaussian(mixture_log_probs(grid), grid, "reverse", init_mean=-1.0)
    assert abs(left.mean + 2.0) < 0.05 and left.std < 0.7


def test_reverse_fit_can_pick_the_lighter_mode() -> None:
    # Exercise ex-01-which-mode: with weights (0.6, 0.4) the default start still goes right,
    # paying about −log 0.4 instead of the −log 0.6 the heavier mode would cost.
    grid = make_grid()
    log_p = mixture_log_probs(grid, weights=(0.6, 0.4))
    right = fit_gaussian(log_p, grid, "reverse")
    left = fit_gaussian(log_p, grid, "reverse", init_mean=-1.0)
    assert abs(right.mean - 2.0) < 0.05 and abs(left.mean + 2.0) < 0.05
    assert right.kl == pytest.approx(-math.log(0.4), abs=0.01)
    assert left.kl == pytest.approx(-math.log(0.6), abs=0.01)


def test_grid_kl_follows_the_zero_conventions() -> None:
    half = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64).log()
    third = torch.full((3,), 1 / 3, dtype=torch.float64).log()
    assert float(grid_kl(half, third)) == pytest.approx(math.log(1.5))  # 0·log 0 = 0, no NaN
    assert math.isinf(float(grid_kl(third, half)))  # q = 0 < p


def test_mixture_normalises_on_the_grid() -> None:
    grid = make_grid(-5, 5, 51)
    log_p = mixture_log_probs(grid, means=(0.0,), stds=(1.0,), weights=(1.0,))
    assert float(log_p.exp().sum()) == pytest.approx(1.0, abs=1e-12)
    torch.testing.assert_close(log_p, gaussian_log_probs(grid, 0.0, 1.0))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: make_grid(1.0, 0.0), "high"),
        (lambda: make_grid(size=2), "size"),
        (lambda: mixture_log_probs(torch.tensor([0.0, 2.0, 1.0])), "grid"),
        (lambda: mixture_log_probs(make_grid(), stds=(0.6, -1.0)), "stds"),
        (lambda: mixture_log_probs(make_grid(), weights=(0.5, 0.6)), "weights"),
        (lambda: mixture_log_probs(make_grid(), means=(0.0,)), "means"),
        (lambda: gaussian_log_probs(make_grid(), 0.0, 0.0), "std"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(), "sideways"), "direction"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(size=11), "forward"), "target_log_probs"),
        (lambda: fit_gaussian(torch.zeros(401, dtype=torch.float64), make_grid(), "forward"), "target_log_probs"),
        (lambda: fit_gaussian(torch.full((401,), -math.inf).index_fill(0, torch.tensor([200]), 0.0), make_grid(),
                              "reverse"), "target_log_probs"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(), "forward", steps=0), "steps"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(), "forward", lr=-1.0), "lr"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(), "forward", init_std=0.0), "init_std"),
        (lambda: fit_gaussian(mixture_log_probs(make_grid()), make_grid(), "forward", init_mean=math.nan), "init_mean"),
    ],
)
def test_mode_seeking_validates_inputs(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# ---- the forecasters of the explorer and its exercise ----


def test_two_outcome_mirror_images_have_equal_directions() -> None:
    # Exercise ex-01-mirror: for two outcomes KL(P‖Q) = KL(Q‖P) when q = 1 − p.
    p, mirror, other = [0.8, 0.2], [0.2, 0.8], [0.4, 0.6]
    assert float(kl_divergence(p, mirror)) == pytest.approx(float(kl_divergence(mirror, p)), rel=1e-12)
    assert float(kl_divergence(p, other)) == pytest.approx(0.335, abs=5e-4)  # the numbers the solution quotes
    assert float(kl_divergence(other, p)) == pytest.approx(0.382, abs=5e-4)


# ---- the self-check ----


def test_self_check_target_matches_scipy_in_bits() -> None:
    assert dog_kl_bits() == pytest.approx(scipy_entropy(lesson01.DOG_POLICY, lesson01.DOG_REFERENCE, base=2), rel=1e-12)


def test_self_check_accepts_the_right_answer_to_three_decimals() -> None:
    answer = round(scipy_entropy(lesson01.DOG_POLICY, lesson01.DOG_REFERENCE, base=2), 3)
    assert check_kl_in_bits(answer).startswith("Correct")
    assert check_kl_in_bits(str(answer)).startswith("Correct")
    assert check_kl_in_bits(np.float32(answer)).startswith("Correct")


def test_self_check_names_each_common_slip() -> None:
    policy, ref = lesson01.DOG_POLICY, lesson01.DOG_REFERENCE
    slips = {
        "nats": scipy_entropy(policy, ref),
        "other direction": scipy_entropy(ref, policy, base=2),
        "base 10": scipy_entropy(policy, ref, base=10),
        "cross-entropy": -float(np.sum(np.asarray(policy) * np.log2(ref))),
        "sign": -scipy_entropy(policy, ref, base=2),
    }
    for phrase, value in slips.items():
        message = check_kl_in_bits(round(value, 3))
        assert message.startswith("Not yet") and phrase in message, (phrase, message)


def test_self_check_slips_are_told_apart_from_the_answer() -> None:
    # Every hinted slip must sit outside the tolerance of the right answer and of each other.
    values = [dog_kl_bits()] + [v for v, _ in lesson01._known_slips()]
    gaps = np.abs(np.subtract.outer(values, values))[np.triu_indices(len(values), 1)]
    assert gaps.min() > 2 * lesson01.BITS_TOLERANCE


@pytest.mark.parametrize(("answer", "decimals"), [(0.51, "2 decimals"), ("0.51", "2 decimals"), (0.5, "1 decimal")])
def test_self_check_names_too_few_decimals(answer, decimals: str) -> None:
    # The right KL, 0.5057 bits, rounded too early: named, not a generic "Not yet".
    assert round(dog_kl_bits(), 2) == 0.51 and round(dog_kl_bits(), 1) == 0.5
    message = check_kl_in_bits(answer)
    assert message.startswith("Not yet") and f"rounded to {decimals}" in message, message


def test_self_check_does_not_call_a_wrong_two_decimal_answer_rounded() -> None:
    message = check_kl_in_bits(0.52)
    assert message.startswith("Not yet") and "rounded" not in message


@pytest.mark.parametrize("answer", [None, "half a bit", [0.3], True, float("inf"), float("nan"), 1.0, 0.0])
def test_self_check_rejects_wrong_or_malformed_answers_without_raising(answer) -> None:
    message = check_kl_in_bits(answer)
    assert isinstance(message, str) and not message.startswith("Correct")
