"""Lesson 9: TRL's own ``GRPOTrainer`` on the tiny GPT-2 of :mod:`kl_lessons.hf_tiny`, its log kept and checked.

:func:`run_grpo` trains with lesson 6's proxy reward and passes the gold judge as a second reward function with
weight 0, so TRL itself logs ``rewards/gold/mean`` beside ``rewards/proxy/mean`` while only the proxy is
optimised. It returns TRL's ``log_history`` (one dict per optimiser step), the completions of every step, and,
for the steps asked for, the exact batch TRL fed its loss and the policy's weights at that moment, so that a
logged number can be recomputed from scratch (:func:`recompute_logged_kl`).

The trainer facts this module relies on were read from TRL 1.16.0's source (``trl/trainer/grpo_trainer.py``):

* the logged ``kl`` is the per-token k3, ``exp(ref − logp) − (ref − logp) − 1``, multiplied by the importance
  ratio when ``use_bias_correction_kl`` (default True; the ratio is exactly 1 on-policy), averaged over every
  completion token of the batch (``completion_mask``; the end-of-sequence token counts, the padding after it
  does not). It is nats per *token*;
* its log-probs come from TRL's fused LM head, which projects onto the vocabulary in the model's dtype (or the
  autocast dtype: bfloat16 under ``GRPOConfig``'s default ``bf16=True``, which autocasts on a CPU too;
  :func:`grpo_config` turns that off) and folds the log-softmax in float32, whatever that dtype;
* it is logged only when β ≠ 0: with β = 0 no reference model is even loaded;
* the loss adds ``β · per_token_kl`` to each token's policy loss, then aggregates by ``loss_type``.

All KL values are in nats.
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ._validate import count, positive, seed as as_seed
from .estimators import kl_estimate
from .hf_tiny import load, quiet
from .reward_models import default_judge, gold_reward, proxy_reward

#: Every completion starts from the newline, as lesson 6's texts do.
PROMPT = "\n"

#: The settings every run of the lesson shares (TRL's names). 8 completions per prompt, 2 prompts a step.
DEFAULTS = dict(
    num_generations=8, per_device_train_batch_size=16, max_completion_length=32, learning_rate=2e-3,
    lr_scheduler_type="constant",
)

#: The loss options section 4 varies, with TRL 1.16.0's defaults.
TRL_DEFAULTS = dict(loss_type="dapo", scale_rewards="group", use_bias_correction_kl=True, sync_ref_model=False)


@dataclass
class GRPORun:
    """What one ``GRPOTrainer`` run leaves behind.

    Attributes
    ----------
    beta : float
    seed : int
    log : list of dict
        TRL's ``trainer.state.log_history``, one dict per step (``"step"`` counts from 1), without the final
        summary entry. Read a key over steps with :meth:`series`.
    completions : dict of int → list of str
        Every step's completions (the text after the prompt, end-of-sequence newline included when sampled).
    batches : dict of int → dict
        For the steps asked for: the tensors TRL's loss received (``prompt_ids``, ``completion_ids``,
        ``completion_mask``, ``advantages``, ``ref_per_token_logps`` when β ≠ 0…) and ``"policy_state"``,
        the policy's weights when it generated them (before that step's update).
    original_kl : list of float
        With ``track_original_kl``: each step's per-token k3 to the *original* reference, averaged like TRL's
        ``kl``, even when ``sync_ref_model`` moves TRL's reference.
    """

    beta: float
    seed: int
    log: list[dict]
    completions: dict[int, list[str]]
    batches: dict[int, dict] = field(default_factory=dict)
    original_kl: list[float] = field(default_factory=list)

    def series(self, key: str) -> np.ndarray:
        """``key`` of the log over steps, as a float64 array (``ValueError`` if a step lacks it)."""
        if not isinstance(key, str) or any(key not in row for row in self.log):
            known = sorted(self.log[0]) if self.log else []
            raise ValueError(f"key must be a key every step logged, one of {known}; got {key!r}")
        return np.array([row[key] for row in self.log], dtype=np.float64)


def reward_functions(judge=None) -> list:
    """TRL reward functions named ``proxy`` and ``gold`` (TRL logs ``rewards/<function name>/mean``)."""
    judge = judge or default_judge(_alphabet())

    def proxy(completions: list[str], **_: object) -> list[float]:
        return proxy_reward(completions).tolist()

    def gold(completions: list[str], **_: object) -> list[float]:
        return gold_reward(completions, judge).tolist()

    return [proxy, gold]


def _alphabet() -> str:
    from .hf_tiny import corpus_text

    return "".join(sorted(set(corpus_text())))


def grpo_config(beta: float, *, steps: int = 24, seed: int = 0, output_dir: str | os.PathLike | None = None, **options):
    """The ``GRPOConfig`` of the lesson's runs: CPU, offline, float64, no reports, no checkpoints, no bars.

    ``options`` override :data:`DEFAULTS` or set any other ``GRPOConfig`` field (``loss_type``,
    ``scale_rewards``, ``use_bias_correction_kl``, ``sync_ref_model``…). The gold reward gets weight 0.
    """
    from trl import GRPOConfig

    beta = positive(beta, "beta", allow_zero=True)
    steps = count(steps, "steps", maximum=100_000)
    settings = {**DEFAULTS, **options}
    return GRPOConfig(
        output_dir=str(output_dir or tempfile.gettempdir()), use_cpu=True, report_to=[], beta=beta,
        max_steps=steps, seed=as_seed(seed), data_seed=as_seed(seed), logging_steps=1, save_strategy="no",
        disable_tqdm=True, log_level="error", reward_weights=[1.0, 0.0], shuffle_dataset=False,
        # TRL's configs default to bf16=True, which autocasts on a CPU too: TRL's fused LM head then scores tokens
        # in bfloat16, off by ~1e-2 nats (tests/test_lesson09_library.py). Without it the head scores in float32.
        bf16=False, model_init_kwargs={"dtype": torch.float64}, **settings,
    )


def _trainer_class():
    from trl import GRPOTrainer

    class RecordingGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer, unchanged, that also keeps what lesson 9 reads: batches and the original-KL."""

        keep: frozenset = frozenset()
        batches: dict
        original = None  # the untouched reference, when the original KL is tracked
        original_kl: list

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            step = self.state.global_step + 1  # the step this batch is about to train
            if step in self.keep:
                kept = {k: v.detach().clone() for k, v in out.items() if isinstance(v, torch.Tensor)}
                kept["policy_state"] = copy.deepcopy(self.model.state_dict())
                self.batches[step] = kept
            if self.original is not None:
                per_token = _per_token_k3(self.model, self.original, out)
                mask = out["completion_mask"]
                self.original_kl.append(float((per_token * mask).sum() / mask.sum()))
            return out

    return RecordingGRPOTrainer


