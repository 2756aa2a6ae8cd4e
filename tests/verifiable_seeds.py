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
* the entropy bonus keeps entropy but not fluency: log π_ref falls, gold falls.

This module defines no tests itself; each seed has a file of its own so that seeds run on different workers.
"""

from __future__ import annotations

import functools

import capstone_seeds
import numpy as np
import torch
from capstone_seeds import early

from kl_lessons.controllers import FixedKLController
from kl_lessons.reward_models import answer_spread, default_judge, question_reward
from kl_lessons.rlhf import RLHFRun, train
from kl_lessons.tinylm import pretrain, set_determinism

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


#: Means over the first 5 and, as in the notebook's shorter runs, the last 20 steps.
late = functools.partial(capstone_seeds.late, n=20)


class VerifiableClaims:
    """The claims; a subclass names its ``SEED``."""

    SEED: int

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
        for run in (runs["β = 0"], runs["β = 0.3"]):
            assert late(run, "kl_mean") > 1.25 * early(run, "kl_mean", 10)
            assert late(run, "step_kl") < 0.25 * early(run, "step_kl", 10)
            assert late(run, "step_kl") < 0.1 * late(run, "kl_mean")
        assert np.sum(runs["β = 0"].metrics["step_kl"]) < late(runs["β = 0"], "kl_mean")
        assert np.sum(runs["β = 0.3"].metrics["step_kl"]) > 1.5 * late(runs["β = 0.3"], "kl_mean")

    def test_an_entropy_bonus_keeps_entropy_but_not_fluency(self) -> None:
        runs, _ = self.runs()
        bonus, free, belted = runs["bonus"], runs["β = 0"], runs["β = 0.3"]
        assert late(bonus, "entropy") > 3 * late(free, "entropy")
        assert late(bonus, "ref_loglik") < early(bonus, "ref_loglik") - 0.3
        assert late(belted, "ref_loglik") > early(belted, "ref_loglik") - 0.1
        assert late(bonus, "gold") < min(early(bonus, "gold"), late(belted, "gold"))
