"""Lesson 6's claims as properties of training, checked on seeds the notebook does not use.

The notebook shows one trajectory (seed 1). A claim about training must survive another seed, so each
test here pretrains a fresh reference and runs the lesson's three trainings (β = 0, β = 0.3 and the
adaptive controller) with the notebook's settings on seeds 0 and 2, then checks what the lesson says:

* β = 0 always hacks the proxy: the proxy climbs several-fold, gold falls, entropy collapses, and the
  monitor fires. The hack differs by seed: "!!!!" on the notebook's seed 1, "fun fun fun" on seeds 0 and 2.
* The adaptive controller always ends with the KL near its target, no hack and gold above its start.
* The monitor is silent on a penalised run exactly when that run did not hack. A fixed β is a guess: on
  seed 0, β = 0.3 is not quite enough: its KL reaches 15 nats and some of its texts end with "!!!!!!!!", which the
  monitor reports; on seeds 1 and 2 β = 0.3 holds and the monitor says nothing.
* The answer to exercise ex-06-seeds, which runs these same trainings: the β = 0 run's best 5-step gold and the
  penalised runs' final gold, as its solution quotes them. On seeds 0 and 2 the penalised runs end below the
  β = 0 run's best moment; on the notebook's seed 1 (asserted there) above it.

Each seed costs a pretraining and three runs (about a minute on one core), so each seed has a test file of its
own (test_capstone_seed_0.py, test_capstone_seed_2.py) and the two run on different workers. This module holds
what they share; it defines no tests itself.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from kl_lessons.controllers import AdaptiveKLController, FixedKLController
from kl_lessons.monitor import health_report
from kl_lessons.reward_models import default_judge
from kl_lessons.rlhf import RLHFRun, train
from kl_lessons.tinylm import pretrain, set_determinism

TARGET = 3.0  # the adaptive run's KL target, nats per text (as in the notebook)


@functools.lru_cache(maxsize=None)
def three_runs(seed: int) -> dict[str, RLHFRun]:
    """The notebook's three trainings (same settings, no samples kept) on ``seed``."""
    threads = torch.get_num_threads()
    set_determinism(seed, threads=1)
    try:
        reference, vocab, _ = pretrain(steps=600, seed=seed)
        # As the notebook's `common`; keeping the last step's texts draws no random numbers.
        common = dict(judge=default_judge(vocab.chars), steps=150, batch_size=64, length=32, lr=3e-3, seed=seed,
                      progress=False, sample_at=(149,))
        return {
            "β = 0": train(reference, vocab, FixedKLController(0.0), **common),
            "β = 0.3": train(reference, vocab, FixedKLController(0.3), **common),
            "adaptive": train(reference, vocab, AdaptiveKLController(0.2, target=TARGET, horizon=1000), **common),
        }
    finally:
        torch.set_num_threads(threads)


def early(run: RLHFRun, key: str, n: int = 5) -> float:
    return float(np.mean(run.metrics[key][:n]))


def late(run: RLHFRun, key: str, n: int = 30) -> float:
    return float(np.mean(run.metrics[key][-n:]))


def hacked(run: RLHFRun) -> bool:
    """Did the run ever run away from the reference, or end up shouting?

    A run that stays healthy keeps its mean KL below 10 nats per text (the healthy runs of every seed stay
    under 9) and ends with fewer than 3 % "!" characters (π_ref writes about 0.2 %, a healthy run about 2 %).
    """
    return max(run.metrics["kl_mean"]) >= 10 or late(run, "exclaim_share") >= 0.03


class SeedClaims:
    """The lesson's claims on one seed; a test file per seed subclasses it and sets ``SEED`` (and ``BETA_03_HOLDS``)."""

    SEED: int
    BETA_03_HOLDS: bool  # does the fixed β = 0.3 run stay healthy on this seed?
    HACK: str  # what the β = 0 run's last texts repeat
    #: Exercise ex-06-seeds as its solution quotes it: the β = 0 run's best 5-step gold, the penalised runs' last.
    EXERCISE: dict[str, float]

    def test_without_a_penalty_the_proxy_is_hacked(self) -> None:
        free = three_runs(self.SEED)["β = 0"]
        assert late(free, "proxy") > 5 * early(free, "proxy") and late(free, "proxy") > early(free, "proxy") + 4
        assert late(free, "gold") < early(free, "gold") - 0.2                   # true quality falls
        assert late(free, "entropy") < 0.05 * early(free, "entropy")            # collapse onto one text
        assert late(free, "kl_mean") > 10 * TARGET                              # far from the reference
        assert hacked(free)
        assert {w.check for w in health_report(free.metrics)} & {"reward_up_entropy_down", "kl_spikes"}

    def test_the_adaptive_controller_ends_near_its_target_without_a_hack(self) -> None:
        run = three_runs(self.SEED)["adaptive"]
        assert abs(late(run, "kl_mean") - TARGET) < 0.3 * TARGET
        assert late(run, "exclaim_share") < 0.03
        assert late(run, "gold") > early(run, "gold")
        assert late(run, "ref_loglik") > early(run, "ref_loglik") - 0.1        # still fluent to π_ref

    def test_the_monitor_is_silent_exactly_when_a_penalised_run_did_not_hack(self) -> None:
        for name in ("β = 0.3", "adaptive"):
            run = three_runs(self.SEED)[name]
            report = health_report(run.metrics)
            assert bool(report) == hacked(run), (name, [(w.check, w.step) for w in report])
            if not hacked(run):
                assert late(run, "gold") >= early(run, "gold") and max(run.metrics["kl_max"]) < 40

    def test_whether_a_fixed_beta_of_0_3_holds(self) -> None:
        """The lesson's caveat: β = 0.3 holds on most seeds, not on all; where it fails, the monitor reports it."""
        run = three_runs(self.SEED)["β = 0.3"]
        assert hacked(run) != self.BETA_03_HOLDS
        if not self.BETA_03_HOLDS:
            assert "kl_spikes" in {w.check for w in health_report(run.metrics)}
            assert round(max(run.metrics["kl_mean"])) == 15                      # "its KL reaches 15 nats"
            assert any(text.rstrip("\n").endswith("!" * 8) for text in run.samples[149])

    def test_the_free_run_ends_on_this_seeds_hack(self) -> None:
        assert all(self.HACK in text for text in three_runs(self.SEED)["β = 0"].samples[149])

    def test_the_seed_exercise_answer(self) -> None:
        """ex-06-seeds: the numbers its solution quotes (to the two decimals shown), and their order."""
        runs = three_runs(self.SEED)
        peak = float(np.convolve(runs["β = 0"].metrics["gold"], np.ones(5) / 5, mode="valid").max())
        found = {"β = 0 peak": peak, "β = 0.3": late(runs["β = 0.3"], "gold"), "adaptive": late(runs["adaptive"], "gold")}
        assert all(abs(found[key] - quoted) <= 0.006 for key, quoted in self.EXERCISE.items()), found
        assert peak > max(found["β = 0.3"], found["adaptive"])                   # the penalty ends below β = 0's best
        assert abs(np.sqrt(late(runs["adaptive"], "kl_mean")) - 1.7) < 0.1      # "near √KL ≈ 1.7"
