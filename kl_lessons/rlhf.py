"""Lesson 6: RLHF in miniature: REINFORCE with a baseline on KL-penalised rewards.

Each step samples a batch of texts from the policy, scores them with the proxy
reward, and turns scores and log-probs into per-token rewards with
:func:`kl_lessons.kl_penalized_rewards` (every token pays −β·kl_t, the score lands
on the last token). The policy climbs the reward-to-go minus a per-position batch
mean (the baseline), and the controller then updates β from the batch's KL.

KL values are per *text* (summed over its tokens, averaged over the batch, as in
TRL's ``objective/kl``), in nats; entropies and log-likelihoods are per character.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import torch
from tqdm.auto import tqdm

from ._validate import count, positive, seed as as_seed
from .estimators import check_estimator
from .reward_models import CharTrigramJudge, gold_reward, proxy_reward
from .shaped_reward import kl_penalized_rewards
from .tinylm import MAX_BATCH, MAX_LENGTH, CharVocab, Rollout, TinyLM, check_model, sample, score

#: The per-step metrics every run records: batch-mean and batch-max KL per text (nats), the proxy mean (twice:
#: ``reward_mean`` is the name the health checks read), the gold mean, the policy's entropy per character
#: (nats), distinct-2 of the batch, log π_ref per character (nats), the share of "!" characters, and β.
METRIC_KEYS = (
    "kl_mean", "kl_max", "reward_mean", "proxy", "gold", "entropy", "distinct2", "ref_loglik", "exclaim_share", "beta",
)


class KLController(Protocol):
    """Anything with a ``value`` (β) and ``update(current, n_steps)``, like the controllers of lesson 5."""

    value: float

    def update(self, current: float, n_steps: int = 1) -> float: ...


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n: unique word n-grams over all word n-grams in the batch (0 to 1).

    Public API: :func:`train` logs it as ``distinct2``; apply it to any batch of samples.

    A text of fewer than ``n`` words counts as one n-gram of its own (its whole word
    sequence). Without that rule a batch collapsed onto a one-word text like "rive!!!!"
    would have no n-grams at all, and a single two-word text among 63 copies of it
    would score 1.0, the most diverse batch possible. Texts with no words are skipped;
    a batch with none scores 0.
    """
    n = count(n, "n", maximum=10**6)
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise ValueError(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    grams = []
    for text in texts:
        words = text.split()
        if 0 < len(words) < n:
            grams.append(tuple(words))
        grams.extend(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0


@dataclass
class RLHFRun:
    """What one training run leaves behind.

    Attributes
    ----------
    metrics : dict of str → list of float
        One value per step for every key of :data:`METRIC_KEYS`.
    samples : dict of int → list of str
        A few texts sampled at the steps asked for.
    policy : TinyLM
        The fine-tuned policy.
    """

    metrics: dict[str, list[float]]
    samples: dict[int, list[str]]
    policy: TinyLM


def train(
    reference: TinyLM,
    vocab: CharVocab,
    controller: KLController,
    judge: CharTrigramJudge,
    *,
    steps: int = 100,
    batch_size: int = 64,
    length: int = 32,
    lr: float = 3e-3,
    estimator: str = "k1",
    reward_fn: Callable[[Sequence[str]], torch.Tensor] = proxy_reward,
    entropy_bonus: float = 0.0,
    track_step_kl: bool = False,
    reset_reference_every: int | None = None,
    seed: int = 0,
    sample_at: Sequence[int] = (),
    n_samples: int = 3,
    desc: str = "RLHF",
    progress: bool = True,
    sampler: Callable[..., Rollout] = sample,
) -> RLHFRun:
    """Fine-tune a copy of ``reference`` on ``reward_fn`` with a KL penalty set by ``controller``.

    Parameters
    ----------
    reference : TinyLM
        The pretrained model. It is never changed; the policy starts as a copy.
    vocab : CharVocab
    controller : KLController
        Sets β (e.g. ``FixedKLController(0.0)`` or ``AdaptiveKLController``).
        It is fed the batch-mean KL per text, in nats, with ``n_steps = batch_size``.
    judge : CharTrigramJudge
        For the gold score, which is recorded but never trained on.
    steps, batch_size, length : int
        Optimiser steps, texts per step, characters per text.
    lr : float
        Adam learning rate.
    estimator : {"k1", "k2", "k3"}
        Per-token KL estimator used in the reward (and in the recorded KL).
    reward_fn : callable
        Texts → scores; the proxy by default.
    entropy_bonus : float
        α ≥ 0: every token's reward also gets α·(−log π(y_t)), a one-sample estimate of the policy's entropy
        at that position (lesson 8). The KL penalty −β·(log π − log π_ref) is the same bonus with α = β plus
        an anchor β·log π_ref; this option is the bonus without the anchor.
    track_step_kl : bool
        Also record ``"step_kl"``: how far one update moved the policy, KL(π_before ‖ π_after) per text in
        nats, estimated with k3 on the batch just trained on (the ``approx_kl`` PPO trainers log, there per
        token). Costs one extra forward pass per step.
    reset_reference_every : int or None
        Every this many steps the reference becomes a frozen copy of the current policy (ProRL's reference
        resets, lesson 8). The recorded KL and ``ref_loglik`` are then to the current reference.
    seed : int
        Seeds sampling, so two runs with the same arguments are identical.
    sample_at : sequence of int
        Steps at which the first ``n_samples`` texts are kept.
    progress : bool
        Show a tqdm bar.
    sampler : callable
        Draws the rollouts: ``sampler(policy, vocab, batch_size, length, generator)`` → :class:`~kl_lessons.tinylm.Rollout`.
        The default draws exact samples at temperature 1. Lesson 10 passes faulty ones (a temperature, a
        banned character) to make the logs of a sampler that is not the policy being scored.

    Returns
    -------
    RLHFRun
    """
    check_estimator(estimator)
    check_model(reference, vocab, "reference")
    if not (hasattr(controller, "value") and callable(getattr(controller, "update", None))):
        raise ValueError(f"controller must have .value and .update(current, n_steps), got {type(controller).__name__}")
    positive(controller.value, "controller.value", allow_zero=True)
    if not isinstance(judge, CharTrigramJudge):
        raise ValueError(f"judge must be a CharTrigramJudge, got {type(judge).__name__}")
    if not callable(reward_fn):
        raise ValueError(f"reward_fn must be callable (texts -> scores), got {type(reward_fn).__name__}")
    steps = count(steps, "steps", maximum=10**7)
    batch_size = count(batch_size, "batch_size", maximum=MAX_BATCH)
    length = count(length, "length", maximum=MAX_LENGTH)
    n_samples = count(n_samples, "n_samples")
    lr = positive(lr, "lr")
    seed = as_seed(seed)
    entropy_bonus = positive(entropy_bonus, "entropy_bonus", allow_zero=True)
    if not isinstance(track_step_kl, bool):
        raise ValueError(f"track_step_kl must be True or False, got {track_step_kl!r}")
    if reset_reference_every is not None:
        reset_reference_every = count(reset_reference_every, "reset_reference_every", maximum=10**7)
    if not callable(sampler):
        raise ValueError(f"sampler must be callable like tinylm.sample, got {type(sampler).__name__}")
    if isinstance(sample_at, (str, bytes)) or not hasattr(sample_at, "__iter__"):
        raise ValueError(f"sample_at must be a sequence of steps, got {sample_at!r}")
    sample_at = {count(s, "sample_at", minimum=0) for s in sample_at}
    # The caller's model is left untouched: a frozen copy is the reference, a trainable copy the policy.
    frozen = copy.deepcopy(reference).eval().requires_grad_(False)
    policy = copy.deepcopy(reference).train().requires_grad_(True)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    keys = METRIC_KEYS + (("step_kl",) if track_step_kl else ())
    metrics: dict[str, list[float]] = {key: [] for key in keys}
    samples: dict[int, list[str]] = {}
    for step in tqdm(range(steps), desc=desc, disable=not progress):
        if reset_reference_every and step and step % reset_reference_every == 0:
            frozen = copy.deepcopy(policy).eval().requires_grad_(False)
        roll = sampler(policy, vocab, batch_size, length, gen)
        texts = vocab.decode(roll.tokens)
        proxy = reward_fn(texts)
        with torch.no_grad():
            ref_logprobs, _ = score(frozen, vocab, roll.tokens)
        # Policy and reference are scored by the same function, as PPO trainers recompute log-probs after
        # sampling: at step 0 the two are then bit-identical and the KL is exactly 0.
        logprobs, _ = score(policy, vocab, roll.tokens)
        beta = positive(controller.value, "controller.value", allow_zero=True)
        rewards, kl = kl_penalized_rewards(proxy, logprobs.detach(), ref_logprobs, beta, estimator=estimator)
        if entropy_bonus:
            rewards = rewards - entropy_bonus * logprobs.detach()
        # Reward-to-go from each token, minus its batch mean at that position.
        to_go = rewards.flip(-1).cumsum(-1).flip(-1)
        advantage = to_go - to_go.mean(0, keepdim=True)
        loss = -(logprobs * advantage).sum(-1).mean() / length
        if not math.isfinite(loss.item()):
            raise ValueError(f"training diverged at step {step} (loss {loss.item()}); lower lr (got {lr:g})")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if track_step_kl:
            with torch.no_grad():
                log_ratio = score(policy, vocab, roll.tokens)[0] - logprobs.detach()  # log π_after/π_before
            row_step_kl = (log_ratio.expm1() - log_ratio).sum(-1).mean()  # k3 of KL(π_before ‖ π_after)
        # float64, so that a collapsed batch (all texts equal) keeps its mean from rounding above its max.
        seq_kl = kl.double().sum(-1)
        controller.update(float(seq_kl.mean()), n_steps=batch_size)
        gold = gold_reward(texts, judge)
        row = {
            "kl_mean": seq_kl.mean(), "kl_max": seq_kl.max(), "reward_mean": proxy.mean(), "proxy": proxy.mean(),
            "gold": gold.mean(), "entropy": roll.entropies.mean(), "distinct2": distinct_n(texts, 2),
            "ref_loglik": ref_logprobs.mean(), "exclaim_share": (roll.tokens == vocab.chars.find("!")).float().mean(),
            "beta": beta,
        }
        if track_step_kl:
            row["step_kl"] = row_step_kl
        for key in keys:
            metrics[key].append(float(row[key]))
        if step in sample_at:
            samples[step] = texts[:n_samples]
    policy.eval()
    return RLHFRun(metrics, samples, policy)
