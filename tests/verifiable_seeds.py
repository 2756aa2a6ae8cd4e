"""Lesson 8's claims about training on a verifiable reward, checked on seeds the notebook does not use.

The notebook trains three policies on the question task (β = 0, β = 0.3, and an entropy bonus α = 0.03 with no
KL) on seed 1 and asserts what it says about them. Here each seed gets a fresh reference (pretrained with that
seed, the same model the capstone seed tests use, so the run's pretraining cache trains it once) and the same
three runs, and the same claims are checked:

* β = 0 solves the task on almost every sample, stays as fluent as the reference, and collapses: one to three
  distinct questions, most of the entropy gone;
* β = 0.3 asks at least twice as many distinct questions, solves less often, keeps half its entropy, yet asks
  fewer than the reference's two dozen or more: it is far from its optimum π_β;
* the KL to the reference climbs while the KL of one update falls, and the updates do not add up to it;
* the entropy bonus keeps entropy but not fluency: log π_ref falls, gold falls;
* the monitor (lesson 10) is silent on β = 0.3 and flags β = 0's collapse;
* a checker with a hole (``question_mark_reward``) is hacked at β = 0 within 40 steps: nearly every sample passes
  it and almost none does the task.

How much one update shrinks depends on the seed, so the two-KL test asks for what the lesson's prose claims (the
KL to the reference grows by a quarter or more, one update at least halves, and ends a tenth or less of it) and
checks the shrink factors the prose quotes for seeds 0 and 2. Run by script with the same settings (December 2026;
first 10 and last 20 steps), the β = 0.3 run's update shrank 6.1-fold on seed 1 (the notebook), 5.6 on seed 0,
5.7 on seed 2, 5.3 on seed 3 and only 3.5 on seed 4 (0.142 → 0.041 nats, while its KL to π_ref went 0.76 → 1.46);
the β = 0 run's 16 to 26-fold on seeds 0, 2, 3 and 4. The same script saw the checker with a hole passed by 96 % or
more of the samples after 40 steps on seeds 0, 2, 3 and 4, with the task solved by 1.6 % or fewer.

This module defines no tests itself; each seed has a file of its own so that seeds run on different workers.
"""

from __future__ import annotations

import functools

import capstone_seeds
import numpy as np
import torch
from capstone_seeds import early

from kl_lessons.controllers import FixedKLController
from kl_lessons.monitor import health_report
from kl_lessons.reward_models import answer_spread, default_judge, question_mark_reward, question_reward
from kl_lessons.rlhf import RLHFRun, train
from kl_lessons.tinylm import pretrain, sample, set_determinism

LENGTH = 40  # characters per text, as in the notebook


@functools.lru_cache(maxsize=None)
def three_runs(seed: int) -> tuple[dict[str, RLHFRun], dict[str, tuple[float, int]]]:
    """The notebook's three trainings on ``seed``, and each final policy's (solved share, distinct questions).

    The answers also hold the reference's, from 8192 samples: the spread the KL penalty's optimum would keep.
    """
    threads = torch.get_num_threads()
    set_determinism(seed, threads=1)
    try:
        reference, vocab, _ = pretrain(steps=600, seed=seed)
        common = dict(judge=default_judge(vocab.chars), steps=100, batch_size=32, length=LENGTH, lr=3e-3, seed=seed,
                      reward_fn=question_reward, track_step_kl=True, progress=False)
        runs = {
            "β = 0": train(reference, vocab, FixedKLController(0.0), **common),
            "β = 0.3": train(reference, vocab, FixedKLController(0.3), **common),
            "bonus": train(reference, vocab, FixedKLController(0.0), entropy_bonus=0.03, **common),
        }
        answers = {name: answer_spread(run.policy, vocab, length=LENGTH) for name, run in runs.items()}
        answers["reference, 8192 samples"] = answer_spread(reference, vocab, n=8192, length=LENGTH)
        return runs, answers
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def hole_texts(seed: int) -> dict[str, list[str]]:
    """As the notebook: β = 0 trained 40 steps on the checker with a hole; 256 fresh samples of it and of the reference."""
    threads = torch.get_num_threads()
    set_determinism(seed, threads=1)
    try:
        reference, vocab, _ = pretrain(steps=600, seed=seed)
        holey = train(reference, vocab, FixedKLController(0.0), judge=default_judge(vocab.chars), steps=40, batch_size=32,
                      length=LENGTH, lr=3e-3, seed=seed, reward_fn=question_mark_reward, progress=False)
        return {name: vocab.decode(sample(model, vocab, 256, LENGTH, torch.Generator().manual_seed(99)).tokens)
                for name, model in (("reference", reference), ("hole", holey.policy))}
    finally:
        torch.set_num_threads(threads)


