"""Lesson 10: a casebook of training logs, each made by an actual run with one fault injected.

Every case is a run of a trainer this course runs itself — TRL's ``GRPOTrainer`` on lesson 9's tiny GPT-2, or
lesson 6's trainer — with one thing broken the way practitioners have broken it, written to disk in the format
and keys of a real trainer's log: TRL's ``trainer_state.json``, verl's file logger (JSON lines), an OpenRLHF run
exported as CSV, or the course's own JSON lines. :func:`make_trace` reruns a case and returns the log's text;
the stored traces in ``kl_lessons/data/casebook/`` were written by ``scripts/make_casebook.py`` from seed 0, and
a test reruns them. :func:`read_case` reads a stored trace with :mod:`kl_lessons.run_logs`, and the diagnosis of
a case is what :func:`kl_lessons.run_logs.check_run` says about it.

Where a lesson-6 run is written in verl's or OpenRLHF's keys, each key holds the quantity that trainer's own
code logs under it (per-token means, with the mean length beside them); lesson 6's texts are all 32 characters
long, so a per-token mean is the per-text sum divided by 32, exactly.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ._validate import seed as as_seed

__all__ = ["CASES", "TRACE_DIR", "Case", "case", "diagnose", "make_trace", "read_case", "trace_text"]

#: Steps of the lesson-6 runs and of the TRL runs.
L6_STEPS, TRL_STEPS = 60, 40
#: Where the stored traces live (package data).
TRACE_DIR = Path(__file__).resolve().parent / "data" / "casebook"
#: The seed of lesson 6's pretrained model, which every lesson-6 case starts from (the run's seed varies).
LESSON6_SEED = 1
#: Characters per text in the lesson-6 runs (every text is this long: per token = per text / LENGTH).
LENGTH = 32


@dataclass(frozen=True)
class Case:
    """One case of the casebook.

    Attributes:
        name: short id; the stored trace is ``data/casebook/<file>``.
        title: a heading for the case.
        trainer: the :data:`kl_lessons.run_logs.TRAINERS` key whose keys the log uses.
        file: the trace's file name (its extension says its format).
        made_by: how the run was made, the fault included, in one sentence.
        diagnosis: the checks of :func:`kl_lessons.run_logs.check_run` that fire on the stored trace, in order.
        sign: the check that tells this fault (``""`` when nothing is broken); it fires on every seed tested
            except for ``negative_kl``, whose KL swings back above 0 before 10 negative steps in a row on some
            seeds (its claim on every seed is 30 % or more of the steps below 0).
        fix: what to change.
        threads: public threads where practitioners met it (URL, title, when opened), read on 2026-12-03.
    """

    name: str
    title: str
    trainer: str
    file: str
    made_by: str
    diagnosis: tuple[str, ...]
    sign: str
    fix: str
    threads: tuple[str, ...]


CASES: tuple[Case, ...] = (
    Case("healthy", "A healthy run", "trl", "healthy_trainer_state.json",
         "TRL's GRPOTrainer at β = 0.3 on lesson 9's model and proxy reward, nothing broken.",
         (), "", "Nothing: the KL starts at 0, rises and levels off; entropy holds.", ()),
    Case("negative_kl", "A KL that goes negative", "kl_lessons", "negative_kl.jsonl",
         "Lesson 6's trainer at β = 1 whose sampler never draws a space (as a min_length bans the end token), "
         "while the trainer scores the texts with the full model.",
         ("kl_negative", "kl_spikes"), "kl_negative",
         "Sample from the policy being scored: no banned tokens, top-k, top-p or min_length in the rollouts, or "
         "score with the same truncated distribution.",
         ("https://github.com/huggingface/trl/issues/1002 ([Doc Bugs] `min_length` in generation strategies, "
          "opened 2023-11-16)",
          "https://github.com/huggingface/trl/issues/235 (Add warning when KL-divergence is negative, opened 2023-03-21)")),
    Case("k3_overflow", "A KL that spikes by the thousand", "kl_lessons", "k3_overflow.jsonl",
         "Lesson 6's trainer with the k3 estimator at β = 0.1, its rollouts drawn at temperature 1.5 and scored "
         "at temperature 1.",
         ("kl_spikes",), "kl_spikes",
         "Score the rollouts at the temperature they were drawn at (TRL and verl divide the logits by it); "
         "correct what mismatch is left by importance sampling (TRL's vllm_importance_sampling_correction, verl's "
         "rollout correction). verl clamps its low_var_kl (k3) to [-10, 10] per token and OpenRLHF every "
         "estimator: that hides the spikes, it does not remove their cause.",
         ("https://github.com/verl-project/verl/issues/891 ([Potential Bug] KL compute in `low_var_kl (Cause KL NaN "
          "and !!!!!!!!!!!!!!! output), opened 2025-04-03)",
          "https://github.com/OpenRLHF/OpenRLHF/issues/931 (the ratio or kl_loss blows up, GRPO; opened 2025-04-01)")),
    Case("per_token_units", "0.1 nats per token: small or large?", "verl", "per_token_units.jsonl",
         "Lesson 6's trainer at β = 0.3 on lesson 6's model, nothing broken, logged the way verl's file logger writes "
         "its metrics with the KL in the reward (algorithm.use_kl_in_reward=True): actor/reward_kl_penalty, a "
         "per-token mean.",
         (), "", "Nothing is broken: convert before comparing. Per text = per token × mean length.",
         ("https://github.com/CarperAI/trlx/pull/441 (fix(ppo_trainer): compute mean KL sequence-wise, opened "
          "2023-04-19)",
          "https://github.com/verl-project/verl/issues/593 (about grpo loss computation, opened 2025-03-14)")),
    Case("trust_region_kl", "A small, flat KL", "openrlhf", "trust_region_kl.csv",
         "Lesson 6's trainer at β = 0.01 (OpenRLHF's default init_coef), exported as CSV in OpenRLHF's keys: ppo_kl "
         "(the policy before vs after each update) beside kl (to the reference).",
         ("reward_up_entropy_down",), "reward_up_entropy_down",
         "Read kl, not ppo_kl, for the drift from the reference; a larger β (or an entropy bonus) to stop the "
         "collapse.",
         ("https://github.com/huggingface/trl/issues/288 (What does `model_ref` do, opened 2023-04-09)",
          "https://github.com/verl-project/verl/issues/509 ([Question] Is it necessary to have two ways to deal with "
          "kl divergence?, opened 2025-03-07)")),
    Case("beta_zero", "No KL in the log at all", "trl", "beta_zero_trainer_state.json",
         "TRL's GRPOTrainer at β = 0, its default: no reference is loaded and no kl is logged.",
         ("reward_up_entropy_down",), "reward_up_entropy_down",
         "Watch entropy and the reward's own samples when β = 0; set β > 0 (or an entropy bonus, or clip-higher) "
         "if the policy collapses.",
         ("https://github.com/huggingface/trl/issues/4040 (why kl = nan when grpo train?, opened 2025-09-09)",
          "https://github.com/nvidia-cosmos/cosmos-rl/issues/318 (On collapse/not converging of RL training without "
          "kl loss, opened 2025-10-03)")),
    Case("wrong_reference", "A KL that starts high", "trl", "wrong_reference_trainer_state.json",
         "TRL's GRPOTrainer at β = 0.04 whose reference holds the untrained weights of the model's architecture "
         "(loaded from its config, not its checkpoint).",
         ("kl_starts_high",), "kl_starts_high",
         "Load the reference from the checkpoint the policy starts from; with LoRA, make sure the reference is "
         "the model the adapter was trained on.",
         ("https://github.com/huggingface/trl/issues/3194 (GRPO with pre-finetuned LoRA model as reference, opened "
          "2025-03-31)",
          "https://github.com/huggingface/trl/pull/4723 (Improve PEFT integration, opened 2025-12-19)")),
    Case("reference_sync", "Saw-teeth", "trl", "reference_sync_trainer_state.json",
         "TRL's GRPOTrainer at β = 0.04 with sync_ref_model=True, ref_model_sync_steps=4 (mixup α 0.6, TRL's "
         "default).",
         ("kl_resets", "reward_up_entropy_down"), "kl_resets",
         "If the syncs are intended, track the KL to the original model yourself (lesson 9 does); if not, "
         "sync_ref_model=False.",
         ("https://github.com/huggingface/trl/issues/2908 (GRPO: Enable updating the reference model for KL "
          "divergence penalty calculation, opened 2025-02-19)",)),
    Case("no_signal", "Nothing to learn from", "trl", "no_signal_trainer_state.json",
         "TRL's GRPOTrainer at β = 0.04 trained on a pass/fail reward (at least three upbeat words or !) that the "
         "pretrained model almost never passes.",
         ("no_learning_signal",), "no_learning_signal",
         "Make the task reachable (easier prompts, a finer reward, more generations per prompt), or drop the "
         "groups with no spread (DAPO's dynamic sampling).",
         ("https://github.com/huggingface/trl/issues/3857 (GRPO Trainer loss error?, opened 2025-08-06)",
          "https://github.com/allenai/open-instruct/pull/642 (Grpo log the real batch size and allow update of ref "
          "model, opened 2025-04-08)")),
)


def case(name: str) -> Case:
    """The case called ``name``; ``ValueError`` lists the names."""
    for entry in CASES:
        if entry.name == name:
            return entry
    raise ValueError(f"name must be one of {[c.name for c in CASES]}, got {name!r}")


def trace_text(name: str) -> str:
    """The stored trace of case ``name`` (written by ``scripts/make_casebook.py`` from seed 0)."""
    return (TRACE_DIR / case(name).file).read_text(encoding="utf-8")


def read_case(name: str, text: str | None = None):
    """Case ``name``'s trace (the stored one, or ``text``) read by :func:`kl_lessons.run_logs.parse_log_text`."""
    from .run_logs import parse_log_text

    entry = case(name)
    return parse_log_text(trace_text(name) if text is None else text, entry.trainer, name=entry.file)


