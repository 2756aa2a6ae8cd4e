"""Lesson 6's claims on seed 2 (the notebook uses seed 1); the checks are in capstone_seeds.py."""

from __future__ import annotations

import pytest

from capstone_seeds import (
    check_the_adaptive_controller_ends_near_its_target_without_a_hack,
    check_the_monitor_is_silent_exactly_when_a_penalised_run_did_not_hack,
    check_without_a_penalty_the_proxy_is_hacked,
    hacked,
    health_report,
    three_runs,
)

SEED = 2


def test_without_a_penalty_the_proxy_is_hacked() -> None:
    check_without_a_penalty_the_proxy_is_hacked(SEED)


def test_the_adaptive_controller_ends_near_its_target_without_a_hack() -> None:
    check_the_adaptive_controller_ends_near_its_target_without_a_hack(SEED)


@pytest.mark.parametrize("name", ["β = 0.3", "adaptive"])
def test_the_monitor_is_silent_exactly_when_a_penalised_run_did_not_hack(name: str) -> None:
    check_the_monitor_is_silent_exactly_when_a_penalised_run_did_not_hack(SEED, name)


def test_a_fixed_beta_of_0_3_holds_on_this_seed() -> None:
    assert not hacked(three_runs(SEED)["β = 0.3"])