#: Means over the first 5 and, as in the notebook's shorter runs, the last 20 steps.
late = functools.partial(capstone_seeds.late, n=20)


class VerifiableClaims:
    """The claims; a subclass names its ``SEED``."""

    SEED: int
    #: How many times smaller one update is over the last 20 steps than over the first 10, as the lesson quotes it.
    SHRINK: dict[str, float]

    def runs(self) -> tuple[dict[str, RLHFRun], dict[str, tuple[float, int]]]:
        return three_runs(self.SEED)

    def test_without_a_penalty_the_task_is_solved_fluently_by_one_or_two_answers(self) -> None:
        runs, answers = self.runs()
        free = runs["β = 0"]
        assert answers["β = 0"][0] > 0.9 and answers["β = 0"][1] <= 3
        assert late(free, "ref_loglik") > early(free, "ref_loglik") - 0.1
        assert late(free, "entropy") < 0.25 * early(free, "entropy")

    def test_the_penalty_keeps_more_distinct_answers_at_a_cost_in_reward(self) -> None:
        runs, answers = self.runs()
        assert answers["β = 0.3"][1] >= 2 * answers["β = 0"][1]
        assert answers["β = 0.3"][0] < answers["β = 0"][0]
        assert late(runs["β = 0.3"], "entropy") > 0.5 * early(runs["β = 0.3"], "entropy")
        # The reference asks dozens of questions; after 100 steps β = 0.3 is far from keeping them all.
        reference = answers["reference, 8192 samples"][1]
        assert reference >= 24 and answers["β = 0.3"][1] < reference

    def test_the_two_kls_move_in_opposite_directions_and_do_not_add_up(self) -> None:
        runs, _ = self.runs()
        for name in ("β = 0", "β = 0.3"):
            run = runs[name]
            assert late(run, "kl_mean") > 1.25 * early(run, "kl_mean", 10)
            assert late(run, "step_kl") < 0.5 * early(run, "step_kl", 10)       # at least halves: seed 4 shrank 3.5-fold
            assert late(run, "step_kl") < 0.1 * late(run, "kl_mean")
            shrink = early(run, "step_kl", 10) / late(run, "step_kl")
            assert abs(shrink - self.SHRINK[name]) <= 0.05 * self.SHRINK[name], (name, shrink)   # as the lesson quotes it
        assert np.sum(runs["β = 0"].metrics["step_kl"]) < late(runs["β = 0"], "kl_mean")
        assert np.sum(runs["β = 0.3"].metrics["step_kl"]) > 1.5 * late(runs["β = 0.3"], "kl_mean")

    def test_the_monitor_is_silent_on_the_penalised_run_and_flags_the_collapse(self) -> None:
        """Lesson 10's claim: the health checks (its three new ones included) stay silent on a healthy run."""
        runs, _ = three_runs(self.SEED)
        assert health_report(runs["β = 0.3"].metrics) == []
        assert "reward_up_entropy_down" in {w.check for w in health_report(runs["β = 0"].metrics)}

    def test_an_entropy_bonus_keeps_entropy_but_not_fluency(self) -> None:
        runs, _ = self.runs()
        bonus, free, belted = runs["bonus"], runs["β = 0"], runs["β = 0.3"]
        assert late(bonus, "entropy") > 3 * late(free, "entropy")
        assert late(bonus, "ref_loglik") < early(bonus, "ref_loglik") - 0.3
        assert late(belted, "ref_loglik") > early(belted, "ref_loglik") - 0.1
        assert late(bonus, "gold") < min(early(bonus, "gold"), late(belted, "gold"))

    def test_a_checker_with_a_hole_is_hacked_without_a_penalty(self) -> None:
        texts = hole_texts(self.SEED)
        _, answers = self.runs()
        assert float(question_mark_reward(texts["hole"]).mean()) > 0.9                  # it passes the checker ...
        assert float(question_reward(texts["hole"]).mean()) < 0.1 * answers["β = 0"][0]  # ... not the task
        reference = texts["reference"]   # most texts the reference ends with "?" are not answers
        assert 2 * float(question_reward(reference).sum()) < float(question_mark_reward(reference).sum())
