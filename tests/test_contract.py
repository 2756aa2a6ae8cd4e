"""The library's contract, for every public function and class.

* Bad input of each class (tests/contract_inputs.py) raises ``ValueError`` naming the argument.
* Valid input gives finite results, agreeing with an independent computation
  (exact formulas, torch.distributions, enumeration, mpmath), and is never mutated.
* Controllers keep β finite and > 0 over long random reading sequences.
* A public function or class with no entry in :data:`CONTRACTS` fails the suite.

* What learners pass: a probability vector valid to the precision it was made in (a float32
  softmax) is accepted as a tensor, a list or a float64 array alike, and every function gives
  the same answer for each wrapping; a refusal says the sum, the tolerance and the fix.
* Numerical edge cases found by adversarial testing (huge logit gaps, tiny β, overflow,
  unstable lags) each have a test named for the behaviour it pins.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kl_lessons
from kl_lessons import controllers, corpus, divergence, estimators, kl_in_loss, mode_seeking, monitor, optimum
from kl_lessons import dpo, plant, practice_map, reward_models, rlhf, sampling, shaped_reward, style, tinylm, toy_responses
from kl_lessons import casebook, run_logs
from kl_lessons import policy_gradient
from kl_lessons import batch_spread, kl_gradients, response_batch, toy_sequences
from kl_lessons._validate import prob_tolerance
from kl_lessons.self_checks import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08
from kl_lessons.self_checks import lesson10

from contract_inputs import (
    COUNT, DIM, NONNEGATIVE, NUMBER, POSITIVE, SERIES, TEXTS, choice, logprobs_like, mask_like, probs_like,
    tensor_like,
)

F64 = torch.float64


# ----------------------------------------------------------------------------- the registry
@dataclass
class Raises:
    """``call(**valid())`` works; replacing one argument by a bad value raises ``ValueError`` naming it."""

    call: Callable[..., Any]
    valid: Callable[[], dict[str, Any]]
    bad: dict[str, list[Callable[[], Any]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # the word the message must contain, if not the argument
    finite: bool = True  # valid call gives finite numbers


@dataclass
class NeverRaises:
    """A self-check: any answer gets a message (a ``str``), never an exception."""

    call: Callable[[Any], Any]


@dataclass
class Record:
    """A plain record (dataclass, named tuple or protocol); the functions that read it validate it."""


def _toy_table() -> tuple[list[float], list[float]]:
    return [0.01, 0.1, 1.0, 10.0], [6.0, 3.0, 0.5, 0.01]


def _plant(**kw: Any) -> plant.KLPlant:
    betas, kls = _toy_table()
    return plant.KLPlant(betas, kls, **{"lag": 5.0, "noise": 0.5, "batch_size": 16, "seed": 0, **kw})


def _fixed_update(current: Any = 1.0, n_steps: Any = 1) -> float:
    return controllers.FixedKLController(0.1).update(current, n_steps)


def _adaptive_update(current: Any = 1.0, n_steps: Any = 64) -> float:
    return controllers.AdaptiveKLController(0.1, 1.0, 10_000).update(current, n_steps)


def _threshold_update(current: Any = 1.0, n_steps: Any = 1) -> float:
    return controllers.ThresholdKLController().update(current, n_steps)


def _plant_step(beta: Any = 0.1) -> float:
    return _plant().step(beta)


def _plant_equilibrium(beta: Any = 0.1) -> float:
    return _plant().equilibrium(beta)


def _judge_fit(sentences: Any = ("a cat sat.",), alphabet: Any = "abc .", k: Any = 0.05) -> Any:
    return reward_models.CharTrigramJudge.fit(sentences, alphabet, k)


def _run(n: int = 40) -> dict[str, np.ndarray]:
    return plant.simulate_control(controllers.AdaptiveKLController(0.1, 0.5, 1000), _plant(), n)


BOUNDS_BAD = [lambda: (1.0,), lambda: (0.1, 0.2, 0.3), lambda: (2.0, 1.0), lambda: ("a", "b"), lambda: None,
              lambda: (0.0, 1.0), lambda: (0.1, math.inf), lambda: 5.0, lambda: {0.1: 1, 1.0: 2},
              lambda: {0.01, 1.0}, lambda: "ab"]
P22, Q2 = [[0.2, 0.8], [0.5, 0.5]], [0.3, 0.7]
P22T = [[0.2, 0.5], [0.8, 0.5]]  # distributions in columns (dim=0)
WINDOW = [f for f in COUNT if f() is not None]  # None is the default window
LP, REF_LP = [[-1.0, -2.0, -0.5]], [[-1.5, -0.5, -0.7]]
TWO = sampling.random_two_token_model(3, seed=0)
BAD_MODELS = [lambda: None, lambda: "model", lambda: sampling.TwoTokenModel(torch.ones(2), torch.ones(3, 3)),
              lambda: sampling.TwoTokenModel(torch.full((3,), 0.5), torch.full((3, 3), 1 / 3))]
LOGITS = [0.5, -1.0, 2.0]
REF3 = [0.2, 0.3, 0.5]
GRID = mode_seeking.make_grid(-4, 4, 41)
TARGET = mode_seeking.mixture_log_probs(GRID)
SAMPLES_BAD = [lambda: [0.5], lambda: [5], lambda: [-1], lambda: ["0"], lambda: None, lambda: [True],
               lambda: [[0]], lambda: [], lambda: [10**400]]
KL_SERIES = [0.1 * (1 - math.exp(-t / 5)) for t in range(40)]
RUN_LOG = "\n".join(f"step:{t + 1} - actor/kl_loss:{x} - response_length/mean:50.0" for t, x in enumerate(KL_SERIES))


def _run_log_file() -> str:
    import tempfile  # a file for read_log and main, written once per test process

    global _RUN_LOG_PATH
    if not _RUN_LOG_PATH:
        _RUN_LOG_PATH = tempfile.mkdtemp() + "/verl_console.log"
        with open(_RUN_LOG_PATH, "w", encoding="utf-8") as handle:
            handle.write(RUN_LOG)
    return _RUN_LOG_PATH


_RUN_LOG_PATH = ""

VOCAB = tinylm.CharVocab.from_text("ab !")
with torch.random.fork_rng():
    torch.manual_seed(0)
    SMALL_LM = tinylm.TinyLM(VOCAB.size, 4, 4)
    OTHER_LM = tinylm.TinyLM(VOCAB.size + 1, 4, 4)
JUDGE = reward_models.CharTrigramJudge.fit(["ab a!"], VOCAB.chars)
MODELS_BAD = [lambda: None, lambda: "model", lambda: OTHER_LM]


def _train(**kw: Any) -> Any:
    args = {"reference": SMALL_LM, "vocab": VOCAB, "controller": controllers.FixedKLController(0.1), "judge": JUDGE,
            "steps": 1, "batch_size": 2, "length": 3, "progress": False, **kw}
    return rlhf.train(**args)


def _train_metrics(**kw: Any) -> dict[str, list[float]]:
    return _train(**kw).metrics


def _rollout(**kw: Any) -> Any:
    return tinylm.sample(**{"model": SMALL_LM, "vocab": VOCAB, "batch_size": 2, "length": 3,
                            "generator": torch.Generator().manual_seed(0), **kw})


def _vocab_decode(tokens: Any = None) -> list[str]:
    return VOCAB.decode(torch.tensor([[0, 1]]) if tokens is None else tokens)


def _vocab_encode(text: Any = "ab") -> torch.Tensor:
    return VOCAB.encode(text)


def _pretrain_losses(**kw: Any) -> list[float]:
    return tinylm.pretrain(**{"steps": 1, "batch_size": 2, "window": 8, **kw})[2]


PAIR_W = dpo.exact_pair_weights([0.2, 0.3, 0.5], [1.0, 0.0, 0.5])
#: π_ref that DPO cannot use: a zero entry (it divides by π_ref), a batch of distributions, the wrong length.
DPO_REF_BAD = [lambda: [0.0, 0.5, 0.5], lambda: [REF3, REF3], lambda: [0.5, 0.5]]
CONTROLLERS_BAD = [lambda: None, lambda: 0.1, lambda: "adaptive"]
TOKENS_BAD = [lambda: torch.tensor([[0, 99]]), lambda: torch.tensor([[-1, 0]]), lambda: torch.tensor([[0.0, 1.0]]),
              lambda: torch.tensor([0, 1]), lambda: [[0, 1]], lambda: None, lambda: torch.zeros(1, 0, dtype=torch.long)]

SPACE = toy_sequences.sequence_space(2, 2)  # 3 prefixes, 4 responses
TABLE = toy_sequences.random_logits(SPACE, 1.0, seed=0)
REF_TABLE = toy_sequences.random_logits(SPACE, 1.0, seed=1)
R4 = [1.0, 0.0, 0.0, 0.5]
SPACES_BAD = [lambda: None, lambda: "space", lambda: (2, 2)]
TABLES_BAD = tensor_like(SPACE.logits_shape) + [lambda: torch.zeros(2, 2)]
RECIPES_BAD = choice() + [lambda: "k3"]
CAT_LOGITS = [math.log(x) for x in batch_spread.CAT_SAT_POLICY_PROBS]
CAT_REF = [math.log(x) for x in batch_spread.CAT_SAT_REF_PROBS]


def _grads(**kw: Any) -> Any:
    return kl_gradients.response_gradients(**{"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE,
                                              "recipe": "k3_loss", **kw})


def _toy_policy(drift: Any = 1.0) -> torch.Tensor:
    return toy_sequences.jackpot_toy(2, 2).policy(drift)


CONTRACTS: dict[str, Any] = {
    # ---- lesson 1
    "divergence.entropy": Raises(divergence.entropy, lambda: {"p": P22, "dim": -1},
                                 {"p": probs_like((2, 2)), "dim": DIM}),
    "divergence.cross_entropy": Raises(divergence.cross_entropy, lambda: {"p": P22T, "q": Q2, "dim": 0},
                                       {"p": probs_like((2, 2)), "q": probs_like((2,)), "dim": DIM}),
    "divergence.kl_divergence": Raises(divergence.kl_divergence, lambda: {"p": P22T, "q": Q2, "dim": 0},
                                       {"p": probs_like((2, 2)), "q": probs_like((2,)), "dim": DIM}),
    "divergence.kl_contributions": Raises(divergence.kl_contributions, lambda: {"p": P22T, "q": Q2, "dim": -2},
                                          {"p": probs_like((2, 2)), "q": probs_like((2,)), "dim": DIM}),
    "mode_seeking.make_grid": Raises(mode_seeking.make_grid, lambda: {"low": -1.0, "high": 1.0, "size": 5},
                                     {"low": NUMBER + [lambda: 2.0], "high": NUMBER, "size": COUNT + [lambda: 2]},
                                     names={"low": "l"}),
    "mode_seeking.gaussian_log_probs": Raises(
        mode_seeking.gaussian_log_probs, lambda: {"grid": GRID, "mean": 0.0, "std": 1.0},
        {"grid": tensor_like((41,)) + [lambda: GRID.flip(0)], "mean": NUMBER, "std": POSITIVE}),
    "mode_seeking.mixture_log_probs": Raises(
        mode_seeking.mixture_log_probs, lambda: {"grid": GRID, "means": (-1.0, 1.0), "stds": (1.0, 1.0),
                                                 "weights": (0.5, 0.5)},
        {"grid": tensor_like((41,)), "means": tensor_like((2,)), "stds": tensor_like((2,)) + [lambda: (1.0, -1.0)],
         "weights": probs_like((2,))}),
    "mode_seeking.grid_kl": Raises(mode_seeking.grid_kl, lambda: {"log_p": TARGET, "log_q": TARGET.flip(0)},
                                   {"log_p": tensor_like((41,))[:-2] + [lambda: torch.full((41,), math.inf)],
                                    "log_q": tensor_like((41,))[:-2]}),
    "mode_seeking.fit_gaussian": Raises(
        mode_seeking.fit_gaussian, lambda: {"target_log_probs": TARGET, "grid": GRID, "direction": "reverse",
                                            "init_mean": 1.0, "init_std": 1.0, "steps": 3, "lr": 0.5},
        {"target_log_probs": tensor_like((41,)) + [lambda: TARGET + 1.0], "grid": tensor_like((41,)),
         "direction": choice(), "init_mean": NUMBER, "init_std": POSITIVE, "steps": COUNT, "lr": POSITIVE},
        names={"target_log_probs": "target_log_probs"}),
    "mode_seeking.fit_both_directions": Raises(
        mode_seeking.fit_both_directions, lambda: {"grid": GRID, "target_log_probs": TARGET, "steps": 2},
        {"grid": tensor_like((41,)), "target_log_probs": tensor_like((41,)), "steps": COUNT, "lr": POSITIVE}),
    "mode_seeking.GaussianFit": Record(),
    "lesson01.dog_kl_bits": Raises(lesson01.dog_kl_bits, lambda: {}),
    "lesson01.check_kl_in_bits": NeverRaises(lesson01.check_kl_in_bits),
    # ---- lesson 2
    "estimators.check_estimator": Raises(estimators.check_estimator, lambda: {"estimator": "k3"},
                                         {"estimator": choice()}, finite=False),
    "estimators.kl_estimate": Raises(estimators.kl_estimate,
                                     lambda: {"logprobs": LP, "ref_logprobs": REF_LP, "estimator": "k3"},
                                     {"logprobs": logprobs_like((1, 3)), "ref_logprobs": logprobs_like((1, 3)),
                                      "estimator": choice()}),
    "estimators.weighted_kl_terms": Raises(
        estimators.weighted_kl_terms,
        lambda: {"weights": [0.5, 0.0, 0.5], "logprobs": LP[0], "ref_logprobs": REF_LP[0], "estimator": "k3",
                 "log_weights": [math.log(0.5), -math.inf, math.log(0.5)]},
        {"weights": tensor_like((3,)) + [lambda: [0.5, -0.1, 0.6], lambda: [1.0]],
         "logprobs": logprobs_like((3,)), "ref_logprobs": logprobs_like((3,)) + [lambda: [-1.0]],
         "estimator": choice(), "log_weights": [lambda: [math.inf, 0.0, 0.0], lambda: [0.0], lambda: "x"]}),
    "sampling.two_token_model": Raises(sampling.two_token_model,
                                       lambda: {"first_logits": [0.0, 1.0], "second_logits": [[0.0, 1.0], [1.0, 0.0]]},
                                       {"first_logits": tensor_like((2,)), "second_logits": tensor_like((2, 2))}),
    "sampling.random_two_token_model": Raises(sampling.random_two_token_model,
                                              lambda: {"vocab_size": 3, "seed": 1, "scale": 1.0},
                                              {"vocab_size": COUNT + [lambda: 1], "seed": COUNT, "scale": POSITIVE}),
    "sampling.sequence_kl_by_enumeration": Raises(sampling.sequence_kl_by_enumeration,
                                                  lambda: {"policy": TWO, "reference": sampling.random_two_token_model(3, 1)},
                                                  {"policy": BAD_MODELS, "reference": BAD_MODELS}),
    "sampling.chain_rule_terms": Raises(sampling.chain_rule_terms,
                                        lambda: {"policy": TWO, "reference": sampling.random_two_token_model(3, 1)},
                                        {"policy": BAD_MODELS, "reference": BAD_MODELS}),
    "sampling.sampling_distribution": Raises(
        sampling.sampling_distribution, lambda: {"logits": LOGITS, "temperature": 0.7, "top_k": 2, "top_p": 0.9},
        {"logits": tensor_like((3,)) + [lambda: [1.0]], "temperature": POSITIVE, "top_k": COUNT[:-5],
         "top_p": POSITIVE + [lambda: 1.5]}),
    "sampling.sample_and_score": Raises(
        sampling.sample_and_score, lambda: {"logits": LOGITS, "ref_logits": [0.0, 0.0, 0.0], "num_samples": 4,
                                            "seed": 0, "top_p": 0.9},
        {"logits": tensor_like((3,)), "ref_logits": tensor_like((3,)) + [lambda: [0.0, 0.0]],
         "num_samples": COUNT, "seed": COUNT, "temperature": POSITIVE}),
    "sampling.full_kl_from_logits": Raises(sampling.full_kl_from_logits,
                                           lambda: {"logits": LOGITS, "ref_logits": [0.0, 1.0, 0.0]},
                                           {"logits": tensor_like((3,)), "ref_logits": tensor_like((3,))}),
    "sampling.expected_estimate_under_sampler": Raises(
        sampling.expected_estimate_under_sampler,
        lambda: {"logits": LOGITS, "ref_logits": [0.0, 1.0, 0.0], "estimator": "k3", "temperature": 0.8},
        {"logits": tensor_like((3,)), "ref_logits": tensor_like((3,)), "estimator": choice(),
         "temperature": POSITIVE, "top_k": COUNT[:-5], "top_p": POSITIVE}),
    "sampling.published_rounding": Raises(sampling.published_rounding, lambda: {"text": "1.42"},
                                          {"text": [lambda: None, lambda: 1.42, lambda: "abc", lambda: "nan"]}),
    "sampling.gaussian_true_kl": Raises(sampling.gaussian_true_kl, lambda: {"mu": 0.5},
                                        {"mu": NUMBER + [lambda: 1e160]}),
    "sampling.gaussian_single_sample_estimates": Raises(
        sampling.gaussian_single_sample_estimates, lambda: {"mu": 0.5, "num_samples": 10, "seed": 0},
        {"mu": NUMBER + [lambda: 0.0], "num_samples": COUNT, "seed": COUNT}),
    "sampling.gaussian_estimator_study": Raises(
        sampling.gaussian_estimator_study, lambda: {"mu": 0.5, "num_samples": 40, "seed": 0, "num_batches": 4},
        {"mu": NUMBER, "num_samples": COUNT, "seed": COUNT, "num_batches": COUNT + [lambda: 1]}),
    "sampling.gaussian_estimator_exact": Raises(sampling.gaussian_estimator_exact, lambda: {"mu": 0.5},
                                                {"mu": NUMBER + [lambda: 0.0, lambda: 40.0, lambda: 1e160]}),
    "sampling.TwoTokenModel": Record(),
    "sampling.ScoredSample": Record(),
    "sampling.EstimatorStats": Record(),
    "lesson02.check_k3": NeverRaises(lesson02.check_k3),
    # ---- lesson 3
    "shaped_reward.kl_penalized_rewards": Raises(
        shaped_reward.kl_penalized_rewards,
        lambda: {"scores": [1.0], "logprobs": LP, "ref_logprobs": REF_LP, "kl_coef": 0.1, "mask": [[1, 1, 0]],
                 "estimator": "k3"},
        {"scores": tensor_like((1,)), "logprobs": logprobs_like((1, 3)), "ref_logprobs": logprobs_like((1, 3)),
         "kl_coef": NONNEGATIVE, "mask": mask_like((1, 3)) + [lambda: [[0, 0, 0]]], "estimator": choice()}),
    "kl_in_loss.draw_samples": Raises(kl_in_loss.draw_samples, lambda: {"logits": LOGITS, "n": 5, "seed": 0},
                                      {"logits": tensor_like((3,)), "n": COUNT, "seed": COUNT}),
    "kl_in_loss.reverse_kl_gradient": Raises(kl_in_loss.reverse_kl_gradient,
                                             lambda: {"logits": LOGITS, "ref_probs": REF3},
                                             {"logits": tensor_like((3,)), "ref_probs": probs_like((3,))}),
    "kl_in_loss.forward_kl_gradient": Raises(kl_in_loss.forward_kl_gradient,
                                             lambda: {"logits": LOGITS, "ref_probs": REF3},
                                             {"logits": tensor_like((3,)), "ref_probs": probs_like((3,))}),
    "kl_in_loss.estimator_gradients": Raises(
        kl_in_loss.estimator_gradients,
        lambda: {"logits": LOGITS, "ref_probs": REF3, "samples": [0, 2, 2], "placement": "loss", "estimator": "k3"},
        {"logits": tensor_like((3,)), "ref_probs": probs_like((3,)) + [lambda: [0.0, 0.5, 0.5]],
         "samples": SAMPLES_BAD, "placement": choice(), "estimator": choice()}),
    "kl_in_loss.expected_estimator_gradient": Raises(
        kl_in_loss.expected_estimator_gradient,
        lambda: {"logits": LOGITS, "ref_probs": REF3, "placement": "reward", "estimator": "k2"},
        {"logits": tensor_like((3,)), "ref_probs": probs_like((3,)), "placement": choice(), "estimator": choice()}),
    "kl_in_loss.follow_expected_gradient": Raises(
        kl_in_loss.follow_expected_gradient,
        lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "kl_coef": 0.5, "placement": "loss",
                 "estimator": "k3", "steps": 3, "lr": 0.5},
        {"ref_probs": probs_like((3,)) + [lambda: [[0.5, 0.5]] * 2], "rewards": tensor_like((3,)),
         "kl_coef": POSITIVE, "placement": choice(), "estimator": choice(), "steps": COUNT, "lr": POSITIVE}),
    "lesson03.overtake_beta": Raises(lesson03.overtake_beta, lambda: {"winner": "C", "loser": "A"},
                                     {"winner": choice() + [lambda: "A"], "loser": choice()}),
    "lesson03.check_overtake_beta": NeverRaises(lesson03.check_overtake_beta),
    "lesson03.check_loss_estimator": NeverRaises(lesson03.check_loss_estimator),
    "lesson03.response_penalty": Raises(lesson03.response_penalty, lambda: {"beta": 0.02},
                                        {"beta": NONNEGATIVE}, names={"beta": "kl_coef"}),
    "lesson03.check_response_penalty": NeverRaises(lambda a: lesson03.check_response_penalty(a, a)),
    "lesson03.check_group_advantages": NeverRaises(lesson03.check_group_advantages),
    # ---- lesson 3's policy-gradient primer
    "policy_gradient.expected_policy_gradient": Raises(
        policy_gradient.expected_policy_gradient, lambda: {"logits": LOGITS, "rewards": [1.0, 0.0, 0.5], "baseline": 0.2},
        {"logits": tensor_like((3,)) + [lambda: [0.5]], "rewards": tensor_like((3,)) + [lambda: [1.0, 0.0]],
         "baseline": NUMBER}),
    "policy_gradient.sampled_policy_gradients": Raises(
        policy_gradient.sampled_policy_gradients,
        lambda: {"logits": LOGITS, "rewards": [1.0, 0.0, 0.5], "samples": [0, 2, 2], "baseline": 0.2},
        {"logits": tensor_like((3,)), "rewards": tensor_like((3,)), "samples": SAMPLES_BAD, "baseline": NUMBER}),
    "policy_gradient.clipped_surrogate": Raises(
        policy_gradient.clipped_surrogate, lambda: {"ratio": [0.5, 1.0, 1.5], "advantages": [1.0, -1.0, 1.0],
                                                    "clip_eps": 0.2},
        {"ratio": tensor_like((3,)) + [lambda: [1.0, 0.0, 1.0]], "advantages": tensor_like((3,)) + [lambda: [1.0]],
         "clip_eps": POSITIVE + [lambda: 1.0]}),
    "policy_gradient.group_advantages": Raises(
        policy_gradient.group_advantages, lambda: {"rewards": [[1.0, 0.0, 0.5], [2.0, 2.0, 2.0]], "scale": True,
                                                   "eps": 1e-4},
        {"rewards": tensor_like((2, 3)) + [lambda: [1.0, 2.0], lambda: [[1.0], [2.0]]], "scale": [lambda: 1, lambda: None],
         "eps": NONNEGATIVE}),
    # ---- lesson 4
    "optimum.tilted_policy": Raises(optimum.tilted_policy, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5],
                                                                    "beta": 0.5},
                                    {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "beta": POSITIVE}),
    "optimum.kl_reward_frontier": Raises(
        optimum.kl_reward_frontier, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "betas": [0.1, 1.0]},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)),
         "betas": tensor_like((2,)) + [lambda: [-1.0, 1.0], lambda: [0.0, 1.0]]}),
    "optimum.regularised_policy": Raises(
        optimum.regularised_policy, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "beta": 0.5, "alpha": 0.2},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)) + [lambda: [1.0, 0.0]], "beta": NONNEGATIVE,
         "alpha": NONNEGATIVE}),
    "optimum.best_of_n_kl": Raises(optimum.best_of_n_kl, lambda: {"n": [1, 4]},
                                   {"n": tensor_like((2,)) + [lambda: [2.5], lambda: [0]]}),
    "toy_responses.make_toy_responses": Raises(toy_responses.make_toy_responses,
                                               lambda: {"exclamation_bonus": 0.1, "shouting_cost": 0.0},
                                               {"exclamation_bonus": NONNEGATIVE, "shouting_cost": NONNEGATIVE}),
    "toy_responses.tilted_policies": Raises(
        toy_responses.tilted_policies, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "betas": [0.1, 1.0]},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "betas": tensor_like((2,)) + [lambda: [0.0]]}),
    "toy_responses.beta_sweep": Raises(toy_responses.beta_sweep,
                                       lambda: {"toy": toy_responses.make_toy_responses(), "betas": [0.1, 1.0]},
                                       {"toy": [lambda: None, lambda: "toy"], "betas": tensor_like((2,))}),
    "toy_responses.tilted_reward_variance": Raises(
        toy_responses.tilted_reward_variance, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "beta": 0.5},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "beta": POSITIVE}),
    "toy_responses.best_of_n_policy": Raises(
        toy_responses.best_of_n_policy, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 1.0], "n": 3,
                                                 "tie_atol": 0.0},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "n": COUNT, "tie_atol": NONNEGATIVE}),
    "toy_responses.exact_best_of_n_kl": Raises(
        toy_responses.exact_best_of_n_kl, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 1.0], "n": 3},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "n": COUNT, "tie_atol": NONNEGATIVE}),
    "toy_responses.mirror_descent_iterates": Raises(
        toy_responses.mirror_descent_iterates,
        lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "step_size": 0.5, "n_steps": 3, "kl_coef": 0.1},
        {"ref_probs": probs_like((3,)), "rewards": tensor_like((3,)), "step_size": POSITIVE,
         "n_steps": COUNT[:1] + COUNT[2:], "kl_coef": NONNEGATIVE}),
    "toy_responses.toy_frontier_table": Raises(toy_responses.toy_frontier_table, lambda: {"betas": [0.1, 1.0]},
                                               {"betas": tensor_like((2,)) + [lambda: [-0.1]]}),
    "toy_responses.ToyResponses": Record(),
    "toy_responses.BetaSweep": Record(),
    "lesson04.check_beta_for_kl": NeverRaises(lesson04.check_beta_for_kl),
    "lesson04.gold_optimal_beta": Raises(lesson04.gold_optimal_beta, lambda: {}),
    "lesson04.bon_match_n": Raises(lesson04.bon_match_n, lambda: {}),
    "lesson04.check_honest_gold": NeverRaises(lesson04.check_honest_gold),
    "lesson04.check_sqrt_gain_kl": NeverRaises(lesson04.check_sqrt_gain_kl),
    "lesson04.check_bon_match": NeverRaises(lesson04.check_bon_match),
    "lesson04.check_rounded_bon_kl": NeverRaises(lesson04.check_rounded_bon_kl),
    # ---- lesson 5
    "controllers.FixedKLController": [
        Raises(controllers.FixedKLController, lambda: {"kl_coef": 0.0}, {"kl_coef": NONNEGATIVE}),
        Raises(_fixed_update, lambda: {}, {"current": NUMBER, "n_steps": COUNT}),
    ],
    "controllers.AdaptiveKLController": [
        Raises(controllers.AdaptiveKLController,
               lambda: {"init_kl_coef": 0.1, "target": 1.0, "horizon": 1000.0, "bounds": (0.01, 10.0)},
               {"init_kl_coef": POSITIVE + [lambda: 100.0], "target": POSITIVE, "horizon": POSITIVE,
                "bounds": BOUNDS_BAD}, names={"init_kl_coef": "init_kl_coef"}),
        Raises(_adaptive_update, lambda: {}, {"current": NUMBER, "n_steps": COUNT + [lambda: 20_000]}),
    ],
    "controllers.ThresholdKLController": [
        Raises(controllers.ThresholdKLController,
               lambda: {"init_kl_coef": 0.1, "target": 0.02, "factor": 1.5, "bounds": (0.01, 1.0)},
               {"init_kl_coef": POSITIVE, "target": POSITIVE, "factor": POSITIVE + [lambda: 1.0],
                "bounds": BOUNDS_BAD}),
        Raises(_threshold_update, lambda: {}, {"current": NUMBER, "n_steps": COUNT}),
    ],
    "plant.equilibrium_kl": Raises(plant.equilibrium_kl, lambda: {"beta": 0.5, "betas": _toy_table()[0],
                                                                  "kls": _toy_table()[1]},
                                   {"beta": POSITIVE, "betas": SERIES + [lambda: [0.1, 0.1, 1, 2]],
                                    "kls": SERIES + [lambda: [1, 0, 1, 1]]}),
    "plant.equilibrium_beta": Raises(plant.equilibrium_beta, lambda: {"kl": 0.5, "betas": _toy_table()[0],
                                                                      "kls": _toy_table()[1]},
                                     {"kl": POSITIVE, "betas": SERIES, "kls": SERIES + [lambda: [1, 2, 3, 4]]}),
    "plant.KLPlant": [
        Raises(plant.KLPlant, lambda: {"betas": _toy_table()[0], "kls": _toy_table()[1], "lag": 0.75, "noise": 0.0,
                                       "batch_size": 8, "seed": 3, "kl0": 0.0},
               {"betas": SERIES, "kls": SERIES, "lag": POSITIVE + [lambda: 0.5, lambda: 0.3, lambda: 0.01],
                "noise": NONNEGATIVE, "batch_size": COUNT, "seed": COUNT, "kl0": NONNEGATIVE}),
        Raises(_plant_step, lambda: {}, {"beta": NONNEGATIVE}),
        Raises(_plant_equilibrium, lambda: {"beta": 0.0}, {"beta": NONNEGATIVE}),
    ],
    "plant.simulate_control": Raises(
        plant.simulate_control,
        lambda: {"controller": controllers.AdaptiveKLController(0.1, 0.5, 1000), "plant": _plant(), "n_steps": 20,
                 "target": 0.5, "faults": {3: -1.0}, "skip_invalid": True, "reading_scale": 1.0},
        {"controller": [lambda: None, lambda: 3, lambda: "c"], "plant": [lambda: None, lambda: "plant"],
         "n_steps": COUNT, "target": [lambda: [0.5] * 3, lambda: -1.0, lambda: "0.5", lambda: [None] * 20],
         "faults": [lambda: {-1: 0.0}, lambda: {2.5: 0.0}, lambda: {0: "x"}, lambda: {10**400: 1.0}, lambda: 5,
                    lambda: [(3, 1.0)], lambda: "3", lambda: {20: 0.0}],
         "skip_invalid": [lambda: "yes", lambda: None], "reading_scale": POSITIVE}),
    "plant.control_metrics": Raises(
        plant.control_metrics, lambda: {"run": _run(), "band": 0.1, "start": 2},
        {"run": [lambda: None, lambda: {}, lambda: [1, 2],
                 lambda: {**_run(), "beta": _run()["beta"][:5]}, lambda: {**_run(), "kl_true": [None] * 40}],
         "band": NUMBER + [lambda: 0.0, lambda: 1.0], "start": COUNT + [lambda: 39]}),
    "plant.KLController": Record(),
    "plant.ControlExperiment": Record(),
    "monitor.metric_series": Raises(monitor.metric_series, lambda: {"values": KL_SERIES, "name": "kl"},
                                    {"values": SERIES}, names={"values": "kl"}),
    "monitor.nonfinite": Raises(monitor.nonfinite, lambda: {"values": KL_SERIES, "name": "kl"},
                                {"values": SERIES[:6] + SERIES[7:], "name": [lambda: None, lambda: 3]},
                                names={"values": "kl"}),
    "monitor.kl_unbounded": Raises(monitor.kl_unbounded, lambda: {"kl_mean": KL_SERIES, "window": 12, "min_t": 3.0},
                                   {"kl_mean": SERIES, "window": WINDOW + [lambda: 5], "min_t": POSITIVE,
                                    "min_relative_rise": NONNEGATIVE}),
    "monitor.kl_negative": Raises(monitor.kl_negative, lambda: {"kl_mean": KL_SERIES, "patience": 3},
                                  {"kl_mean": SERIES, "patience": COUNT}),
    "monitor.kl_spikes": Raises(monitor.kl_spikes, lambda: {"kl_max": [2 * x for x in KL_SERIES], "kl_mean": KL_SERIES},
                                {"kl_max": SERIES + [lambda: KL_SERIES[:-1]], "kl_mean": SERIES,
                                 "ratio": POSITIVE + [lambda: 1.0], "window": COUNT},
                                names={"kl_max": "kl_m"}),
    "monitor.reward_up_entropy_down": Raises(
        monitor.reward_up_entropy_down, lambda: {"reward": KL_SERIES, "entropy": KL_SERIES[::-1]},
        {"reward": SERIES + [lambda: KL_SERIES[:-1]], "entropy": SERIES, "window": WINDOW,
         "drop": POSITIVE + [lambda: 1.0]}, names={"reward": "e"}),
    "monitor.kl_starts_high": Raises(monitor.kl_starts_high, lambda: {"kl_mean": KL_SERIES},
                                     {"kl_mean": SERIES, "ratio": POSITIVE, "floor": NONNEGATIVE}),
    "monitor.kl_resets": Raises(monitor.kl_resets, lambda: {"kl_mean": KL_SERIES},
                                {"kl_mean": SERIES, "drop": POSITIVE + [lambda: 1.0], "level": NONNEGATIVE,
                                 "min_resets": COUNT + [lambda: 1]}),
    "monitor.no_learning_signal": Raises(monitor.no_learning_signal, lambda: {"frac_zero_std": [0.0, 0.5, 1.0]},
                                         {"frac_zero_std": SERIES, "level": POSITIVE + [lambda: 1.5],
                                          "window": WINDOW}, names={"frac_zero_std": "frac_reward_zero_std"}),
    "monitor.health_report": Raises(monitor.health_report, lambda: {"metrics": {"kl_mean": KL_SERIES}},
                                    {"metrics": [lambda: None, lambda: [1.0, 2.0], lambda: "kl_mean",
                                                 lambda: {"kl_mean": [None] * 5}]},
                                    names={"metrics": "m"}),
    "monitor.HealthWarning": Record(),
    # ---- lesson 10's log reader; its readings are checked against the trainers' formulas in test_run_logs.py
    "run_logs.parse_log_text": Raises(
        run_logs.parse_log_text, lambda: {"text": RUN_LOG},
        {"text": [lambda: None, lambda: 3, lambda: "", lambda: "no metrics here", lambda: '{"log_history": 1}'],
         "trainer": [lambda: "ppo", lambda: 3], "name": [lambda: 3, lambda: None]}),
    "run_logs.read_log": Raises(run_logs.read_log, lambda: {"path": _run_log_file()},
                                {"path": [lambda: None, lambda: 3, lambda: "/no/such/run.log"],
                                 "trainer": [lambda: "ppo"]}),
    "run_logs.check_run": Raises(run_logs.check_run, lambda: {"run": run_logs.parse_log_text(RUN_LOG)},
                                 {"run": [lambda: None, lambda: {"kl_mean": KL_SERIES}, lambda: RUN_LOG]}),
    "run_logs.format_report": Raises(
        run_logs.format_report, lambda: {"run": run_logs.parse_log_text(RUN_LOG)},
        {"run": [lambda: None, lambda: RUN_LOG], "warnings": [lambda: [1], lambda: ["kl_negative"]]}, finite=False),
    "run_logs.main": Raises(run_logs.main, lambda: {"argv": [_run_log_file()]},
                            {"argv": [lambda: _run_log_file(), lambda: [1], lambda: 3]}),
    "run_logs.KeyMeaning": Record(),
    "run_logs.RunLog": Record(),
    "lesson05.check_update_by_hand": NeverRaises(lambda a: lesson05.check_update_by_hand(a, a)),
    "lesson05.check_horizon": NeverRaises(lesson05.check_horizon),
    "lesson05.check_units_fix": NeverRaises(
        lambda a: lesson05.check_units_fix(a, a) + lesson05.check_units_fix(0.5, a)),  # the odd answer in either place
    "lesson05.check_kl_stuck_low": NeverRaises(lesson05.check_kl_stuck_low),
    # ---- lesson 6 (the parts owned here; tinylm and rlhf are listed in PENDING)
    "reward_models.upbeat_count": Raises(reward_models.upbeat_count, lambda: {"text": "great!"},
                                         {"text": [lambda: None, lambda: 3, lambda: ["a"]]}),
    "reward_models.proxy_reward": Raises(reward_models.proxy_reward, lambda: {"texts": ["great!", "ok"]},
                                         {"texts": TEXTS}),
    "reward_models.CharTrigramJudge": [
        Raises(reward_models.CharTrigramJudge, lambda: {"alphabet": "ab", "k": 0.1},
               {"alphabet": [lambda: "", lambda: None, lambda: 3], "k": POSITIVE}),
        Raises(_judge_fit, lambda: {}, {"sentences": TEXTS, "alphabet": [lambda: "", lambda: None],
                                        "k": POSITIVE}),
    ],
    "reward_models.default_judge": Raises(reward_models.default_judge, lambda: {"alphabet": "abc"},
                                          {"alphabet": [lambda: "", lambda: None]}),
    "reward_models.gold_reward": Raises(reward_models.gold_reward,
                                        lambda: {"texts": ["a cat"], "judge": _judge_fit()},
                                        {"texts": TEXTS, "judge": [lambda: None, lambda: "judge"]}),
    "corpus.generate_corpus": Raises(corpus.generate_corpus, lambda: {"n_sentences": 3, "seed": 1},
                                     {"n_sentences": COUNT, "seed": COUNT}, finite=False),
    "reward_models.question_reward": Raises(reward_models.question_reward,
                                            lambda: {"texts": ["did the cat see the red ball?", "ok"]}, {"texts": TEXTS}),
    "reward_models.solved_question": Raises(reward_models.solved_question, lambda: {"text": "did the cat see the red ball?"},
                                            {"text": [lambda: None, lambda: 3, lambda: ["a"]]}, finite=False),
    "corpus.questions": Raises(corpus.questions, lambda: {}, {}, finite=False),
    "style.alt_text": Raises(style.alt_text, lambda: {"cell_source": "#| alt: a line that rises\nplt.show()"},
                             {"cell_source": [lambda: None, lambda: 3, lambda: b"#| alt: bytes"]}, finite=False),
    "reward_models.question_mark_reward": Raises(reward_models.question_mark_reward,
                                                 lambda: {"texts": ["did the cat see the red ball?", "ok"]},
                                                 {"texts": TEXTS}),
    "reward_models.answer_spread": Raises(reward_models.answer_spread,
                                          lambda: {"model": SMALL_LM, "vocab": VOCAB, "n": 3, "length": 4},
                                          {"model": MODELS_BAD, "vocab": [lambda: None], "n": COUNT, "length": COUNT,
                                           "seed": COUNT}),
    # ---- lesson 8 self-checks: any answer gets a message, never an exception
    "lesson08.check_dpo_constant": NeverRaises(lesson08.check_dpo_constant),
    "lesson08.check_matching_entropy_bonus": NeverRaises(lesson08.check_matching_entropy_bonus),
    "lesson08.check_cross_entropy": NeverRaises(lesson08.check_cross_entropy),
    "lesson08.check_reset_run": NeverRaises(lesson08.check_reset_run),
    "lesson08.dpo_constant": Raises(lesson08.dpo_constant, lambda: {"beta": 0.3}, {"beta": POSITIVE}),
    "lesson08.matching_entropy_bonus": Raises(lesson08.matching_entropy_bonus, lambda: {}, {}),
    "corpus.load_sentences": Raises(corpus.load_sentences, lambda: {"split": "heldout"},
                                    {"split": choice()}, finite=False),
    "lesson06.check_full_kl": NeverRaises(lesson06.check_full_kl),
    "tinylm.set_determinism": Raises(lambda seed=0, threads=torch.get_num_threads(): tinylm.set_determinism(seed, threads),
                                     lambda: {}, {"seed": COUNT, "threads": COUNT + [lambda: 0]}, finite=False),
    "tinylm.CharVocab": [
        Raises(tinylm.CharVocab, lambda: {"chars": "\nab"}, {"chars": [lambda: "", lambda: None, lambda: "aa"]},
               finite=False),
        Raises(_vocab_encode, lambda: {}, {"text": [lambda: None, lambda: "xyz", lambda: 3]}),
        Raises(_vocab_decode, lambda: {}, {"tokens": [f for f in TOKENS_BAD if f() is not None]}, finite=False),
    ],
    "tinylm.check_model": Raises(tinylm.check_model, lambda: {"model": SMALL_LM, "vocab": VOCAB},
                                 {"model": MODELS_BAD, "vocab": [lambda: None, lambda: "ab "]}, finite=False),
    "tinylm.TinyLM": Raises(tinylm.TinyLM, lambda: {"vocab_size": 3, "embed_dim": 2, "hidden_dim": 2},
                            {"vocab_size": COUNT, "embed_dim": COUNT, "hidden_dim": COUNT,
                             "dtype": [lambda: "float64", lambda: torch.int64]}, finite=False),
    "tinylm.Rollout": Record(),
    "tinylm.sample": Raises(_rollout, lambda: {},
                            {"model": MODELS_BAD, "vocab": [lambda: None, lambda: "ab"], "batch_size": COUNT,
                             "length": COUNT + [lambda: 10**9], "generator": [lambda: None, lambda: 0],
                             "temperature": POSITIVE, "banned": [lambda: 5, lambda: "Z@", lambda: VOCAB.chars]}),
    "tinylm.score": Raises(tinylm.score, lambda: {"model": SMALL_LM, "vocab": VOCAB, "tokens": torch.tensor([[0, 1]])},
                           {"model": MODELS_BAD, "vocab": [lambda: None], "tokens": TOKENS_BAD}),
    "tinylm.pretrain": Raises(_pretrain_losses, lambda: {},
                              {"steps": COUNT, "batch_size": COUNT, "window": COUNT + [lambda: 50_000],
                               "lr": POSITIVE, "seed": COUNT, "cache": [lambda: 1, lambda: "yes", lambda: None],
                               "progress": [lambda: 1, lambda: "no", lambda: None]}),
    "rlhf.distinct_n": Raises(rlhf.distinct_n, lambda: {"texts": ["a b", "a c"], "n": 2},
                              {"texts": [lambda: "a b", lambda: [1, 2]], "n": COUNT}),
    "rlhf.train": Raises(_train_metrics, lambda: {},
                         {"reference": MODELS_BAD, "vocab": [lambda: None], "controller": CONTROLLERS_BAD,
                          "judge": [lambda: None], "steps": COUNT, "batch_size": COUNT, "length": COUNT,
                          "lr": POSITIVE, "estimator": choice(), "seed": COUNT, "n_samples": COUNT,
                          "sample_at": [lambda: "1", lambda: [0.5], lambda: 3], "reward_fn": [lambda: None],
                          "entropy_bonus": NONNEGATIVE, "track_step_kl": [lambda: 1, lambda: "yes"],
                          "reset_reference_every": [f for f in COUNT if f() is not None],  # None: no resets
                          "sampler": [lambda: None, lambda: "sample"]}),
    "rlhf.RLHFRun": Record(),
    # ---- lesson 10 (the casebook; its runs are checked in tests/test_casebook_seed_*.py)
    "casebook.Case": Record(),
    "casebook.case": Raises(casebook.case, lambda: {"name": "healthy"}, {"name": [lambda: "nope", lambda: None]},
                            finite=False),
    "casebook.trace_text": Raises(casebook.trace_text, lambda: {"name": "no_signal"}, {"name": [lambda: 3]},
                                  finite=False),
    "casebook.read_case": Raises(casebook.read_case, lambda: {"name": "per_token_units"},
                                 {"name": [lambda: ""], "text": [lambda: "", lambda: 5]}, finite=False),
    "casebook.diagnose": Raises(casebook.diagnose, lambda: {"name": "healthy"},
                                {"name": [lambda: "x"], "text": [lambda: " "]}, finite=False),
    "run_logs.averaged_first_row": NeverRaises(lambda a: str(run_logs.averaged_first_row(np.array([1.0, 2.0])))),
    "run_logs.reading_rules": NeverRaises(lambda a: str(sorted(run_logs.reading_rules()))),
    "run_logs.late_level": Raises(run_logs.late_level, lambda: {"values": [1.0, 2.0, 3.0]},
                                  {"values": [lambda: None, lambda: "1 2", lambda: [[1.0]]]}, finite=False),
    "lesson10.check_case": NeverRaises(lambda a: lesson10.check_case("negative_kl", a, a)),
    "lesson10.expected": Raises(lesson10.expected, lambda: {"name": "reference_sync"},
                                {"name": [lambda: "healthy", lambda: "nope", lambda: 3]}),
    "lesson10.Question": Record(),
    "casebook.make_trace": Raises(casebook.make_trace, lambda: {"name": "per_token_units"},
                                  {"name": [lambda: "x", lambda: None], "seed": COUNT}, finite=False),
    "rlhf.KLController": Record(),
    "lesson06.check_shout_threshold": NeverRaises(lambda a: lesson06.check_shout_threshold(a, a)),
    "lesson06.check_beta_step_limit": NeverRaises(lesson06.check_beta_step_limit),
    # ---- lesson 8 (DPO on lesson 4's toy)
    "dpo.sample_preference_pairs": Raises(
        dpo.sample_preference_pairs, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5], "n_pairs": 8, "seed": 0},
        {"ref_probs": probs_like((3,)) + [lambda: [0.5, 0.5, 0.0]], "rewards": tensor_like((3,)) + [lambda: [1.0]],
         "n_pairs": COUNT, "seed": COUNT}),
    "dpo.empirical_pair_weights": Raises(
        dpo.empirical_pair_weights, lambda: {"chosen": [0, 2], "rejected": [1, 1], "num_responses": 3},
        {"chosen": tensor_like((2,)) + [lambda: [3, 0], lambda: [0.5, 1.0], lambda: torch.tensor([True, False])],
         "rejected": tensor_like((2,)) + [lambda: [-1, 0], lambda: [1], lambda: [[1], [1]]],
         "num_responses": COUNT + [lambda: 0]}),
    "dpo.exact_pair_weights": Raises(
        dpo.exact_pair_weights, lambda: {"ref_probs": REF3, "rewards": [1.0, 0.0, 0.5]},
        {"ref_probs": probs_like((3,)) + DPO_REF_BAD, "rewards": tensor_like((3,)) + [lambda: [[1.0, 0.0, 0.5]]]}),
    "dpo.dpo_objective": Raises(
        dpo.dpo_objective, lambda: {"logits": LOGITS, "ref_probs": REF3, "pair_weights": PAIR_W, "beta": 0.1},
        {"logits": tensor_like((3,)) + [lambda: [0.0, 1.0]], "ref_probs": probs_like((3,)) + DPO_REF_BAD,
         "pair_weights": tensor_like((3, 3)) + [lambda: -PAIR_W, lambda: torch.zeros(3, 3), lambda: PAIR_W[:2]],
         "beta": POSITIVE}),
    "dpo.fit_dpo": Raises(
        dpo.fit_dpo, lambda: {"ref_probs": REF3, "pair_weights": PAIR_W, "beta": 0.5, "max_iter": 5},
        {"ref_probs": probs_like((3,)) + DPO_REF_BAD, "pair_weights": tensor_like((3, 3)) + [lambda: -PAIR_W],
         "beta": POSITIVE, "init_logits": tensor_like((3,)) + [lambda: [0.0], lambda: [math.inf] * 3],
         "max_iter": COUNT, "tolerance": POSITIVE}),
    "dpo.implicit_reward": Raises(
        dpo.implicit_reward, lambda: {"policy": [0.5, 0.25, 0.25], "ref_probs": REF3, "beta": 0.1},
        {"policy": probs_like((3,)) + [lambda: [0.5, 0.5]], "ref_probs": probs_like((3,)) + DPO_REF_BAD,
         "beta": POSITIVE}),
    "dpo.PreferencePairs": Record(),
    "dpo.DPOFit": Record(),
    "dpo.DPOObjective": Record(),
    # ---- lesson 2's batch spread and lesson 3's batch
    "batch_spread.single_token_sd": Raises(
        batch_spread.single_token_sd, lambda: {"logits": CAT_LOGITS, "ref_logits": CAT_REF},
        {"logits": tensor_like((8,)) + [lambda: [0.0]], "ref_logits": tensor_like((8,)) + [lambda: [0.0] * 7]}),
    "batch_spread.simulate_batch_means": Raises(
        batch_spread.simulate_batch_means,
        lambda: {"logits": CAT_LOGITS, "ref_logits": CAT_REF, "sample_size": 16, "num_batches": 10, "seed": 0},
        {"logits": tensor_like((8,)), "ref_logits": tensor_like((8,)), "sample_size": COUNT,
         "num_batches": COUNT + [lambda: 10**9], "seed": COUNT}),
    "response_batch.cafe_review_batch": Raises(response_batch.cafe_review_batch, lambda: {}),
    "response_batch.ResponseBatch": Record(),
    # ---- lesson 7
    "toy_sequences.SequenceSpace": Record(),
    "toy_sequences.JackpotToy": [
        Record(),
        Raises(_toy_policy, lambda: {}, {"drift": NONNEGATIVE}),
    ],
    "toy_sequences.sequence_space": Raises(
        toy_sequences.sequence_space, lambda: {"vocab_size": 2, "length": 2},
        {"vocab_size": COUNT + [lambda: 1, lambda: 4097], "length": COUNT + [lambda: 0, lambda: 13, lambda: 10**6]},
        finite=False),
    "toy_sequences.check_logits": Raises(toy_sequences.check_logits, lambda: {"logits": TABLE, "space": SPACE},
                                         {"logits": TABLES_BAD, "space": SPACES_BAD}),
    "toy_sequences.token_logprobs": Raises(toy_sequences.token_logprobs, lambda: {"logits": TABLE, "space": SPACE},
                                           {"logits": TABLES_BAD, "space": SPACES_BAD}),
    "toy_sequences.sequence_probs": Raises(toy_sequences.sequence_probs, lambda: {"logits": TABLE, "space": SPACE},
                                           {"logits": TABLES_BAD, "space": SPACES_BAD}),
    "toy_sequences.prefix_probs": Raises(toy_sequences.prefix_probs, lambda: {"logits": TABLE, "space": SPACE},
                                         {"logits": TABLES_BAD, "space": SPACES_BAD}),
    "toy_sequences.sequence_kl": Raises(
        toy_sequences.sequence_kl, lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD}),
    "toy_sequences.exact_kl_gradient": Raises(
        toy_sequences.exact_kl_gradient, lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "direction": choice()}),
    "toy_sequences.random_logits": Raises(toy_sequences.random_logits, lambda: {"space": SPACE, "scale": 0.5, "seed": 3},
                                          {"space": SPACES_BAD, "scale": NONNEGATIVE, "seed": COUNT}),
    "toy_sequences.reward_gradient": Raises(
        toy_sequences.reward_gradient, lambda: {"logits": TABLE, "space": SPACE, "rewards": R4},
        {"logits": TABLES_BAD, "space": SPACES_BAD, "rewards": tensor_like((4,)) + [lambda: R4[:3]]}),
    "toy_sequences.rewards_vector": Raises(toy_sequences.rewards_vector, lambda: {"rewards": R4, "space": SPACE},
                                           {"rewards": tensor_like((4,)) + [lambda: [R4]], "space": SPACES_BAD}),
    "toy_sequences.tilted_sequence_policy": Raises(
        toy_sequences.tilted_sequence_policy, lambda: {"ref_logits": REF_TABLE, "space": SPACE, "rewards": R4, "beta": 0.5},
        {"ref_logits": TABLES_BAD, "space": SPACES_BAD, "rewards": tensor_like((4,)), "beta": POSITIVE}),
    "toy_sequences.myopic_optimum": Raises(
        toy_sequences.myopic_optimum, lambda: {"ref_logits": REF_TABLE, "space": SPACE, "rewards": R4, "beta": 0.5},
        {"ref_logits": TABLES_BAD, "space": SPACES_BAD, "rewards": tensor_like((4,)), "beta": POSITIVE}),
    "toy_sequences.jackpot_toy": Raises(
        toy_sequences.jackpot_toy, lambda: {"vocab_size": 2, "length": 2, "seed": 5},
        {"vocab_size": COUNT + [lambda: 1, lambda: 9], "length": COUNT + [lambda: 0],
         "seed": COUNT + [lambda: 2**63 - 1]}),
    "toy_sequences.random_rewards": Raises(
        toy_sequences.random_rewards, lambda: {"space": SPACE, "kind": "bernoulli", "seed": 4},
        {"space": SPACES_BAD, "kind": choice(), "seed": COUNT}),
    "toy_sequences.myopic_kl_ratios": Raises(
        toy_sequences.myopic_kl_ratios, lambda: {"kind": "gaussian", "n_toys": 2, "beta": 0.5, "vocab_size": 2,
                                                 "length": 2, "seed": 3},
        {"kind": choice(), "n_toys": COUNT, "beta": POSITIVE, "vocab_size": COUNT + [lambda: 1],
         "length": COUNT + [lambda: 0], "seed": COUNT}),
    "kl_gradients.off_policy_winners": Raises(
        kl_gradients.off_policy_winners, lambda: {"length": 2, "n_toys": 2, "vocab_size": 2, "old_scale": 0.5, "seed": 1},
        {"length": COUNT + [lambda: 0], "n_toys": COUNT, "vocab_size": COUNT + [lambda: 1], "old_scale": NONNEGATIVE,
         "seed": COUNT}, finite=False),
    "kl_gradients.check_recipe": Raises(kl_gradients.check_recipe, lambda: {"recipe": "k2_loss"},
                                        {"recipe": RECIPES_BAD}, finite=False),
    "kl_gradients.response_gradients": Raises(
        _grads, lambda: {}, {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD,
                             "recipe": RECIPES_BAD, "old_logits": TABLES_BAD}),
    "kl_gradients.expected_gradient": Raises(
        kl_gradients.expected_gradient,
        lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE, "recipe": "k1_reward_rtg", "old_logits": TABLE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "recipe": RECIPES_BAD,
         "old_logits": TABLES_BAD}),
    "kl_gradients.gradient_variance": Raises(
        kl_gradients.gradient_variance,
        lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE, "recipe": "k2_loss"},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "recipe": RECIPES_BAD,
         "old_logits": TABLES_BAD}),
    "kl_gradients.sampling_probs": Raises(
        kl_gradients.sampling_probs, lambda: {"logits": TABLE, "space": SPACE, "old_logits": REF_TABLE},
        {"logits": TABLES_BAD, "space": SPACES_BAD, "old_logits": TABLES_BAD}),
    "kl_gradients.sample_responses": Raises(
        kl_gradients.sample_responses, lambda: {"probs": [0.2, 0.3, 0.5], "n": 5, "seed": 1},
        {"probs": tensor_like((3,)) + [lambda: [0.0, 0.0], lambda: [-0.5, 1.5], lambda: [[0.5, 0.5]]],
         "n": COUNT + [lambda: 10**9], "seed": COUNT}),
    "kl_gradients.sampled_gradients": Raises(
        kl_gradients.sampled_gradients,
        lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE, "recipe": "k3_ratio_loss", "n": 3,
                 "old_logits": REF_TABLE, "seed": 2},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "recipe": RECIPES_BAD, "n": COUNT,
         "old_logits": TABLES_BAD, "seed": COUNT}),
    "kl_gradients.bias_metrics": Raises(
        kl_gradients.bias_metrics, lambda: {"estimate": [1.0, 2.0], "exact": [1.0, 1.5]},
        {"estimate": tensor_like((2,)) + [lambda: [1.0]], "exact": tensor_like((2,)) + [lambda: [0.0, 0.0]]}),
    "kl_gradients.local_kl_gradient": Raises(
        kl_gradients.local_kl_gradient, lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "weights_logits": TABLES_BAD}),
    "kl_gradients.local_forward_kl_gradient": Raises(
        kl_gradients.local_forward_kl_gradient,
        lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE, "weights_logits": REF_TABLE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD, "weights_logits": TABLES_BAD}),
    "kl_gradients.follow_recipe": Raises(
        kl_gradients.follow_recipe,
        lambda: {"ref_logits": REF_TABLE, "space": SPACE, "rewards": R4, "beta": 0.5, "recipe": "k2_loss", "steps": 3},
        {"ref_logits": TABLES_BAD, "space": SPACES_BAD, "rewards": tensor_like((4,)), "beta": POSITIVE,
         "recipe": RECIPES_BAD, "steps": COUNT, "lr": POSITIVE}),
    "lesson07.check_exact_recipe": NeverRaises(lesson07.check_exact_recipe),
    "lesson07.check_sequence_k2_gradient": NeverRaises(lesson07.check_sequence_k2_gradient),
    "lesson07.answer_repr": NeverRaises(lesson07.answer_repr),
    "lesson07.check_one_token_k3": NeverRaises(lesson07.check_one_token_k3),
    "lesson07.k3_landing_kl": Raises(lesson07.k3_landing_kl, lambda: {}),
    "lesson07.check_k3_landing": NeverRaises(lesson07.check_k3_landing),
    "lesson07.check_ratio_weights": NeverRaises(lesson07.check_ratio_weights),
    # ---- the practice map (β in practice); its claims are checked in test_practice_map.py
    "practice_map.Claim": Record(),
    "practice_map.PracticeRow": Record(),
    "practice_map.render_table": Raises(
        practice_map.render_table, lambda: {"rows": practice_map.PRACTICE_MAP[:2]},
        {"rows": [lambda: None, lambda: "rows", lambda: (), lambda: [1, 2], lambda: {"a": 1}]}, finite=False),
    "practice_map.follows_metrics": Raises(
        practice_map.follows_metrics, lambda: {"recipe": "k3_loss", "seed": 1, "vocab_size": 2, "length": 2},
        {"recipe": choice(), "seed": COUNT, "vocab_size": COUNT + [lambda: 1, lambda: 70],
         "length": COUNT + [lambda: 1, lambda: 20], "drift": NONNEGATIVE}),
    "practice_map.gradient_follows": Raises(
        practice_map.gradient_follows, lambda: {"recipe": "k2_loss", "seed": 0, "vocab_size": 2, "length": 2},
        {"recipe": choice(), "seed": COUNT, "vocab_size": COUNT, "length": COUNT, "drift": NONNEGATIVE,
         "tolerance": POSITIVE}, finite=False),
    "practice_map.TrainerClaim": Record(),
    "practice_map.TrainerFact": Record(),
    "practice_map.gradient_targets": Raises(
        practice_map.gradient_targets, lambda: {"logits": TABLE, "ref_logits": REF_TABLE, "space": SPACE},
        {"logits": TABLES_BAD, "ref_logits": TABLES_BAD, "space": SPACES_BAD}),
    "practice_map.render_trainer_table": Raises(practice_map.render_trainer_table, lambda: {}, finite=False),
    "practice_map.render_keys_table": Raises(practice_map.render_keys_table, lambda: {}, finite=False),
    "practice_map.setting": Raises(
        practice_map.setting, lambda: {"name": "GRPOConfig.beta"},
        {"name": [lambda: "--init_kl_coef", lambda: None, lambda: 1, lambda: "kl"]}, finite=False),
    "practice_map.dpo_follows": Raises(practice_map.dpo_follows, lambda: {"beta": 0.5},
                                       {"beta": POSITIVE, "tolerance": POSITIVE}, finite=False),
}

#: Modules whose public names are under contract here: every public function and class
#: they define must have an entry in CONTRACTS.
COVERED = {
    "kl_lessons.controllers", "kl_lessons.corpus", "kl_lessons.divergence", "kl_lessons.estimators",
    "kl_lessons.kl_in_loss", "kl_lessons.mode_seeking", "kl_lessons.monitor", "kl_lessons.optimum",
    "kl_lessons.plant", "kl_lessons.reward_models", "kl_lessons.sampling", "kl_lessons.shaped_reward",
    "kl_lessons.toy_responses", "kl_lessons.self_checks.lesson01", "kl_lessons.self_checks.lesson02",
    "kl_lessons.self_checks.lesson03", "kl_lessons.self_checks.lesson04", "kl_lessons.self_checks.lesson05",
    "kl_lessons.self_checks.lesson06", "kl_lessons.self_checks", "kl_lessons.tinylm", "kl_lessons.rlhf",
    "kl_lessons.dpo", "kl_lessons.practice_map", "kl_lessons.self_checks.lesson08", "kl_lessons.style",
    "kl_lessons.policy_gradient", "kl_lessons.run_logs",
    "kl_lessons.batch_spread", "kl_lessons.response_batch", "kl_lessons.kl_gradients", "kl_lessons.toy_sequences",
    "kl_lessons.self_checks.lesson07", "kl_lessons.casebook", "kl_lessons.self_checks.lesson10",
}
#: Modules not (yet) under this contract, each with the reason. A new module must go in one of the two sets.
PENDING = {
    "kl_lessons._validate": "the contract's own converters, tested through every function above",
    "kl_lessons._cache": "the pretraining cache folder and its lock, tested through pretrain and pretrain_hf",
    "kl_lessons.types": "type aliases only",
    "kl_lessons.web_widgets": "widgets (UI), no numerical contract",
    "kl_lessons.explorer_state": "explorer state for the web widgets (a state module), tested with them",
    "kl_lessons.lessons": "the lesson registry (data), checked by the lesson-keyed tests",
    "kl_lessons.hf_tiny": "new module (lesson 9), not yet under contract",
    "kl_lessons.trl_run": "new module (lesson 9), not yet under contract",
    "kl_lessons.self_checks.lesson09": "lesson 9 self-checks, new, not yet under contract",
}


def _public_api() -> dict[str, set[str]]:
    """Every module of the package and the public functions and classes it defines."""
    api: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(kl_lessons.__path__, "kl_lessons."):
        module = importlib.import_module(info.name)
        api[info.name] = {
            name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__
        }
    return api


def _key(module: str, name: str) -> str:
    return f"{module.rsplit('.', 1)[-1]}.{name}"


def test_every_public_function_has_a_contract() -> None:
    api = _public_api()
    unplaced = sorted(m for m in api if m not in COVERED and not any(m == p or m.startswith(p + ".") for p in PENDING))
    assert not unplaced, f"new modules: put them in COVERED (with contracts) or PENDING (with a reason): {unplaced}"
    wanted = {_key(m, n) for m in COVERED for n in api[m]}
    missing, stale = sorted(wanted - CONTRACTS.keys()), sorted(CONTRACTS.keys() - wanted)
    assert not missing, f"public names without a contract test: {missing}"
    assert not stale, f"contracts for names that no longer exist: {stale}"


def _raises_cases() -> list[tuple[str, Raises]]:
    out = []
    for key, spec in CONTRACTS.items():
        for i, case in enumerate(spec if isinstance(spec, list) else [spec]):
            if isinstance(case, Raises):
                out.append((f"{key}[{i}]", case))
    return out


RAISES = _raises_cases()


@pytest.mark.parametrize("case", [c for _, c in RAISES], ids=[k for k, _ in RAISES])
def test_bad_inputs_raise_value_error_naming_the_argument(case: Raises) -> None:
    problems = []
    for arg, factories in case.bad.items():
        for make in factories:
            kwargs = case.valid()
            kwargs[arg] = bad = make()
            shown = repr(bad)[:60]
            try:
                case.call(**kwargs)
            except ValueError as err:
                if case.names.get(arg, arg) not in str(err):
                    problems.append(f"{arg}={shown}: message does not name it: {err}")
            except Exception as err:  # noqa: BLE001 - the point is to catch every other escape
                problems.append(f"{arg}={shown}: {type(err).__name__}: {err}")
            else:
                problems.append(f"{arg}={shown}: accepted")
    assert not problems, "\n".join(problems)


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (float, int, np.floating, np.ndarray)) and not isinstance(x, bool):
        return [x]
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    if hasattr(x, "__dataclass_fields__"):
        return [leaf for name in x.__dataclass_fields__ for leaf in _leaves(getattr(x, name))]
    return []


def _snapshot(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    try:
        return copy.deepcopy(x)
    except TypeError:
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a.detach(), b) or bool(torch.isnan(b).any())
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return b is None or not hasattr(a, "__eq__") or a == b or type(a).__eq__ is object.__eq__


@pytest.mark.parametrize("case", [c for _, c in RAISES], ids=[k for k, _ in RAISES])
def test_valid_inputs_give_finite_results_and_are_not_mutated(case: Raises) -> None:
    kwargs = case.valid()
    before = {k: _snapshot(v) for k, v in kwargs.items()}
    out = case.call(**kwargs)
    for k, v in kwargs.items():
        assert _same(v, before[k]), f"{k} was mutated"
    if case.finite:
        for leaf in _leaves(out):
            values = leaf.detach().numpy() if isinstance(leaf, torch.Tensor) else np.asarray(leaf, dtype=np.float64)
            assert np.isfinite(values).all(), f"non-finite result: {out!r}"


WEIRD_ANSWERS = [None, 10**400, -(10**400), math.nan, math.inf, -1.0, 0.0, 1e-320, 1e308, "abc", "0.1", [1.0],
                 {}, 1 + 2j, True, torch.tensor([1.0, 2.0]), object(), lambda *a: 1 / 0, lambda *a: "x",
                 lambda *a: 10**400, lambda *a: a[0]]


@pytest.mark.parametrize("key", [k for k, v in CONTRACTS.items() if isinstance(v, NeverRaises)])
def test_self_checks_never_raise(key: str) -> None:
    check = CONTRACTS[key].call
    for answer in WEIRD_ANSWERS:
        message = check(answer)
        assert isinstance(message, str) and message, (key, answer)


# ----------------------------------------------------------------------------- independent agreement
def _simplex(draw: Any, shape: tuple[int, ...]) -> torch.Tensor:
    raw = draw(st.lists(st.floats(0.01, 1.0), min_size=math.prod(shape), max_size=math.prod(shape)))
    t = torch.tensor(raw, dtype=F64).reshape(shape)
    return t / t.sum(0, keepdim=True)


@st.composite
def _columns_and_vector(draw: Any) -> tuple[torch.Tensor, torch.Tensor]:
    k, b = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    return _simplex(draw, (k, b)), _simplex(draw, (k,))


@settings(max_examples=25)
@given(_columns_and_vector(), st.sampled_from([0, -2]))
def test_outcomes_along_dim0_agree_with_torch_distributions(pq: Any, dim: int) -> None:
    p, q = pq  # p: (K, B), one distribution per column; q: (K,), one distribution
    cat_p, cat_q = torch.distributions.Categorical(probs=p.T), torch.distributions.Categorical(probs=q)
    want_kl = torch.distributions.kl_divergence(cat_p, cat_q)
    torch.testing.assert_close(divergence.kl_divergence(p, q, dim=dim), want_kl)
    torch.testing.assert_close(divergence.kl_contributions(p, q, dim=dim).sum(0), want_kl)
    torch.testing.assert_close(divergence.cross_entropy(p, q, dim=dim), cat_p.entropy() + want_kl)
    torch.testing.assert_close(divergence.entropy(p, dim=dim), cat_p.entropy())
    # The swapped pair too: q broadcast against every column of p.
    torch.testing.assert_close(divergence.kl_divergence(q, p, dim=dim), torch.distributions.kl_divergence(cat_q, cat_p))


def test_kl_of_columns_against_one_distribution_by_hand() -> None:
    p, q = [[0.2, 0.5], [0.8, 0.5]], [0.3, 0.7]
    torch.testing.assert_close(divergence.kl_divergence(p, q, dim=0),
                               torch.tensor([0.2 * math.log(0.2 / 0.3) + 0.8 * math.log(0.8 / 0.7),
                                             0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7)], dtype=F64))


def test_normalisation_tolerance_refuses_a_4_percent_error_at_any_size() -> None:
    k = 50_000
    with pytest.raises(ValueError, match="p must sum to 1"):
        divergence.entropy(torch.full((k,), 1.04 / k, dtype=F64))
    with pytest.raises(ValueError, match="q must sum to 1"):
        divergence.kl_divergence(torch.full((10**6,), 1e-6, dtype=F64), torch.zeros(10**6, dtype=F64))
    # The tolerance grows like √K, so even a million outcomes allow under 0.1 %.
    assert prob_tolerance(torch.float32, 10**6) < 1e-3
    # Honest rounding passes at any size: a float32 softmax of a million logits, float64 of 50 000.
    big = torch.softmax(torch.randn(10**6, generator=torch.Generator().manual_seed(0)), 0)
    assert math.isfinite(float(divergence.entropy(big)))
    assert float(divergence.entropy(torch.full((k,), 1.0 / k, dtype=F64))) == pytest.approx(math.log(k), rel=1e-12)


@pytest.mark.parametrize(("dtype", "log_r"), [(torch.float16, 12.0), (torch.float32, 89.0), (F64, 710.0)])
def test_k3_overflow_is_reported_not_inf(dtype: torch.dtype, log_r: float) -> None:
    lp, ref = torch.tensor([-log_r], dtype=dtype), torch.tensor([0.0], dtype=dtype)
    with pytest.raises(ValueError, match="k3 estimate overflowed"):
        estimators.kl_estimate(lp, ref, "k3")
    # Just below the limit it is finite and exact.
    ok = torch.tensor([-(log_r - 2.0)], dtype=F64)
    assert float(estimators.kl_estimate(ok, torch.zeros(1, dtype=F64), "k3")) == pytest.approx(
        math.expm1(log_r - 2.0) - (log_r - 2.0))


def test_k2_and_shaped_reward_overflow_are_reported() -> None:
    with pytest.raises(ValueError, match="k2 estimate overflowed"):
        estimators.kl_estimate(torch.tensor([-3e19]), torch.tensor([0.0]), "k2")
    lp, ref = torch.tensor([[-100.0]]), torch.tensor([[0.0]])
    with pytest.raises(ValueError, match="overflowed"):
        shaped_reward.kl_penalized_rewards([1.0], lp, ref, 0.1, estimator="k3")
    with pytest.raises(ValueError, match="kl_coef"):
        shaped_reward.kl_penalized_rewards([1.0], torch.tensor([[-20.0]]), torch.tensor([[-1.0]]), 1e38)


@settings(max_examples=30)
@given(st.lists(st.tuples(st.floats(-60, 0), st.floats(-60, 0)), min_size=1, max_size=6),
       st.sampled_from(["k1", "k2", "k3"]))
def test_kl_estimate_agrees_with_mpmath(pairs: list[tuple[float, float]], estimator: str) -> None:
    lp, ref = (torch.tensor(col, dtype=F64) for col in zip(*pairs))
    got = estimators.kl_estimate(lp, ref, estimator)
    for (a, b), value in zip(pairs, got.tolist()):
        log_r = mpmath.mpf(b) - mpmath.mpf(a)
        want = {"k1": -log_r, "k2": log_r**2 / 2, "k3": mpmath.expm1(log_r) - log_r}[estimator]
        assert value == pytest.approx(float(want), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("gap", [750.0, 2000.0])
def test_estimator_expectations_stay_exact_at_huge_logit_gaps(gap: float) -> None:
    logits, ref = torch.tensor([0.0, gap, 0.0], dtype=F64), torch.tensor([0.2, 0.3, 0.5], dtype=F64)
    # E_π[k3] is the KL itself when the sampler is π; k1 too.
    exact = sampling.full_kl_from_logits(logits, ref.log())
    for est in ("k1", "k3"):
        torch.testing.assert_close(sampling.expected_estimate_under_sampler(logits, ref.log(), est), exact)
    # k3 in the loss follows ∇KL(π_ref‖π) = π − π_ref; k1 in the reward follows ∇KL(π‖π_ref).
    torch.testing.assert_close(kl_in_loss.expected_estimator_gradient(logits, ref, "loss", "k3"),
                               kl_in_loss.forward_kl_gradient(logits, ref))
    torch.testing.assert_close(kl_in_loss.expected_estimator_gradient(logits, ref, "reward", "k1"),
                               kl_in_loss.reverse_kl_gradient(logits, ref))
    for placement in ("reward", "loss"):
        for est in ("k1", "k2", "k3"):
            assert bool(torch.isfinite(kl_in_loss.expected_estimator_gradient(logits, ref, placement, est)).all())
    # A single sample that π almost never draws has a truly overflowing k3 gradient: said, not NaN.
    with pytest.raises(ValueError, match="overflowed"):
        kl_in_loss.estimator_gradients(logits, ref, [0], "loss", "k3")
    assert bool(torch.isfinite(kl_in_loss.estimator_gradients(logits, ref, [1, 1], "loss", "k3")).all())


@settings(max_examples=20)
@given(st.lists(st.floats(-3, 3), min_size=3, max_size=5), st.sampled_from(["k1", "k2", "k3"]),
       st.sampled_from(["reward", "loss"]))
def test_expected_gradient_agrees_with_enumerated_sample_gradients(theta: list[float], est: str, placement: str) -> None:
    k = len(theta)
    logits, ref = torch.tensor(theta, dtype=F64), torch.softmax(torch.linspace(-1, 1, k, dtype=F64), 0)
    per_sample = kl_in_loss.estimator_gradients(logits, ref, list(range(k)), placement, est)
    torch.testing.assert_close(kl_in_loss.expected_estimator_gradient(logits, ref, placement, est),
                               torch.softmax(logits, 0) @ per_sample)


@pytest.mark.parametrize(("rewards", "beta"), [([1.0, 0.0, 0.5], 1e-310), ([1e300, -1e300, 0.0], 1e-10),
                                               ([1e300, -1e300, 0.0], 1.0)])
def test_tilted_optimum_at_tiny_beta_and_huge_rewards(rewards: list[float], beta: float) -> None:
    ref = torch.tensor([0.2, 0.3, 0.5], dtype=F64)
    pi = optimum.tilted_policy(ref, rewards, beta)
    torch.testing.assert_close(pi, torch.tensor([1.0, 0.0, 0.0], dtype=F64))  # all mass on the best reply
    expected, kl = optimum.kl_reward_frontier(ref, rewards, [beta])
    assert float(expected[0]) == rewards[0] and float(kl[0]) == pytest.approx(-math.log(0.2))
    torch.testing.assert_close(toy_responses.tilted_policies(ref, rewards, [beta])[0], pi)
    assert float(toy_responses.tilted_reward_variance(ref, rewards, beta)) == 0.0


@pytest.mark.parametrize(("rewards", "beta", "alpha"), [([1.0, 0.0, 0.5], 1e-310, 0.0), ([1e300, -1e300, 0.0], 0.0, 1e-10),
                                                        ([1e300, -1e300, 0.0], 1.0, 1.0), ([1.0, 0.0, 0.5], 0.0, 0.0)])
def test_regularised_optimum_at_tiny_coefficients_and_huge_rewards(rewards: list[float], beta: float,
                                                                           alpha: float) -> None:
    pi = optimum.regularised_policy([0.2, 0.3, 0.5], rewards, beta, alpha)
    torch.testing.assert_close(pi, torch.tensor([1.0, 0.0, 0.0], dtype=F64))  # all mass on the best reply


@settings(max_examples=25)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=6), st.floats(0.05, 20.0))
def test_tilted_policy_and_frontier_agree_with_the_direct_formula(rewards: list[float], beta: float) -> None:
    k = len(rewards)
    ref = torch.softmax(torch.linspace(0, 1, k, dtype=F64), 0)
    r = torch.tensor(rewards, dtype=F64)
    direct = ref * torch.exp(r / beta)
    direct = direct / direct.sum()
    torch.testing.assert_close(optimum.tilted_policy(ref, r, beta), direct)
    expected, kl = optimum.kl_reward_frontier(ref, r, [beta])
    torch.testing.assert_close(expected[0], direct @ r)
    torch.testing.assert_close(kl[0], divergence.kl_divergence(direct, ref), atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(toy_responses.tilted_reward_variance(ref, r, beta), direct @ (r - direct @ r) ** 2)


def test_adaptive_beta_stays_finite_and_positive_at_its_limits() -> None:
    up = controllers.AdaptiveKLController(0.1, 1.0, 10_000)
    down = controllers.AdaptiveKLController(0.1, 1.0, 10_000)
    for _ in range(5_000):  # 3 894 full-horizon updates reached inf before
        up.update(1e6, n_steps=10_000)
        down.update(0.0, n_steps=10_000)
    assert up.value == controllers.ADAPTIVE_BOUNDS[1] and down.value == controllers.ADAPTIVE_BOUNDS[0]


@settings(max_examples=30)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.integers(1, 8),
       st.sampled_from(["adaptive", "threshold", "fixed"]))
def test_controllers_keep_beta_finite_and_positive_over_long_random_readings(
    readings: list[float], repeats: int, kind: str
) -> None:
    c = {"adaptive": lambda: controllers.AdaptiveKLController(0.1, 0.5, 256.0),
         "threshold": lambda: controllers.ThresholdKLController(),
         "fixed": lambda: controllers.FixedKLController(0.2)}[kind]()
    for _ in range(repeats * 50):
        for x in readings:
            beta = c.update(x, n_steps=256 if kind == "adaptive" else 1)
            assert math.isfinite(beta) and beta > 0


@pytest.mark.parametrize("lag", [0.5, 0.3, 0.01])
def test_unstable_lags_are_refused(lag: float) -> None:
    with pytest.raises(ValueError, match="lag must be > 0.5"):
        _plant(lag=lag)


@settings(max_examples=15)
@given(st.floats(0.51, 50.0), st.lists(st.floats(0.0, 20.0), min_size=5, max_size=40))
def test_every_accepted_lag_keeps_the_plant_bounded(lag: float, betas: list[float]) -> None:
    # The gap to a fixed target obeys e ← (1 − 1/lag)·e: it shrinks iff |1 − 1/lag| < 1 ⟺ lag > 1/2. A moving
    # target inside the table's range [lo, hi] therefore keeps the KL within hi + |kl0 − lo|·… : bounded.
    p = _plant(lag=lag, noise=0.0)
    lo, hi = min(_toy_table()[1]), max(_toy_table()[1])
    for _ in range(50):
        for beta in betas:
            p.step(beta)
            assert 2 * lo - hi - 1e-9 <= p.kl_true <= 2 * hi - lo + 1e-9


def test_simulate_control_accepts_a_zero_beta() -> None:
    run = plant.simulate_control(controllers.FixedKLController(0.0), _plant(lag=1.0, noise=0.0), 5)
    assert (run["beta"] == 0).all()
    # β = 0 reads the table's smallest-β end: the unpenalised equilibrium.
    assert run["kl_true"][-1] == pytest.approx(max(_toy_table()[1]))


@settings(max_examples=40)
@given(st.one_of(st.floats(1e-9, 37.8), st.floats(-37.8, -1e-9)))
def test_gaussian_estimator_table_agrees_with_mpmath(mu: float) -> None:
    exact = sampling.gaussian_estimator_exact(mu)
    m2 = mpmath.mpf(mu) ** 2
    true = m2 / 2
    with mpmath.workdps(60):
        k3 = mpmath.sqrt(mpmath.expm1(m2) - m2) / true
    assert exact["k3"][1] == pytest.approx(float(k3), rel=1e-12)
    assert exact["k1"][1] == pytest.approx(float(2 / abs(mpmath.mpf(mu))), rel=1e-12)
    assert exact["k2"] == pytest.approx((float(m2 / 4), float(mpmath.sqrt(2 + m2))), rel=1e-12)


def test_gaussian_estimator_table_limits_and_overflow() -> None:
    for mu in (1e-7, 1e-8, 1e-150):
        assert sampling.gaussian_estimator_exact(mu)["k3"][1] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert math.isfinite(sampling.gaussian_estimator_exact(27.0)["k3"][1])
    for mu in (38.0, 1e6):
        with pytest.raises(ValueError, match="mu is too large"):
            sampling.gaussian_estimator_exact(mu)
    with pytest.raises(ValueError, match="mu is too large"):
        sampling.gaussian_true_kl(1e160)


def test_tensors_that_require_grad_can_be_logged_directly() -> None:
    kl = torch.linspace(0.0, 1.0, 40, requires_grad=True) * 1.0
    assert monitor.kl_negative(kl) is None and monitor.nonfinite(kl) is None
    assert monitor.health_report({"kl_mean": kl, "kl_max": kl * 2}) is not None
    betas = torch.tensor(_toy_table()[0], requires_grad=True)
    kls = torch.tensor(_toy_table()[1], requires_grad=True)
    assert plant.equilibrium_kl(0.5, betas, kls) > 0 and _plant().step(torch.tensor(0.5, requires_grad=True)) >= -10


@pytest.mark.parametrize("seed", [2**63, 2**64, -1, 10**30])
def test_seeds_out_of_range_are_named(seed: int) -> None:
    for call in (lambda: sampling.random_two_token_model(3, seed), lambda: kl_in_loss.draw_samples([0.0, 1.0], 2, seed),
                 lambda: _plant(seed=seed), lambda: corpus.generate_corpus(2, seed)):
        with pytest.raises(ValueError, match="seed"):
            call()


def test_self_checks_take_huge_and_tiny_answers() -> None:
    assert lesson01.check_kl_in_bits(10**400).startswith("Please")
    assert "β = 1e-320" in lesson04.check_beta_for_kl(1e-320)
    assert isinstance(lesson03.check_overtake_beta(10**400), str)


@pytest.mark.parametrize("not_a_number", [
    "half", b"0.5", bytearray(b"1"), True, np.bool_(True), torch.tensor(True), np.array([False]),
    np.array(True, dtype=object), np.complex128(0.5 + 2j), torch.tensor(0.5 + 2j), [0.5, 0.5],
])
def test_self_checks_want_numbers_not_truth_values(not_a_number: Any) -> None:
    """A comparison passed by mistake (True counts as 1 in Python) gets "pass a number", never a verdict on it."""
    from kl_lessons.self_checks import _finite_answer, _number
    from kl_lessons.self_checks.lesson03 import check_overtake_beta
    from kl_lessons.self_checks.lesson07 import check_k3_landing

    assert _number(not_a_number) is None and _finite_answer(not_a_number) is None
    for check in (lesson01.check_kl_in_bits, check_overtake_beta, check_k3_landing,
                  lambda answer: lesson06.check_shout_threshold(answer, -8.1)):
        assert "number" in check(not_a_number).lower(), check
    assert _number(np.float64(0.5)) == 0.5 and _number(torch.tensor([0.5])) == 0.5 and _number("0.5") == 0.5
    assert _finite_answer(math.inf) is None


def test_self_check_messages_stay_short_and_never_fail_on_a_strange_answer() -> None:
    from kl_lessons.self_checks import _shown

    class Strange:
        dtype = property(lambda self: 1 / 0)

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert _shown(Strange()) == "a Strange" and len(_shown(list(range(10**5)))) == 40
    for answer in (Strange(), list(range(10**5))):
        message = lesson01.check_kl_in_bits(answer)
        assert "number" in message and len(message) < 120


# ----------------------------------------------------------------------------- what learners pass
def _float32_softmax(k: int, scale: float, seed: int) -> torch.Tensor:
    return torch.softmax(scale * torch.randn(k, generator=torch.Generator().manual_seed(seed)), 0)


#: The ways a learner hands over a vector made in float32.
WRAPPINGS: dict[str, Callable[[torch.Tensor], Any]] = {
    "float32 tensor": lambda t: t,
    "list": lambda t: t.tolist(),
    "float64 array": lambda t: t.numpy().astype(np.float64),
    "float64 tensor": lambda t: t.to(F64),
}


def _probability_calls(k: int) -> dict[str, Callable[[Any, Any], Any]]:
    """Every public function that takes probabilities (p, q: a float32 softmax each, however wrapped)."""
    r = torch.linspace(-1.0, 1.0, k, dtype=F64)
    logits = torch.linspace(0.5, -0.5, k, dtype=F64)
    return {
        "entropy": lambda p, q: divergence.entropy(p),
        "kl_divergence": lambda p, q: divergence.kl_divergence(p, q),
        "cross_entropy": lambda p, q: divergence.cross_entropy(p, q),
        "kl_contributions": lambda p, q: divergence.kl_contributions(p, q),
        "tilted_policy": lambda p, q: optimum.tilted_policy(p, r, 0.5),
        "kl_reward_frontier": lambda p, q: optimum.kl_reward_frontier(p, r, [0.5, 2.0]),
        "regularised_policy": lambda p, q: optimum.regularised_policy(p, r, 0.5, 0.1),
        "tilted_reward_variance": lambda p, q: toy_responses.tilted_reward_variance(p, r, 0.5),
        "best_of_n_policy": lambda p, q: toy_responses.best_of_n_policy(p, r, 3),
        "exact_best_of_n_kl": lambda p, q: toy_responses.exact_best_of_n_kl(p, r, 3),
        "reverse_kl_gradient": lambda p, q: kl_in_loss.reverse_kl_gradient(logits, p),
        "forward_kl_gradient": lambda p, q: kl_in_loss.forward_kl_gradient(logits, p),
        "exact_pair_weights": lambda p, q: dpo.exact_pair_weights(p, r),
        "implicit_reward": lambda p, q: dpo.implicit_reward(q, p, 0.5),
        "mixture_log_probs": lambda p, q: mode_seeking.mixture_log_probs(GRID, torch.linspace(-2, 2, k), [1.0] * k, p),
        "kl_estimate": lambda p, q: estimators.kl_estimate(_logs(p), _logs(q), "k3"),
    }


def _logs(x: Any) -> Any:
    """Log-probabilities in the same wrapping as ``x`` (taken in float32, as a trainer would)."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.float32).log()
    return t.tolist() if isinstance(x, list) else t.numpy().astype(np.float64) if isinstance(x, np.ndarray) else t


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 200), st.floats(0.05, 4.0), st.integers(0, 10**6))
def test_float32_probabilities_pass_however_they_are_wrapped(k: int, scale: float, seed: int) -> None:
    """A float32 softmax is valid to float32 precision: a list or float64 copy of it must not be refused.

    Logit scales stay ≤ 4 so that no probability underflows to 0 in float32 (a zero π_ref is refused by
    the functions that divide by it, however it is wrapped); the tolerance itself is checked up to
    scale 30 in :func:`test_the_tolerance_has_headroom_over_float32_rounding`.
    """
    p, q = _float32_softmax(k, scale, seed), _float32_softmax(k, scale, seed + 1)
    for name, call in _probability_calls(k).items():
        want = None
        for how, wrap in WRAPPINGS.items():
            got = [leaf.detach().to(F64) for leaf in _leaves(call(wrap(p), wrap(q))) if isinstance(leaf, torch.Tensor)]
            if want is None:
                want = got
            for a, b in zip(got, want):  # the same answer for every wrapping (up to float32 rounding)
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"{name}, {how}")