def _progress(steps: int, desc: str, progress: bool):
    """A callback that shows one tqdm bar over the run's steps."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(total=steps, desc=desc, disable=not progress)

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(1)

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    return Progress()


def run_grpo(
    folder: str | os.PathLike, beta: float, *, steps: int = 24, seed: int = 0, keep_batches: Sequence[int] = (),
    track_original_kl: bool = False, progress: bool = True, desc: str | None = None,
    reward: Callable[[list[str]], Sequence[float]] | None = None, reference_state: Mapping | None = None, **options,
) -> GRPORun:
    """Train the model saved in ``folder`` with TRL's ``GRPOTrainer`` on the proxy reward at this ``beta``.

    Parameters
    ----------
    folder : path
        A model and tokenizer saved by :func:`kl_lessons.hf_tiny.pretrain_hf` (TRL loads it twice: policy and
        reference; the folder is never written to).
    beta : float
        TRL's ``beta`` ≥ 0.
    steps, seed : int
        Optimiser steps (16 completions each by default) and the seed of sampling and of TRL's data order.
    keep_batches : sequence of int
        Steps (from 1) whose loss inputs and policy weights are kept, for :func:`recompute_logged_kl`.
    track_original_kl : bool
        Also record each step's KL to the original reference (see :class:`GRPORun`).
    progress : bool
        A tqdm bar over steps (TRL's own bars and printed logs are off).
    reward : callable, optional
        Completions → scores, trained on in place of the proxy (TRL still logs it as ``rewards/proxy/mean``).
    reference_state : mapping, optional
        Weights loaded into TRL's reference after it is built: a *wrong* reference, for lesson 10's casebook
        (needs β ≠ 0, since TRL loads no reference at β = 0).
    options
        More ``GRPOConfig`` fields, see :func:`grpo_config`.
    """
    from datasets import Dataset
    from transformers import PrinterCallback

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"folder must hold a saved model (config.json), got {str(folder)!r}")
    steps = count(steps, "steps", maximum=100_000)
    if isinstance(keep_batches, (str, bytes)) or not hasattr(keep_batches, "__iter__"):
        raise ValueError(f"keep_batches must be a sequence of steps, got {keep_batches!r}")
    keep = frozenset(count(s, "keep_batches", maximum=steps) for s in keep_batches)
    for name in ("track_original_kl", "progress"):
        if not isinstance(locals()[name], bool):
            raise ValueError(f"{name} must be True or False, got {locals()[name]!r}")
    if reward is not None and not callable(reward):
        raise ValueError(f"reward must be callable (completions -> scores), got {type(reward).__name__}")
    if reference_state is not None and (not isinstance(reference_state, Mapping) or not beta):
        raise ValueError("reference_state must be a state dict, and needs beta != 0 (TRL has no reference at 0)")
    seen: dict[int, list[str]] = {}
    functions = reward_functions()
    trained = functions[0] if reward is None else (lambda completions: [float(r) for r in reward(completions)])

    def proxy(completions: list[str], trainer_state=None, **kwargs) -> list[float]:
        """The trained reward, which also keeps the step's completions (TRL passes its state to reward functions)."""
        seen[trainer_state.global_step + 1] = list(completions)
        return trained(completions)

    with quiet(), tempfile.TemporaryDirectory() as scratch:
        args = grpo_config(beta, steps=steps, seed=seed, output_dir=scratch, **options)
        model, tokenizer = load(folder)
        # One row per prompt that the run will draw: TRL takes per_device_train_batch_size / num_generations a step.
        prompts = Dataset.from_dict({"prompt": [PROMPT] * (steps * args.per_device_train_batch_size)})
        trainer = _trainer_class()(
            model=str(folder), reward_funcs=[proxy, functions[1]], args=args, train_dataset=prompts,
            processing_class=tokenizer, callbacks=[_progress(steps, desc or f"GRPO β = {beta:g}", progress)],
        )
        trainer.remove_callback(PrinterCallback)  # it prints every log line, which disable_tqdm turns on
        trainer.keep, trainer.batches, trainer.original_kl = keep, {}, []
        if reference_state is not None:
            trainer.ref_model.load_state_dict(reference_state)
        if track_original_kl:
            trainer.original = model.requires_grad_(False)
        trainer.train()
    log = [row for row in trainer.state.log_history if "train_runtime" not in row]
    return GRPORun(float(beta), int(seed), log, seen, trainer.batches, trainer.original_kl)


def token_logprobs(model, batch: dict) -> torch.Tensor:
    """log π(completion token | prompt and earlier tokens) for every completion position, shape (B, T), nats.

    Written from the model's logits alone (not TRL's helper): the logits at position i predict token i + 1, so
    the T completion tokens are predicted by the T positions that end one before the last.
    """
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    length = batch["completion_ids"].shape[1]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits[:, -length - 1 : -1]
    return torch.log_softmax(logits.double(), -1).gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)


