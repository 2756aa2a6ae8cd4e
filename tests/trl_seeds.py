"""Lesson 9's claims about training, checked on GRPO seeds the notebook does not use (it uses seed 0).

Each test file (test_trl_seed_1.py, test_trl_seed_2.py) runs the lesson's three GRPOTrainer runs (β = 0, 0.04
and 0.3, the notebook's settings) from the notebook's reference model (pretrained once per test run and shared
through the cache) on its own seed, and checks what the lesson says:

* β = 0 and β = 0.04 hack the proxy: its last-5-step mean is above 3 points and 4 times β = 0.3's;
* β = 0 collapses entropy below ¾ of β = 0.3's; β = 0.3 keeps at least 90 % of its early entropy and its proxy
  below 1.5 points;
* the logged kl: β = 0.3 ends below 1.5 nats per token and below half of β = 0.04's, which ends above 3 and above
  anything it logged in its first 12 steps;
* the health table of section 3: reward_std lower for β = 0.3 than for β = 0, clip ratios 0 in every run,
  completions cut at the maximum length: under half for β = 0.3, over 80 % for β = 0;
* the hack differs by seed (the notebook's seed shouts "!!!!"): each file names its own.

The notebook's gold-judge remarks are about its own seed and are not claimed here.
"""

from __future__ import annotations

import functools

import numpy as np

from kl_lessons.hf_tiny import pretrain_hf
from kl_lessons.trl_run import GRPORun, run_grpo

BETAS, STEPS = (0.0, 0.04, 0.3), 24


@functools.lru_cache(maxsize=None)
def three_runs(seed: int) -> dict[float, GRPORun]:
    folder, _ = pretrain_hf(progress=False)                # the notebook's reference (same arguments, one cache)
    return {beta: run_grpo(folder, beta, steps=STEPS, seed=seed, progress=False) for beta in BETAS}


def early(run: GRPORun, key: str, n: int = 5) -> float:
    return float(run.series(key)[:n].mean())


def late(run: GRPORun, key: str, n: int = 5) -> float:
    return float(run.series(key)[-n:].mean())


class SeedClaims:
    """The lesson's claims on one seed; a test file per seed subclasses it and sets ``SEED`` and ``hack``."""

    SEED: int

    def hack(self, texts: list[str]) -> bool:  # what this seed's β = 0 run ends writing
        raise NotImplementedError

    def test_without_a_strong_penalty_the_proxy_is_hacked(self) -> None:
        runs = three_runs(self.SEED)
        for beta in (0.0, 0.04):
            assert late(runs[beta], "rewards/proxy/mean") > max(3, 4 * late(runs[0.3], "rewards/proxy/mean")), beta
        assert late(runs[0.0], "entropy") < 0.75 * late(runs[0.3], "entropy")

    def test_beta_0_3_holds(self) -> None:
        run = three_runs(self.SEED)[0.3]
        assert late(run, "rewards/proxy/mean") < 1.5 and late(run, "entropy") > 0.9 * early(run, "entropy")

    def test_the_logged_kl(self) -> None:
        runs = three_runs(self.SEED)
        small, large = runs[0.04], runs[0.3]
        assert late(large, "kl") < 1.5 and late(large, "kl") < 0.5 * late(small, "kl")
        assert late(small, "kl") > 3 and late(small, "kl") > small.series("kl")[:12].max()

    def test_the_health_table(self) -> None:
        runs = three_runs(self.SEED)
        free, large = runs[0.0], runs[0.3]
        assert late(large, "reward_std") < late(free, "reward_std")
        assert all(float(run.series(k).max()) == 0 for run in runs.values() for k in run.log[0]
                   if k.startswith("clip_ratio"))
        assert late(large, "completions/clipped_ratio") < 0.5 < 0.8 < late(free, "completions/clipped_ratio")

    def test_the_free_run_ends_on_this_seeds_hack(self) -> None:
        texts = three_runs(self.SEED)[0.0].completions[STEPS]
        assert self.hack(texts), texts[:3]


def exclaim_share(texts: list[str]) -> float:
    return float(np.mean([t.count("!") / max(len(t), 1) for t in texts]))