@pytest.mark.parametrize("how", list(WRAPPINGS))
def test_a_float32_target_fits_however_it_is_wrapped(how: str) -> None:
    """mode_seeking checks its log-probability target with the same float32-aware tolerance."""
    target = torch.log_softmax(torch.randn(GRID.numel(), generator=torch.Generator().manual_seed(5)), 0)
    fit = mode_seeking.fit_gaussian(WRAPPINGS[how](target), GRID, "forward", steps=3)
    want = mode_seeking.fit_gaussian(target.to(F64), GRID, "forward", steps=3)
    assert fit.mean == pytest.approx(want.mean, abs=1e-6) and fit.std == pytest.approx(want.std, rel=1e-6)
    with pytest.raises(ValueError, match="normalised"):
        mode_seeking.fit_gaussian(WRAPPINGS[how](target + 1e-3), GRID, "forward", steps=3)


def test_the_reported_float32_list_is_accepted() -> None:
    """The case that was refused with "got sums like 1": a float32 softmax whose exact sum is 1 − 5e-8."""
    for seed in range(2000):
        p, q = _float32_softmax(5, 1.0, seed), _float32_softmax(5, 1.0, seed + 10**6)
        if abs(float(p.to(F64).sum()) - 1) > 4e-8:
            break
    assert abs(float(p.to(F64).sum()) - 1) > 4e-8  # far above float64's rounding: the old check refused it
    torch.testing.assert_close(divergence.kl_divergence(p.tolist(), q.tolist()),
                               torch.distributions.kl_divergence(torch.distributions.Categorical(probs=p.to(F64)),
                                                                 torch.distributions.Categorical(probs=q.to(F64))))