def diagnose(name: str, text: str | None = None) -> list[str]:
    """The checks that fire on case ``name``'s trace (stored, or ``text``), in the order of their steps."""
    from .run_logs import check_run

    return [w.check for w in check_run(read_case(name, text))]


# ----------------------------------------------------------------------------------------------- the runs
def _lesson6(seed: int, beta: float, progress: bool = False, **options: Any) -> dict[str, list[float]]:
    """A lesson-6 run (60 steps, 64 texts of 32 characters) from lesson 6's own pretrained model; its metrics."""
    from .controllers import FixedKLController
    from .reward_models import default_judge
    from .rlhf import train
    from .tinylm import pretrain

    reference, vocab, _ = pretrain(steps=600, seed=LESSON6_SEED, progress=progress)
    run = train(reference, vocab, FixedKLController(beta), default_judge(vocab.chars), steps=L6_STEPS,
                batch_size=64, length=LENGTH, seed=seed, progress=False, **options)
    return run.metrics


def _grpo(seed: int, beta: float, progress: bool = False, **options: Any) -> list[dict]:
    """A lesson-9 TRL run (40 steps); TRL's log_history."""
    from .hf_tiny import pretrain_hf
    from .trl_run import run_grpo

    folder, _ = pretrain_hf(progress=progress)
    return run_grpo(folder, beta, steps=TRL_STEPS, seed=seed, progress=False, **options).log