def _per_token_k3(policy, reference, batch: dict) -> torch.Tensor:
    return kl_estimate(token_logprobs(policy, batch), token_logprobs(reference, batch), "k3")


@dataclass(frozen=True)
class KLCheck:
    """TRL's logged ``kl`` for one step beside the same number recomputed here."""

    logged: float
    recomputed: float
    per_token: torch.Tensor  # k3 of every completion position, shape (B, T), nats (padding included, masked below)
    mask: torch.Tensor  # completion_mask: 1 for the tokens TRL averages over
    per_sequence: torch.Tensor  # Σ_t k3 over each completion's own tokens, shape (B,), nats per completion


def recompute_logged_kl(run: GRPORun, step: int, folder: str | os.PathLike) -> KLCheck:
    """Recompute TRL's logged ``kl`` of ``step`` from the kept batch: policy and reference log-probs, k3, mask.

    The policy is the saved model with the weights it had at that step; the reference is the saved model
    itself (``folder``). k3 comes from :func:`kl_lessons.estimators.kl_estimate`; the average is over every
    completion token of the batch, as TRL's ``global_masked_mean``.
    """
    if not isinstance(run, GRPORun):
        raise ValueError(f"run must be a GRPORun, got {type(run).__name__}")
    if step not in run.batches:
        raise ValueError(f"step must be one of the kept steps {sorted(run.batches)}, got {step!r}")
    if run.beta == 0:
        raise ValueError("run has beta = 0: TRL logs no kl then (no reference is loaded)")
    batch = run.batches[step]
    reference, _ = load(folder)
    policy = copy.deepcopy(reference)
    policy.load_state_dict(batch["policy_state"])
    per_token = _per_token_k3(policy, reference, batch)
    mask = batch["completion_mask"].to(per_token.dtype)
    logged = next(row["kl"] for row in run.log if row["step"] == step)
    return KLCheck(logged, float((per_token * mask).sum() / mask.sum()), per_token, mask, (per_token * mask).sum(-1))