@pytest.mark.parametrize("k", [2, 10, 1000, 50_257])
def test_the_tolerance_has_headroom_over_float32_rounding(k: int) -> None:
    """The docstring's claim: float32 softmax sums stay within a quarter of the tolerance, across logit scales."""
    worst = 0.0
    for scale in (0.1, 1.0, 10.0, 30.0):
        for seed in range(40 if k < 10_000 else 3):
            worst = max(worst, abs(float(_float32_softmax(k, scale, seed).to(F64).sum()) - 1))
    assert 0 < worst < prob_tolerance(torch.float32, k) / 4
    # Half precision carries its own, coarser tolerance; float64 never a finer one than float32.
    assert prob_tolerance(F64, k) == prob_tolerance(torch.float32, k) < prob_tolerance(torch.float16, k)


@pytest.mark.parametrize(("p", "why"), [
    ([0.5, 0.5001], "a slip of 1e-4"),
    ([0.2, 0.3, 0.4], "an outcome left out"),
    (torch.full((50_257,), 1.01 / 50_257, dtype=torch.float32), "1 % over at a GPT-2 vocabulary"),
])
def test_unnormalised_input_is_refused_with_the_sum_the_tolerance_and_the_fix(p: Any, why: str) -> None:
    with pytest.raises(ValueError) as err:
        divergence.entropy(p)
    message = str(err.value)
    total = float(torch.as_tensor(p, dtype=F64).sum())
    assert f"got a sum of {total!r}" in message, why  # every digit, not "sums like 1"
    k = len(p)
    assert f"the {prob_tolerance(torch.float32, k):.2g} that rounding explains for {k} outcomes" in message
    assert "p / p.sum()" in message


