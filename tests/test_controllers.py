"""KL controllers: the seed's threshold rule, Ziegler's proportional rule, and a fixed β."""

from __future__ import annotations

import math

import pytest

from kl_lessons import AdaptiveKLController, FixedKLController, ThresholdKLController


def test_threshold_reproduces_the_seed_table() -> None:
    controller = ThresholdKLController()
    betas = [controller.update(kl) for kl in [0.01, 0.02, 0.05, 0.1, 0.03, 0.02]]
    assert betas == pytest.approx([0.1, 0.1, 0.15, 0.225, 0.225, 0.225])


def test_threshold_respects_bounds() -> None:
    controller = ThresholdKLController(init_kl_coef=0.9)
    for _ in range(5):
        controller.update(1.0)
    assert controller.value == 1.0
    for _ in range(20):
        controller.update(0.0)
    assert controller.value == 0.01


def test_proportional_rule_matches_its_equation() -> None:
    controller = AdaptiveKLController(init_kl_coef=0.15, target=6.0, horizon=10_000)
    beta = controller.update(7.5, n_steps=512)
    assert beta == pytest.approx(0.15 * (1 + 0.2 * 512 / 10_000))  # error clipped at +0.2
    beta2 = controller.update(5.7, n_steps=512)
    assert beta2 == pytest.approx(beta * (1 + (5.7 / 6 - 1) * 512 / 10_000))


def test_proportional_rule_settles_on_a_simple_plant() -> None:
    # A plant whose KL is 1/β: the fixed point is β = 1/target.
    controller = AdaptiveKLController(init_kl_coef=1.0, target=4.0, horizon=100)
    for _ in range(3000):
        controller.update(1.0 / controller.value, n_steps=10)
    assert controller.value == pytest.approx(0.25, rel=1e-3)


def test_fixed_controller_never_moves() -> None:
    controller = FixedKLController(0.05)
    assert [controller.update(x) for x in (0.0, 10.0, -3.0)] == [0.05] * 3


@pytest.mark.parametrize("make", [lambda: AdaptiveKLController(0.1, 1.0, 100), ThresholdKLController,
                                  lambda: FixedKLController(0.1)])
@pytest.mark.parametrize("reading", [float("nan"), float("inf"), -float("inf"), "high"])
def test_non_finite_reading_raises_and_leaves_beta_alone(make, reading) -> None:
    controller = make()
    before = controller.value
    with pytest.raises(ValueError, match="current"):
        controller.update(reading)
    assert controller.value == before and math.isfinite(controller.value)


def test_negative_reading_lowers_beta_but_keeps_it_positive() -> None:
    controller = AdaptiveKLController(0.1, target=1.0, horizon=10)
    for _ in range(100):
        controller.update(-5.0, n_steps=10)
    assert 0 < controller.value < 0.1


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: AdaptiveKLController(0.1, 0.0, 100), "target"),
        (lambda: AdaptiveKLController(0.1, -1.0, 100), "target"),
        (lambda: AdaptiveKLController(0.1, 1.0, 0), "horizon"),
        (lambda: AdaptiveKLController(float("nan"), 1.0, 10), "init_kl_coef"),
        (lambda: AdaptiveKLController(0.1, 1.0, 10).update(1.0, n_steps=11), "n_steps"),
        (lambda: AdaptiveKLController(0.1, 1.0, 10).update(1.0, n_steps=0), "n_steps"),
        (lambda: FixedKLController(-0.1), "kl_coef"),
        (lambda: ThresholdKLController(target=0), "target"),
        (lambda: ThresholdKLController(factor=1.0), "factor"),
        (lambda: ThresholdKLController(bounds=(1.0, 0.1)), "bounds"),
        (lambda: ThresholdKLController(bounds=0.1), "bounds"),
    ],
)
def test_bad_arguments_raise(make, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make()
