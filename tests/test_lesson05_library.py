"""Lesson 5's library code: the simulated plant, the health monitor and the self-checks."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kl_lessons import AdaptiveKLController, FixedKLController, ThresholdKLController
from kl_lessons.monitor import (
    HealthWarning,
    health_report,
    kl_negative,
    kl_spikes,
    kl_unbounded,
    nonfinite,
    reward_up_entropy_down,
)
from kl_lessons.plant import KLPlant, control_metrics, equilibrium_beta, equilibrium_kl, simulate_control
from kl_lessons.self_checks.lesson05 import BY_HAND, check_horizon, check_update_by_hand
from kl_lessons.toy_responses import toy_frontier_table

BETAS = np.array([0.01, 0.1, 1.0, 10.0])
KLS = np.array([5.0, 1.0, 0.04, 0.001])


@pytest.fixture(scope="module")
def toy_table() -> tuple[np.ndarray, np.ndarray]:
    betas, kls = toy_frontier_table(np.logspace(-2, 1, 31))
    return betas.numpy(), kls.numpy()


# --- the lesson's experiment, written once ----------------------------------------------------------
def test_experiment_plant_is_lesson_4s_table_with_the_measured_noise(toy_table) -> None:
    from kl_lessons.optimum import tilted_policy
    from kl_lessons.plant import CONTROL_EXPERIMENT as experiment
    from kl_lessons.toy_responses import make_toy_responses

    betas, kls = experiment.table()
    np.testing.assert_array_equal(betas, toy_table[0])
    np.testing.assert_array_equal(kls, toy_table[1])
    assert math.isclose(equilibrium_kl(experiment.beta_star(), betas, kls), experiment.target)
    # The noise, checked by sampling: 200 000 replies from π_β*, one k1 reading each.
    toy = make_toy_responses()
    pi = tilted_policy(toy.ref_probs, toy.proxy, experiment.beta_star())
    draws = torch.multinomial(pi, 200_000, replacement=True, generator=torch.Generator().manual_seed(3))
    readings = torch.log(pi / toy.ref_probs)[draws]
    assert abs(float(readings.std()) / experiment.reading_spread() - 1) < 0.01
    assert experiment.noise == round(experiment.reading_spread(), 1) == 0.9
    plant = experiment.plant(batch_size=256)
    assert (plant.lag, plant.noise, plant.batch_size, plant.seed, plant.kl_true) == (20.0, 0.9, 256, 0, 0.0)


def test_experiment_table_is_a_copy() -> None:
    from kl_lessons.plant import CONTROL_EXPERIMENT as experiment

    betas, _ = experiment.table()
    betas[0] = -1.0
    assert experiment.table()[0][0] == pytest.approx(0.01)


def test_experiment_controllers_carry_its_settings() -> None:
    from kl_lessons.plant import CONTROL_EXPERIMENT as experiment

    prop, thr = experiment.proportional(), experiment.threshold()
    assert (prop.value, prop.target, prop.horizon) == (0.1, 0.5, 10_000.0)
    assert (thr.value, thr.target, thr.factor, thr.bounds) == (0.1, 0.5, 1.5, (0.01, 1.0))
    assert experiment.proportional(target=0.25, horizon=300).horizon == 300
    assert experiment.threshold(target=1.0).target == 1.0


def test_explorer_and_self_checks_run_the_same_experiment() -> None:
    from kl_lessons.explorer_state import controller_state
    from kl_lessons.plant import CONTROL_EXPERIMENT as experiment

    state = controller_state()
    betas, kls = experiment.table()
    assert np.allclose(state["plant_betas"], betas, rtol=1e-5) and np.allclose(state["plant_kls"], kls, rtol=1e-5)
    assert (state["target"], state["init_beta"], state["lag"], state["batch_size"], state["horizon"], state["seed"],
            state["n_steps"], state["noise"], state["threshold_factor"], tuple(state["threshold_bounds"])) == (
        experiment.target, experiment.init_beta, experiment.lag, experiment.batch_size, experiment.horizon,
        experiment.seed, experiment.n_steps, experiment.noise, experiment.threshold_factor,
        experiment.threshold_bounds)


@pytest.mark.parametrize("changes, name", [
    ({"target": 0.0}, "target"), ({"init_beta": -1.0}, "init_beta"), ({"lag": 0.5}, "lag"),
    ({"batch_size": 2.5}, "batch_size"), ({"n_steps": 0}, "n_steps"), ({"seed": -1}, "seed"), ({"kl0": -0.1}, "kl0"),
    ({"horizon": float("nan")}, "horizon"), ({"threshold_factor": 1.0}, "factor"),
    ({"threshold_bounds": (1.0, 0.1)}, "bounds"), ({"threshold_bounds": {0.1: 1}}, "threshold_bounds"),
    ({"log10_beta_range": (1.0, -2.0)}, "log10_beta_range"), ({"log10_beta_range": "ab"}, "log10_beta_range"),
    ({"table_points": 1}, "table_points"),
])
def test_experiment_refuses_bad_settings_naming_them(changes, name) -> None:
    from kl_lessons.plant import CONTROL_EXPERIMENT

    with pytest.raises(ValueError, match=name):
        dataclasses.replace(CONTROL_EXPERIMENT, **changes)


def test_experiment_plant_refuses_an_unknown_change() -> None:
    from kl_lessons.plant import CONTROL_EXPERIMENT

    with pytest.raises(ValueError, match="changes"):
        CONTROL_EXPERIMENT.plant(horizon=5)


# --- equilibrium_kl and its inverse ---------------------------------------------------------------


def test_equilibrium_kl_hits_the_table_points() -> None:
    for b, k in zip(BETAS, KLS):
        assert equilibrium_kl(b, BETAS, KLS) == pytest.approx(k, rel=1e-12)


def test_equilibrium_kl_is_linear_in_log_log_between_points() -> None:
    beta = 0.3  # between 0.1 and 1.0
    w = (math.log(beta) - math.log(0.1)) / (math.log(1.0) - math.log(0.1))
    expected = math.exp((1 - w) * math.log(1.0) + w * math.log(0.04))
    assert equilibrium_kl(beta, BETAS, KLS) == pytest.approx(expected, rel=1e-12)
    # The geometric mean of two β gives the geometric mean of their KLs.
    assert equilibrium_kl(math.sqrt(0.1 * 1.0), BETAS, KLS) == pytest.approx(math.sqrt(1.0 * 0.04), rel=1e-12)


def test_equilibrium_kl_is_clamped_outside_the_table() -> None:
    assert equilibrium_kl(1e-6, BETAS, KLS) == pytest.approx(5.0)
    assert equilibrium_kl(1e6, BETAS, KLS) == pytest.approx(0.001)


def test_equilibrium_kl_ignores_table_order() -> None:
    order = [2, 0, 3, 1]
    assert equilibrium_kl(0.5, BETAS[order], KLS[order]) == equilibrium_kl(0.5, BETAS, KLS)


@given(st.floats(min_value=-7.0, max_value=4.0), st.floats(min_value=-7.0, max_value=4.0))
def test_equilibrium_kl_is_monotone_on_a_falling_table(log_a: float, log_b: float) -> None:
    a, b = sorted((math.exp(log_a), math.exp(log_b)))
    assert equilibrium_kl(a, BETAS, KLS) >= equilibrium_kl(b, BETAS, KLS)


@given(st.floats(min_value=0.0011, max_value=4.9))
def test_equilibrium_beta_inverts_equilibrium_kl(kl: float) -> None:
    assert equilibrium_kl(equilibrium_beta(kl, BETAS, KLS), BETAS, KLS) == pytest.approx(kl, rel=1e-9)


def test_toy_table_interpolation_matches_the_exact_toy_between_grid_points(toy_table) -> None:
    # Off-grid β: the interpolated KL stays within 2 % of the exact KL(π_β‖π_ref).
    betas, kls = toy_table
    probe = np.array([0.013, 0.05, 0.17, 0.6, 2.5])
    exact = toy_frontier_table(probe)[1].numpy()
    approx = np.array([equilibrium_kl(b, betas, kls) for b in probe])
    assert np.allclose(approx, exact, rtol=0.02)


@pytest.mark.parametrize(
    ("betas", "kls", "beta", "name"),
    [
        ([0.1, 1.0], [1.0], 0.5, "kls"),
        ([0.1], [1.0], 0.5, "at least 2"),
        ([0.0, 1.0], [1.0, 0.1], 0.5, "betas"),
        ([0.1, 1.0], [1.0, 0.0], 0.5, "kls"),
        ([0.1, 0.1], [1.0, 0.5], 0.5, "distinct"),
        ([0.1, 1.0], [1.0, float("nan")], 0.5, "kls"),
        ([0.1, 1.0], [1.0, 0.1], 0.0, "beta"),
        ([0.1, 1.0], [1.0, 0.1], float("nan"), "beta"),
    ],
)
def test_equilibrium_kl_validates(betas, kls, beta, name) -> None:
    with pytest.raises(ValueError, match=name):
        equilibrium_kl(beta, betas, kls)


def test_equilibrium_beta_needs_a_falling_table() -> None:
    with pytest.raises(ValueError, match="fall"):
        equilibrium_beta(0.5, [0.1, 1.0, 10.0], [1.0, 2.0, 0.1])


# --- KLPlant ------------------------------------------------------------------------------------


def test_noise_free_plant_follows_the_first_order_lag() -> None:
    plant = KLPlant(BETAS, KLS, lag=8.0, noise=0.0, batch_size=4, kl0=3.0)
    eq = equilibrium_kl(0.1, BETAS, KLS)
    readings = [plant.step(0.1) for _ in range(30)]
    expected = [eq + (3.0 - eq) * (1 - 1 / 8.0) ** t for t in range(30)]
    assert readings == pytest.approx(expected, rel=1e-12)


def test_plant_draws_one_standard_normal_per_step_in_order() -> None:
    plant = KLPlant(BETAS, KLS, lag=5.0, noise=0.7, batch_size=9, seed=11)
    gen = torch.Generator().manual_seed(11)
    for _ in range(20):
        before = plant.kl_true
        reading = plant.step(0.3)
        z = float(torch.randn((), generator=gen, dtype=torch.float64))
        assert reading == pytest.approx(before + 0.7 / 3.0 * z, rel=1e-12, abs=1e-15)


def _deviations(batch_size: int, n: int = 4000, seed: int = 3) -> np.ndarray:
    plant = KLPlant(BETAS, KLS, lag=2.0, noise=1.5, batch_size=batch_size, seed=seed)
    out = np.empty(n)
    for t in range(n):
        before = plant.kl_true
        out[t] = plant.step(1.0) - before
    return out


@pytest.mark.parametrize("batch_size", [1, 16, 256])
def test_batch_noise_std_is_noise_over_root_batch_size(batch_size: int) -> None:
    dev = _deviations(batch_size)
    # 4000 draws: the sample std is within ~1 % of the truth, so 5 % is a safe margin.
    assert dev.std(ddof=1) == pytest.approx(1.5 / math.sqrt(batch_size), rel=0.05)
    assert abs(dev.mean()) < 4 * 1.5 / math.sqrt(batch_size * 4000)


def test_same_seed_noise_scales_exactly_as_one_over_root_batch() -> None:
    assert np.allclose(_deviations(16, 200) / _deviations(256, 200), 4.0)


def test_plant_is_deterministic_by_seed(toy_table) -> None:
    def run(seed: int) -> dict[str, np.ndarray]:
        plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64, seed=seed)
        return simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 200)

    a, b, c = run(0), run(0), run(1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["kl_measured"], c["kl_measured"])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lag": 0.0}, "lag"),
        ({"noise": -0.1}, "noise"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"seed": 1.5}, "seed"),
        ({"kl0": -1.0}, "kl0"),
    ],
)
def test_plant_validates(kwargs, name) -> None:
    settings = {"lag": 5.0, "noise": 0.5, "batch_size": 8, **kwargs}
    with pytest.raises(ValueError, match=name):
        KLPlant(BETAS, KLS, **settings)


# --- simulate_control ---------------------------------------------------------------------------


def test_noise_free_proportional_controller_converges_to_the_target(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.0, batch_size=64)
    run = simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 4000)
    assert run["kl_true"][-1] == pytest.approx(0.5, rel=1e-3)
    assert run["beta"][-1] == pytest.approx(equilibrium_beta(0.5, *toy_table), rel=1e-3)
    assert np.array_equal(run["kl_measured"], run["kl_true"])


def test_fixed_beta_settles_at_its_equilibrium_kl(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=10, noise=0.0, batch_size=8)
    run = simulate_control(FixedKLController(0.2), plant, 300)
    assert np.all(run["beta"] == 0.2)
    assert run["kl_true"][-1] == pytest.approx(equilibrium_kl(0.2, *toy_table), rel=1e-9)
    assert np.all(np.isnan(run["target"]))


def test_seed_table_through_the_loop() -> None:
    # Replace every reading by the source chapter's six KL values.
    readings = [0.01, 0.02, 0.05, 0.1, 0.03, 0.02]
    controller = ThresholdKLController()
    plant = KLPlant(BETAS, KLS, lag=5.0, noise=0.1, batch_size=4)
    run = simulate_control(controller, plant, 6, faults=dict(enumerate(readings)))
    assert run["kl_measured"].tolist() == readings
    assert run["beta"].tolist() == pytest.approx([0.1, 0.1, 0.1, 0.15, 0.225, 0.225])  # β *used* at each step
    assert controller.value == pytest.approx(0.225)


def test_target_sequence_is_applied_step_by_step(toy_table) -> None:
    targets = np.where(np.arange(3000) < 1500, 0.5, 1.0)
    plant = KLPlant(*toy_table, lag=20, noise=0.0, batch_size=64)
    controller = AdaptiveKLController(0.1, 0.5, 10_000)
    run = simulate_control(controller, plant, 3000, target=targets)
    assert np.array_equal(run["target"], targets) and controller.target == 1.0
    assert run["kl_true"][1499] == pytest.approx(0.5, rel=0.01)
    assert run["kl_true"][-1] == pytest.approx(1.0, rel=0.01)


def test_nan_reading_is_rejected_and_beta_is_kept(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
    run = simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 100,
                           faults={40: float("nan"), 41: float("inf")})
    assert run["rejected"].tolist() == [t in (40, 41) for t in range(100)]
    assert run["beta"][40] == run["beta"][41] == run["beta"][42]
    assert np.isfinite(run["beta"]).all()


def test_nan_reading_raises_when_not_skipped(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
    with pytest.raises(ValueError, match="current"):
        simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 10, faults={3: float("nan")},
                         skip_invalid=False)


def test_negative_reading_lowers_beta_by_at_most_the_clip(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
    run = simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 20, faults={10: -50.0})
    assert run["beta"][11] == pytest.approx(run["beta"][10] * (1 - 0.2 * 64 / 10_000))


def test_finite_errors_are_not_swallowed(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=512)
    with pytest.raises(ValueError, match="n_steps"):
        simulate_control(AdaptiveKLController(0.1, 0.5, horizon=100), plant, 5)


@pytest.mark.parametrize("make", [lambda: AdaptiveKLController(0.1, 0.5, 10_000), ThresholdKLController])
def test_consistent_units_give_the_same_beta_trace(toy_table, make) -> None:
    # Per-token reading with a per-token target = per-sequence reading with a per-sequence target.
    def run(scale: float):
        controller = make()
        controller.target = 0.5 * scale
        plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
        return simulate_control(controller, plant, 500, reading_scale=scale)["beta"]

    assert np.allclose(run(1.0), run(1 / 16), rtol=1e-12)


def test_per_token_reading_against_a_per_sequence_target_drives_beta_down(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
    run = simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 1000, reading_scale=1 / 16)
    # The reading is 16x too small, so the error sits at the clip (-0.2) for all 999 updates before the last step.
    assert run["beta"][-1] == pytest.approx(0.1 * (1 - 0.2 * 64 / 10_000) ** 999, rel=1e-9)
    assert run["kl_true"][-1] > 4 * 0.5


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_steps": 0}, "n_steps"),
        ({"target": [0.5, 0.5]}, "target"),
        ({"target": -1.0}, "target"),
        ({"faults": {10: 0.1}}, "faults"),
        ({"reading_scale": 0.0}, "reading_scale"),
    ],
)
def test_simulate_control_validates(kwargs, name) -> None:
    settings = {"n_steps": 5, **kwargs}
    plant = KLPlant(BETAS, KLS, lag=5.0, noise=0.5, batch_size=8)
    with pytest.raises(ValueError, match=name):
        simulate_control(ThresholdKLController(), plant, **settings)


def test_simulate_control_rejects_a_target_for_a_fixed_controller() -> None:
    plant = KLPlant(BETAS, KLS, lag=5.0, noise=0.5, batch_size=8)
    with pytest.raises(ValueError, match="target"):
        simulate_control(FixedKLController(0.1), plant, 5, target=0.5)


# --- control_metrics ----------------------------------------------------------------------------


def _run(kl, beta=None, target=0.5) -> dict[str, np.ndarray]:
    kl = np.asarray(kl, dtype=float)
    return {"kl_true": kl, "beta": np.full(kl.size, 0.1) if beta is None else np.asarray(beta, float),
            "target": np.full(kl.size, target)}


def test_control_metrics_of_a_perfect_run() -> None:
    m = control_metrics(_run(np.full(40, 0.5)))
    assert m == {"tracking_error": 0.0, "overshoot": 0.0, "chattering": 0.0, "settling_step": 0}


def test_control_metrics_by_hand() -> None:
    kl = np.r_[0.0, 0.3, 0.8, 0.6, np.full(16, 0.52)]
    beta = np.r_[np.full(10, 0.1), [0.1, 0.2] * 5]
    m = control_metrics(_run(kl, beta))
    assert m["overshoot"] == pytest.approx(0.6)
    assert m["settling_step"] == 4
    assert m["tracking_error"] == pytest.approx(0.02)
    assert m["chattering"] == pytest.approx(9 * math.log(2))


def test_control_metrics_never_settles_when_it_leaves_the_band_late() -> None:
    kl = np.full(40, 0.5)
    kl[35] = 0.7
    assert control_metrics(_run(kl))["settling_step"] is None


def test_control_metrics_validates() -> None:
    with pytest.raises(ValueError, match="target"):
        control_metrics(_run(np.ones(10), target=float("nan")))
    with pytest.raises(ValueError, match="band"):
        control_metrics(_run(np.ones(10)), band=1.5)
    with pytest.raises(ValueError, match="start"):
        control_metrics(_run(np.ones(10)), start=9)
    with pytest.raises(ValueError, match="missing"):
        control_metrics({"kl_true": np.ones(3)})


# --- monitor ------------------------------------------------------------------------------------

STEPS = np.arange(400)
RNG = np.random.default_rng(0)
NOISE = 0.01 * RNG.standard_normal(400)
HEALTHY_KL = 0.5 * (1 - np.exp(-STEPS / 25)) + NOISE
HEALTHY_MAX = HEALTHY_KL + 2.0 + 0.1 * RNG.standard_normal(400) ** 2
HEALTHY_REWARD = 0.3 * (1 - np.exp(-STEPS / 25)) + 0.01 * RNG.standard_normal(400)
HEALTHY_ENTROPY = 3.0 - 0.2 * (1 - np.exp(-STEPS / 25)) + 0.01 * RNG.standard_normal(400)


def healthy_log() -> dict[str, np.ndarray]:
    return {"kl_mean": HEALTHY_KL, "kl_max": HEALTHY_MAX, "reward_mean": HEALTHY_REWARD, "entropy": HEALTHY_ENTROPY}


def test_healthy_log_raises_no_warning() -> None:
    assert health_report(healthy_log()) == []


def test_healthy_simulation_raises_no_warning(toy_table) -> None:
    plant = KLPlant(*toy_table, lag=20, noise=0.9, batch_size=64)
    run = simulate_control(AdaptiveKLController(0.1, 0.5, 10_000), plant, 1500)
    # The plant's first reading comes after its first step, with measurement noise; a trainer's first logged KL is
    # scored before any update, and is 0 (lesson 10's kl_starts_high). So the log starts with that 0.
    assert health_report({"kl_mean": np.concatenate(([0.0], run["kl_measured"]))}) == []


def test_kl_unbounded_fires_on_a_climb_and_not_on_a_plateau() -> None:
    climbing = 0.002 * STEPS + NOISE
    found = kl_unbounded(climbing)
    assert found is not None and found.check == "kl_unbounded" and found.step == 399
    assert "highest level" in found.message and "nats" in found.message
    assert kl_unbounded(HEALTHY_KL) is None
    # A run that was flat and only starts climbing at the end is caught too.
    late_start = np.where(STEPS < 300, 0.5, 0.5 + 0.01 * (STEPS - 300)) + NOISE
    assert kl_unbounded(late_start) is not None


def test_kl_unbounded_needs_enough_steps() -> None:
    assert kl_unbounded(0.01 * np.arange(10), window=6) is None
    assert kl_unbounded(0.01 * np.arange(12), window=6) is not None


def test_kl_unbounded_ignores_a_dip_and_a_recovery_after_overshoot() -> None:
    dipped = HEALTHY_KL.copy()
    dipped[320:335] -= 0.8
    assert kl_unbounded(dipped) is None
    overshoot = 0.5 + 0.7 * np.exp(-STEPS / 60) * (STEPS > 10) + NOISE
    overshoot[-60:] += np.linspace(0, 0.3, 60)  # climbing again, but still below the early peak
    assert kl_unbounded(overshoot) is None


def test_kl_negative_fires_only_after_patience_steps() -> None:
    kl = HEALTHY_KL.copy()
    kl[100:109] = -0.05
    assert kl_negative(kl, patience=10) is None
    kl[109] = -0.2
    found = kl_negative(kl, patience=10)
    assert found == HealthWarning("kl_negative", 109, found.message)
    assert "steps 100-109" in found.message and "-0.2" in found.message


@given(st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=1, max_size=40), st.integers(1, 6))
def test_kl_negative_matches_a_run_length_count(values: list[float], patience: int) -> None:
    longest = max((len(list(g)) for neg, g in itertools.groupby(v < 0 for v in values) if neg), default=0)
    assert (kl_negative(values, patience=patience) is not None) == (longest >= patience)


def test_kl_spikes_fires_on_a_spike_and_not_on_growth() -> None:
    spiky = HEALTHY_MAX.copy()
    spiky[250] = 30.0
    found = kl_spikes(spiky, HEALTHY_KL)
    assert found is not None and found.step == 250 and "30 nats" in found.message
    assert kl_spikes(HEALTHY_MAX, HEALTHY_KL) is None


def test_kl_spikes_rejects_swapped_series() -> None:
    with pytest.raises(ValueError, match="swapped"):
        kl_spikes(HEALTHY_KL, HEALTHY_MAX)


def test_reward_up_entropy_down_fires_on_collapse_only() -> None:
    collapsing = 3.0 * np.exp(-STEPS / 60)
    found = reward_up_entropy_down(HEALTHY_REWARD, collapsing)
    assert found is not None and found.check == "reward_up_entropy_down"
    assert "entropy fell" in found.message
    assert reward_up_entropy_down(HEALTHY_REWARD, HEALTHY_ENTROPY) is None
    # Entropy collapsing while reward *falls* is a different problem; this check stays quiet.
    assert reward_up_entropy_down(-HEALTHY_REWARD, collapsing) is None


def test_health_report_skips_missing_keys_and_sorts_by_step() -> None:
    log = healthy_log()
    log["kl_max"] = HEALTHY_MAX.copy()
    log["kl_max"][250] = 30.0
    log["entropy"] = 3.0 * np.exp(-STEPS / 60)
    found = health_report(log)
    assert [w.check for w in found] == ["reward_up_entropy_down", "kl_spikes"]
    assert [w.step for w in found] == sorted(w.step for w in found)
    assert health_report({"kl_max": log["kl_max"], "other": [1.0]}) == []
    assert health_report({}) == []


def test_health_report_flags_non_finite_series() -> None:
    log = healthy_log()
    log["kl_mean"] = HEALTHY_KL.copy()
    log["kl_mean"][7] = float("nan")
    found = health_report(log)
    assert [(w.check, w.step) for w in found] == [("nonfinite", 7)]
    assert nonfinite(HEALTHY_KL, "kl_mean") is None


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: kl_unbounded([]), "kl_mean"),
        (lambda: kl_unbounded([0.1, float("nan")]), "kl_mean"),
        (lambda: kl_unbounded(HEALTHY_KL, window=2), "window"),
        (lambda: kl_negative(HEALTHY_KL, patience=0), "patience"),
        (lambda: kl_spikes(HEALTHY_MAX, HEALTHY_KL[:-1]), "kl_max"),
        (lambda: kl_spikes(HEALTHY_MAX, HEALTHY_KL, ratio=1.0), "ratio"),
        (lambda: reward_up_entropy_down(HEALTHY_REWARD, HEALTHY_ENTROPY, drop=1.0), "drop"),
        (lambda: reward_up_entropy_down([[1.0]], [[1.0]]), "reward"),
    ],
)
def test_monitor_validates(call, name) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_health_warning_is_frozen() -> None:
    w = HealthWarning("kl_negative", 3, "text")
    with pytest.raises(AttributeError):
        w.step = 4  # type: ignore[misc]


# --- self-checks --------------------------------------------------------------------------------


def test_check_update_by_hand_accepts_the_right_answer_and_explains_mistakes() -> None:
    s = BY_HAND
    gain = s["batch_size"] / s["horizon"]
    first = s["init_kl_coef"] * (1 + 0.2 * gain)
    second = first * (1 - 0.1 * gain)
    assert check_update_by_hand(first, second).startswith("Both right")
    assert "clips" in check_update_by_hand(s["init_kl_coef"] * (1 + 0.5 * gain), second)
    assert "n_steps/horizon" in check_update_by_hand(s["init_kl_coef"] * 1.2, second)
    assert "not the starting" in check_update_by_hand(first, s["init_kl_coef"] * (1 - 0.1 * gain))
    assert "finite numbers" in check_update_by_hand("abc", 1.0)


def test_check_update_by_hand_names_an_additive_update_and_n_steps_of_one() -> None:
    s = BY_HAND
    beta0, gain = s["init_kl_coef"], s["batch_size"] / s["horizon"]
    first, second = beta0 * (1 + 0.2 * gain), beta0 * (1 + 0.2 * gain) * (1 - 0.1 * gain)
    # Each slip, in either update, gets its own message; none of them is taken for another.
    assert "you added the step" in check_update_by_hand(beta0 + 0.2 * gain, second)
    assert "n_steps = 1" in check_update_by_hand(beta0 * (1 + 0.2 / s["horizon"]), second)
    assert "adds the step" in check_update_by_hand(first, first - 0.1 * gain)
    assert "uses n_steps = 1" in check_update_by_hand(first, first * (1 - 0.1 / s["horizon"]))
    # Both slips at once in the first update (β + e/horizon) still read as n_steps = 1, the larger slip.
    assert "n_steps = 1" in check_update_by_hand(beta0 + 0.2 / s["horizon"], second)


def test_check_horizon_separates_jumpy_slow_and_good() -> None:
    assert check_horizon(16_000).startswith("Meets the brief")
    assert check_horizon(3_000).startswith("Too jumpy")
    assert check_horizon(60_000).startswith("Too slow")
    assert "at least one batch" in check_horizon(10)
    # The solution's band, 11 000 to 23 000 samples, and 10 000 just outside it (the grid's chattering 1.59).
    assert check_horizon(11_000).startswith("Meets") and check_horizon(23_000).startswith("Meets")
    assert check_horizon(10_000).startswith("Too jumpy") and "chattering 1.59" in check_horizon(10_000)
    assert check_horizon(24_000).startswith("Too slow")


def test_check_horizon_names_a_horizon_given_in_updates() -> None:
    # 16 000 samples is 62.5 batches of 256: a learner who counts the horizon in updates passes 62.5.
    assert "horizon in updates" in check_horizon(16_000 / 256) and "pass 16000" in check_horizon(16_000 / 256)
    assert "at least one batch" in check_horizon(3)  # 3 × 256 samples does not pass: no such hint


def test_horizon_exercise_runs_as_long_as_the_lessons_grid() -> None:
    from kl_lessons.plant import CONTROL_EXPERIMENT
    from kl_lessons.self_checks.lesson05 import HORIZON_EXPERIMENT

    assert HORIZON_EXPERIMENT == dataclasses.replace(CONTROL_EXPERIMENT, batch_size=256)
    assert HORIZON_EXPERIMENT.n_steps == CONTROL_EXPERIMENT.n_steps == 1500


def test_kl_unbounded_ignores_float_creep_on_a_plateau() -> None:
    from kl_lessons.monitor import kl_unbounded

    # A run that climbed, then sat on a plateau that creeps up by 2e-6 nats a step.
    climb = np.linspace(0.0, 300.0, 60)
    plateau = 300.0 + 2e-6 * np.arange(90)
    assert kl_unbounded(np.concatenate([climb, plateau])) is None
    # A real, steady climb still fires.
    assert kl_unbounded(np.linspace(0.0, 50.0, 150)) is not None


def test_starter_cells_left_unfilled_get_fill_in_advice() -> None:
    from kl_lessons.self_checks.lesson05 import check_kl_stuck_low, check_units_fix

    assert check_update_by_hand(..., ...).startswith("Fill in")
    assert check_horizon(...).startswith("Fill in")
    assert check_units_fix(..., ...).startswith("Fill in")
    assert check_kl_stuck_low(...).startswith("Fill in")

    def kl_stuck_low(kl_mean, target, fraction=0.25, window=200):
        ...  # the starter's body

    assert "Fill in its body" in check_kl_stuck_low(kl_stuck_low)


def test_check_units_fix_accepts_both_fixes_and_names_the_slips() -> None:
    from kl_lessons.self_checks.lesson05 import UNITS_TASK, check_units_fix

    from kl_lessons.plant import CONTROL_EXPERIMENT

    goal, n = CONTROL_EXPERIMENT.target, UNITS_TASK["length"]
    assert check_units_fix(goal, 1.0).startswith("Right") and "lengths vary" in check_units_fix(goal, 1.0)
    per_token = check_units_fix(goal / n, 1 / n)
    assert per_token.startswith("Right") and "only while every reply" in per_token
    assert "changes both" in check_units_fix(goal * n, 1.0 * n)  # the same ratio, not a one-argument fix
    assert "trlx #438 run itself" in check_units_fix(goal, 1 / n)
    assert "reverse mistake" in check_units_fix(goal / n, 1.0)
    assert "divided by the 16 tokens" in check_units_fix(goal * n, 1 / n)  # multiplied instead of divided
    assert "scale 1, not 16" in check_units_fix(goal, float(n))
    assert "batch size" in check_units_fix(goal / CONTROL_EXPERIMENT.batch_size, 1 / n)
    assert "sign" in check_units_fix(-goal, 1.0) and "sign" in check_units_fix(goal, -1 / n)
    assert check_units_fix(0.3, 1.0).startswith("Not yet")
    for junk in ("abc", None, math.nan, torch.tensor([0.5, 1.0]), 10**400):
        assert check_units_fix(junk, 1.0).startswith("Please")


def _kl_stuck_low(kl_mean, target, fraction=0.25, window=200):
    recent = float(np.mean(kl_mean[-window:]))
    return None if recent >= fraction * target else HealthWarning("kl_stuck_low", len(kl_mean) - 1, "stuck")


def test_check_kl_stuck_low_accepts_the_solution_and_names_the_slips() -> None:
    from kl_lessons.self_checks.lesson05 import check_kl_stuck_low

    assert check_kl_stuck_low(_kl_stuck_low).startswith("Correct")
    slips = {
        "whole run hides": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, t, fraction, len(kl)),
        "not with the target itself": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, t, 1.0, window),
        "flip the comparison": lambda kl, t, fraction=0.25, window=200: (
            None if _kl_stuck_low(kl, t, fraction, window) else HealthWarning("kl_stuck_low", 0, "wrong way")),
        "ignores its `window`": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, t, fraction, 200),
        "ignores its `fraction`": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, t, 0.25, window),
        "is 0.5 written into": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, 0.5, fraction, window),
        "return a HealthWarning": lambda kl, t, fraction=0.25, window=200: (
            _kl_stuck_low(kl, t, fraction, window) is not None or None),  # True instead of a warning
        "not False": lambda kl, t, fraction=0.25, window=200: _kl_stuck_low(kl, t, fraction, window) or False,
        "a step of the run": lambda kl, t, fraction=0.25, window=200: (
            _kl_stuck_low(kl, t, fraction, window) and HealthWarning("kl_stuck_low", len(kl), "one past the end")),
    }
    for advice, slip in slips.items():
        message = check_kl_stuck_low(slip)
        assert message.startswith("Not yet") and advice in message, (advice, message)
    assert "raised ZeroDivisionError" in check_kl_stuck_low(lambda *args, **kwargs: 1 / 0)
    for junk in (3, "kl_stuck_low", None, torch.tensor([1.0])):
        assert check_kl_stuck_low(junk).startswith("Pass the function itself")


def test_an_uncapped_adaptive_beta_overflows_after_about_3900_full_horizon_updates() -> None:
    """Lesson 5: TRL's rule has no cap, so a KL kept above target sends β to infinity in float64; ours stays bounded."""
    for start in (0.01, 0.1, 0.2, 1.0):  # any sensible starting β: "about 3,900 updates"
        beta, updates = start, 0
        while not math.isinf(beta):
            beta *= 1 + 0.2 * 1.0  # error clipped at +0.2, n_steps = horizon
            updates += 1
        assert round(updates, -2) == 3900, (start, updates)
    capped = AdaptiveKLController(0.2, target=1.0, horizon=100)
    for _ in range(5000):
        capped.update(1e9, n_steps=100)
    assert capped.value == capped.bounds[1] and math.isfinite(capped.value)


def test_chattering_grows_with_the_run_length_so_the_exercise_runs_as_long_as_the_grid() -> None:
    # Σ|Δ log β| over the second half: a shorter run sums fewer steps. At horizon 10 000 with batches of 256 the
    # old 1000-step exercise read about 1.10 where the lesson's 1500-step grid reads 1.59.
    from kl_lessons.self_checks.lesson05 import HORIZON_EXPERIMENT as experiment

    def chattering(n_steps: int) -> float:
        run = simulate_control(experiment.proportional(horizon=10_000), experiment.plant(), n_steps)
        return control_metrics(run)["chattering"]

    short, full = chattering(1000), chattering(experiment.n_steps)
    assert round(short, 2) == 1.10 and round(full, 2) == 1.59
    assert "chattering 1.59" in check_horizon(10_000)  # the check reports the grid's number