@pytest.mark.parametrize("dim", ["a", 1.5, None, True, 1, -2, 7])
def test_dim_is_checked_on_one_dimensional_inputs(dim: Any) -> None:
    p, q = [0.2, 0.8], [0.5, 0.5]
    for call in (lambda: divergence.kl_divergence(p, q, dim=dim), lambda: divergence.cross_entropy(p, q, dim=dim),
                 lambda: divergence.kl_contributions(p, q, dim=dim), lambda: divergence.entropy(p, dim=dim)):
        with pytest.raises(ValueError, match="dim"):
            call()
    # Both axes of a 1-D input are fine, and mean the same.
    assert float(divergence.kl_divergence(p, q, dim=0)) == float(divergence.kl_divergence(p, q, dim=-1))


@pytest.mark.parametrize("make", [lambda bounds: controllers.ThresholdKLController(bounds=bounds),
                                  lambda bounds: controllers.AdaptiveKLController(0.1, 1.0, 100.0, bounds)])
def test_bounds_must_be_an_ordered_pair(make: Callable[[Any], Any]) -> None:
    for bad in ({0.1: 1, 1.0: 2}, {0.01, 1.0}, "ab", (0.01,), iter((0.01, 1.0))):
        with pytest.raises(ValueError, match="bounds"):
            make(bad)
    for good in ((0.01, 1.0), [0.01, 1.0], np.array([0.01, 1.0]), torch.tensor([0.01, 1.0], dtype=F64)):
        assert make(good).bounds == (0.01, 1.0)