#: How each ``loss_type`` divides the sum of per-token losses (TRL 1.16.0, one process, no accumulation).
def token_weights(mask: torch.Tensor, loss_type: str, max_completion_length: int) -> torch.Tensor:
    """The weight each completion token's β·k3 gets in TRL's loss, by ``loss_type``; shape of ``mask``.

    * ``"dapo"`` (TRL's default) and ``"bnpo"``: 1 / (completion tokens in the batch): every token alike;
    * ``"grpo"``: 1 / (B · that completion's length): a token of a short completion weighs more;
    * ``"dr_grpo"``: 1 / (B · max_completion_length): a constant, so a batch of short completions pays less.
    """
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2:
        raise ValueError(f"mask must be a (B, T) tensor, got {type(mask).__name__}")
    mask = mask.double()
    if loss_type in ("dapo", "bnpo"):
        return mask / mask.sum()
    if loss_type == "grpo":
        return mask / (mask.shape[0] * mask.sum(-1, keepdim=True).clamp(min=1.0))
    if loss_type == "dr_grpo":
        return mask / (mask.shape[0] * count(max_completion_length, "max_completion_length"))
    raise ValueError(f"loss_type must be one of 'dapo', 'bnpo', 'grpo', 'dr_grpo', got {loss_type!r}")


@dataclass(frozen=True)
class KLTerm:
    """β's part of TRL's loss on one batch: its value and its gradient with respect to the policy's weights."""

    value: float
    gradient: torch.Tensor  # flattened over every parameter, float64