def _untrained_weights() -> dict:
    """The state of the tiny GPT-2 as built from its config, never trained: a reference gone wrong."""
    import torch

    from .hf_tiny import build_model, load, pretrain_hf

    _, tokenizer = load(pretrain_hf(progress=False)[0])
    return build_model(len(tokenizer), seed=1).to(torch.float64).state_dict()


def _pass_fail(completions: list[str]) -> list[float]:
    """1 for a completion with at least three upbeat words or "!", else 0: a reward the pretrained model never earns."""
    from .reward_models import upbeat_count

    return [float(upbeat_count(c) >= 3) for c in completions]


# ----------------------------------------------------------------------------------------------- the formats
def _trainer_state(log: list[dict]) -> str:
    """TRL's (transformers') ``trainer_state.json`` holding ``log`` as its ``log_history``."""
    from transformers import TrainerState

    state = TrainerState(global_step=len(log), max_steps=len(log), logging_steps=1, log_history=log)
    return json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True) + "\n"  # as TrainerState.save_to_json


def _course_jsonl(metrics: dict[str, list[float]]) -> str:
    """The course's own log: one JSON dict per step."""
    n = len(metrics["kl_mean"])
    return "".join(json.dumps({"step": t, **{k: v[t] for k, v in metrics.items()}}) + "\n" for t in range(n))