def test_negative_zero_beta_reads_like_zero() -> None:
    """β = −0.0 gives the same readings as 0.0, step for step, and is stored as +0.0.

    The reading of 0.054 against 4.99 seen in testing was the plant's state, not the sign: a plant's
    first reading is its starting KL and each step moves it, so a second ``step`` on the same plant
    reads differently whatever β is (shown below with 0.0 twice).
    """
    for lag, noise in ((1.0, 0.5), (5.0, 0.0)):
        a, b = _plant(lag=lag, noise=noise), _plant(lag=lag, noise=noise)
        assert [a.step(0.0) for _ in range(10)] == [b.step(-0.0) for _ in range(10)]
        assert a.kl_true == b.kl_true and _plant().equilibrium(-0.0) == _plant().equilibrium(0.0)
    same = _plant(lag=1.0)
    assert same.step(0.0) != same.step(0.0)  # the plant moved between the two readings
    assert math.copysign(1.0, controllers.FixedKLController(-0.0).value) == 1.0
    run = plant.simulate_control(controllers.FixedKLController(-0.0), _plant(), 5)
    np.testing.assert_array_equal(run["kl_measured"],
                                  plant.simulate_control(controllers.FixedKLController(0.0), _plant(), 5)["kl_measured"])


@pytest.mark.parametrize("faults", [5, 2.5, "3", [(3, 1.0)], {3}])
def test_faults_must_be_a_mapping(faults: Any) -> None:
    with pytest.raises(ValueError, match="faults"):
        plant.simulate_control(controllers.FixedKLController(0.1), _plant(), 10, faults=faults)


def test_a_nan_fault_is_announced() -> None:
    """NaN and inf faults are accepted on purpose (lesson 5 injects them) and marked where they land."""
    faults = {3: math.nan, 4: math.inf, 6: -1.0}
    run = plant.simulate_control(controllers.AdaptiveKLController(0.1, 0.5, 1000), _plant(), 10, faults=faults)
    assert np.flatnonzero(run["injected"]).tolist() == [3, 4, 6]
    assert np.flatnonzero(run["rejected"]).tolist() == [3, 4]  # the controller refused the non-finite two
    assert np.isnan(run["kl_measured"][3]) and np.isfinite(run["beta"]).all()

    class Swallows:
        """A controller that takes any reading: a NaN must not pass through it silently."""

        value = 0.1

        def update(self, current: float, n_steps: int = 1) -> float:
            return self.value

    with pytest.raises(ValueError, match="non-finite reading nan at step 3"):
        plant.simulate_control(Swallows(), _plant(), 10, faults={3: math.nan})