def _loss_trainer(folder: Path, run: GRPORun, **options):
    """A GRPOTrainer built as the run's was, its policy set to a kept step's weights, ready to call its loss."""
    from datasets import Dataset
    from transformers import PrinterCallback

    functions = reward_functions()
    with quiet(), tempfile.TemporaryDirectory() as scratch:
        args = grpo_config(run.beta, steps=1, seed=run.seed, output_dir=scratch, **options)
        _, tokenizer = load(folder)
        trainer = _trainer_class()(
            model=str(folder), reward_funcs=functions, args=args, processing_class=tokenizer,
            train_dataset=Dataset.from_dict({"prompt": [PROMPT] * args.per_device_train_batch_size}),
        )
    trainer.remove_callback(PrinterCallback)
    # Set by the training loop before the first loss; one step, no accumulation.
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def kl_terms(
    run: GRPORun, step: int, folder: str | os.PathLike, variants: dict[str, dict],
) -> dict[str, KLTerm]:
    """β's term of TRL's own loss on the batch kept at ``step``, for each variant of the loss options.

    Each variant is a dict of trainer settings (``loss_type``, ``use_bias_correction_kl``, ``beta``…, TRL's
    names). The term is ``loss(β) − loss(β = 0)`` computed by TRL's ``_compute_loss`` on the same batch and
    weights, so the policy-gradient part cancels; its gradient is the gradient of that difference.
    """
    if not isinstance(run, GRPORun) or step not in run.batches or run.beta == 0:
        raise ValueError("run must be a GRPORun with beta > 0 and step one of its kept steps")
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise ValueError(f"variants must map names to dicts of trainer settings, got {variants!r}")
    batch = {k: v for k, v in run.batches[step].items() if k != "policy_state"}
    trainer = _loss_trainer(Path(folder), run)
    model = trainer.model
    model.load_state_dict(run.batches[step]["policy_state"])
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    found = {}
    for name, settings in variants.items():
        settings = {"beta": run.beta, **settings}
        totals = []
        for beta in (settings["beta"], 0.0):
            trainer.beta = positive(beta, "beta", allow_zero=True)
            trainer.loss_type = settings.get("loss_type", TRL_DEFAULTS["loss_type"])
            trainer.args.use_bias_correction_kl = settings.get("use_bias_correction_kl", True)
            loss = trainer._compute_loss(model, dict(batch))
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            flat = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])
            totals.append((float(loss.detach()), flat.double()))
        found[name] = KLTerm(totals[0][0] - totals[1][0], totals[0][1] - totals[1][1])
    return found


def surrogate_kl_gradient(
    run: GRPORun, step: int, folder: str | os.PathLike, beta: float, weights: torch.Tensor, corrected: bool,
) -> torch.Tensor:
    """The gradient lesson 7 predicts for β's term, written without TRL: ∇ β Σ_t w_t · c_t · log π(y_t).

    ``c_t`` is held fixed: ``log π − log π_ref`` (k1, the reverse KL's score coefficient) when the k3 term is
    multiplied by the importance ratio (``use_bias_correction_kl``), ``1 − π_ref/π`` when it is not.
    """
    folder = Path(folder)
    batch = run.batches[step]
    reference, _ = load(folder)
    policy = copy.deepcopy(reference)
    policy.load_state_dict(batch["policy_state"])
    ref = token_logprobs(reference, batch)
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    length = batch["completion_ids"].shape[1]
    logits = policy(input_ids=ids, attention_mask=mask).logits[:, -length - 1 : -1]
    logp = torch.log_softmax(logits, -1).gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)
    coefficient = (logp - ref) if corrected else -torch.expm1(ref - logp)
    surrogate = beta * (weights * coefficient.detach() * logp).sum()
    grads = torch.autograd.grad(surrogate, [p for p in policy.parameters() if p.requires_grad], allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                      for g, p in zip(grads, [p for p in policy.parameters() if p.requires_grad])]).double()


def group_advantages(rewards: torch.Tensor, group: int, scale_rewards: str) -> torch.Tensor:
    """GRPO's advantages from rewards in groups of ``group`` completions of one prompt, as TRL forms them.

    ``"group"``: (r − group mean) / (group std + 1e-4); ``"batch"``: the same over the batch's std; ``"none"``:
    r − group mean. The std is the unbiased one (``torch.std``), as TRL's ``nanstd``.
    """
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    group = count(group, "group")
    if rewards.ndim != 1 or rewards.numel() % group:
        raise ValueError(f"rewards must be 1-D with a multiple of group = {group} entries, got {tuple(rewards.shape)}")
    grouped = rewards.view(-1, group)
    centred = (grouped - grouped.mean(1, keepdim=True)).reshape(-1)
    if scale_rewards == "none":
        return centred
    if scale_rewards == "group":
        return centred / (grouped.std(1).repeat_interleave(group) + 1e-4)
    if scale_rewards == "batch":
        return centred / (rewards.std() + 1e-4)
    raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale_rewards!r}")
