"""Lesson 10's casebook: each stored trace says what the lesson says of it, and is what its run writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kl_lessons import casebook, run_logs
from kl_lessons.casebook import CASES, LENGTH

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("entry", CASES, ids=lambda c: c.name)
def test_stored_trace_gives_the_cases_diagnosis(entry: casebook.Case) -> None:
    run = casebook.read_case(entry.name)
    assert run.trainer == entry.trainer
    assert casebook.diagnose(entry.name) == list(entry.diagnosis)
    assert (entry.sign in entry.diagnosis) if entry.sign else entry.diagnosis == ()


def test_every_fault_has_its_own_sign_and_every_format_is_used() -> None:
    signs = [c.sign for c in CASES if c.sign]
    # One case per check, except the collapse, met twice (through a trust-region KL and through no KL at all).
    assert len(set(signs)) == len(signs) - 1
    assert {Path(c.file).suffix for c in CASES} == {".json", ".jsonl", ".csv"}
    assert {c.trainer for c in CASES} == {"trl", "verl", "openrlhf", "kl_lessons"}
    assert all(c.threads for c in CASES if c.sign), "each fault names a public thread"


def test_the_healthy_trl_run_starts_at_zero_and_levels_off() -> None:
    run = casebook.read_case("healthy")
    kl = run.metrics["kl_per_token"]
    assert kl[0] == 0.0 and kl[1:].min() > 0
    late, middle = np.median(kl[-10:]), np.median(kl[10:20])
    assert abs(late - middle) < 0.5 * middle


def test_per_token_times_length_is_the_per_text_kl_of_the_same_run() -> None:
    run = casebook.read_case("per_token_units")
    assert run.kl_per == "sequence" and run.sources["kl_mean"] == "actor/reward_kl_penalty × response_length/mean"
    assert np.allclose(run.metrics["kl_mean"], run.metrics["kl_per_token"] * LENGTH, rtol=1e-12, atol=0)
    late_token, late_text = np.median(run.metrics["kl_per_token"][-6:]), np.median(run.metrics["kl_mean"][-6:])
    assert 0.05 < late_token < 0.15 and 2.5 < late_text < 4     # "about 0.1 nats per token … about 3 per sequence"


def test_trust_region_kl_stays_far_below_the_kl_to_the_reference() -> None:
    run = casebook.read_case("trust_region_kl")
    ppo, ref = run.metrics["trust_region_kl"], run.metrics["kl_per_token"]
    assert ppo.max() < 0.05 and np.median(ref[-10:]) > 10 * np.median(ppo[-10:])   # "below 0.05 nats"
    assert run_logs.late_level(run.metrics["kl_mean"]) > 10                          # "over ten nats per sequence"


def test_beta_zero_logs_no_kl_and_the_reader_says_why() -> None:
    run = casebook.read_case("beta_zero")
    assert "kl_mean" not in run.metrics
    assert any("only when beta ≠ 0" in note for note in run.notes)
    reward = run.metrics["reward_mean"]
    assert reward[:3].max() < 0.5 and 15 < run_logs.late_level(reward) < 17        # "from near 0 to about 16 points"


def test_no_signal_groups_score_alike_at_nearly_every_step() -> None:
    frac = casebook.read_case("no_signal").metrics["frac_reward_zero_std"]
    assert frac.mean() >= 0.9


def test_the_negative_kl_run_spends_long_stretches_below_zero() -> None:
    kl = casebook.read_case("negative_kl").metrics["kl_mean"]
    assert (kl < 0).mean() > 0.3


def test_k3_spikes_dwarf_the_mean() -> None:
    run = casebook.read_case("k3_overflow")
    assert run.metrics["kl_max"].max() > 100 * np.median(run.metrics["kl_mean"])


def test_the_wrong_reference_is_far_from_the_policy_from_the_first_step() -> None:
    kl = casebook.read_case("wrong_reference").metrics["kl_per_token"]
    assert kl[0] > 1.0


@pytest.mark.slow
def test_stored_traces_are_what_their_runs_write() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_casebook.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_trace_reads_without_an_unknown_key() -> None:
    for entry in CASES:
        run = casebook.read_case(entry.name)
        assert not [n for n in run.notes if "is not one" in n], (entry.name, run.notes)
        assert run_logs.format_report(run)


def test_the_log_readers_bundled_traces_are_the_stored_ones() -> None:
    """The explorer bundles the traces (kl_lessons/web/src/casebook_traces.json); scripts/make_casebook.py writes it."""
    bundled = json.loads((ROOT / "kl_lessons" / "web" / "src" / "casebook_traces.json").read_text(encoding="utf-8"))
    assert bundled == {c.file: casebook.trace_text(c.name) for c in CASES}


@pytest.mark.slow  # reads the pinned verl and OpenRLHF wheels
def test_what_the_casebook_says_of_the_trainers_is_in_their_pinned_code() -> None:
    """The trainer facts lesson 10 states that the key table and the practice map do not already check."""
    import inspect
    import re
    import sys

    import trl
    from trl.trainer import grpo_trainer, rloo_trainer

    sys.path.insert(0, str(ROOT / "scripts"))
    import trainer_sources as ts

    # TRL's GRPOConfig logs every 10 steps by default, so a first row can average 10 steps (run_logs' first_row note).
    assert trl.GRPOConfig.__dataclass_fields__["logging_steps"].default == 10
    # TRL scores the policy and the reference at the sampling temperature (its fused LM head divides by it).
    grpo = inspect.getsource(grpo_trainer)
    assert grpo.count("temperature=self.temperature") >= 2
    # RLOO subtracts β·KL from the rewards it trains on, then logs `reward` recomputed from the reward functions.
    rloo = inspect.getsource(rloo_trainer)
    penalty = rloo.index("rewards = rewards - self.beta * kl")
    recomputed = rloo.index("rewards = (rewards_per_func * self.reward_weights", penalty)
    assert rloo.index('self._metrics[mode]["reward"]', recomputed) > recomputed
    # OpenRLHF: with no reference loaded (init_coef 0, no KL loss) its kl is zeros.
    maker = ts.pinned("openrlhf").read_file("openrlhf/trainer/ppo_utils/experience_maker.py")
    assert re.search(r"if \(self\.initial_model_group is not None\) and \(not args\.algo\.kl\.use_loss\):"
                     r"\s+kl = compute_approx_kl\(.*?else:\s+kl = torch\.zeros_like\(", maker, re.S)
    # verl divides the logits by the rollout temperature before its log-probabilities.
    assert "logits.div_(temperature)" in ts.pinned("verl").read_file("verl/utils/torch_functional.py")