def _verl_jsonl(metrics: dict[str, list[float]]) -> str:
    """verl's file logger: ``{"step": n, "data": {...}}`` per line, from step 1, in verl's keys."""
    lines = []
    for t in range(len(metrics["kl_mean"])):
        kl_token = metrics["kl_mean"][t] / LENGTH
        data = {"actor/reward_kl_penalty": kl_token, "actor/reward_kl_penalty_coeff": metrics["beta"][t],
                "critic/score/mean": metrics["proxy"][t],
                "critic/rewards/mean": metrics["proxy"][t] - metrics["beta"][t] * metrics["kl_mean"][t],
                "actor/entropy": metrics["entropy"][t], "response_length/mean": float(LENGTH)}
        lines.append(json.dumps({"step": t + 1, "data": data}) + "\n")
    return "".join(lines)


def _openrlhf_csv(metrics: dict[str, list[float]]) -> str:
    """An OpenRLHF run exported from a dashboard as CSV: a Step column and its ``train/`` keys."""
    columns = {"train/kl": [v / LENGTH for v in metrics["kl_mean"]],
               "train/ppo_kl": [v / LENGTH for v in metrics["step_kl"]],
               "train/reward": metrics["proxy"], "train/entropy_loss": metrics["entropy"],
               "train/response_length": [float(LENGTH)] * len(metrics["kl_mean"])}
    with io.StringIO(newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Step", *columns])
        for t in range(len(metrics["kl_mean"])):
            writer.writerow([t + 1, *(repr(float(v[t])) for v in columns.values())])
        return out.getvalue()


def _sampler(**faults: Any) -> Callable:
    from .tinylm import sample

    return functools.partial(sample, **faults)


_MAKERS: dict[str, Callable[[int, bool], str]] = {
    "healthy": lambda s, p: _trainer_state(_grpo(s, 0.3, p)),
    "negative_kl": lambda s, p: _course_jsonl(_lesson6(s, 1.0, p, sampler=_sampler(banned=" "))),
    "k3_overflow": lambda s, p: _course_jsonl(_lesson6(s, 0.1, p, estimator="k3", sampler=_sampler(temperature=1.5))),
    "per_token_units": lambda s, p: _verl_jsonl(_lesson6(s, 0.3, p)),
    "trust_region_kl": lambda s, p: _openrlhf_csv(_lesson6(s, 0.01, p, track_step_kl=True)),
    "beta_zero": lambda s, p: _trainer_state(_grpo(s, 0.0, p)),
    "wrong_reference": lambda s, p: _trainer_state(_grpo(s, 0.04, p, reference_state=_untrained_weights())),
    "reference_sync": lambda s, p: _trainer_state(_grpo(s, 0.04, p, sync_ref_model=True, ref_model_sync_steps=4)),
    "no_signal": lambda s, p: _trainer_state(_grpo(s, 0.04, p, reward=_pass_fail)),
}


def make_trace(name: str, seed: int = 0, progress: bool = False) -> str:
    """Run case ``name`` on ``seed`` and return its log's text, in the case's format.

    ``progress=True`` shows a bar while the case's model is pretrained (the first time only; then it loads).

    The TRL cases train for a few seconds each once lesson 9's model is pretrained (and cached); the lesson-6
    cases likewise. For the same numbers on every CPU, run with ``ATEN_CPU_CAPABILITY=default`` and one thread,
    as ``scripts/make_casebook.py`` does.
    """
    entry = case(name)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    text = _MAKERS[entry.name](as_seed(seed), progress)
    if not isinstance(text, str) or not text:
        raise RuntimeError(f"case {name!r} made no log")  # a maker's bug, not the caller's input
    return text
