"""Lesson 9's GRPO run at scale: a real model, vLLM generation, several GPUs. Not run in CI.

The same trainer, reward functions and β as the lesson's CPU runs (``kl_lessons.trl_run``); what changes is
the model, the batch sizes, the completion length, the learning rate and its schedule, the precision (bf16, no
float64 model), generation (vLLM), logging (``--report-to``, none by default), checkpoints and the launcher.
On one GPU (e.g. a Colab T4 or L4)::

    pip install "kl_lessons[lab] @ git+<this repository>" vllm
    python scripts/grpo_at_scale.py --model Qwen/Qwen2.5-0.5B --beta 0.04 --no-vllm --steps 200

On a node with several GPUs, with vLLM generating in the training processes (``colocate``)::

    accelerate launch --num_processes 8 scripts/grpo_at_scale.py --model Qwen/Qwen2.5-1.5B --beta 0.04

and with DeepSpeed ZeRO-3 through accelerate's ``--config_file`` (a ZeRO-3 accelerate config).

What to watch is what the lesson reads on the CPU: ``kl`` (nats per token; × completions/mean_length,
approximately, per completion: with gradient accumulation TRL logs the plain average of micro-batch means),
``entropy``, ``rewards/proxy/mean`` against ``rewards/gold/mean``, ``reward_std`` and
``frac_reward_zero_std``; with vLLM also ``sampling/importance_sampling_ratio/*`` (the gap between the
generating and the training engine, which the lesson's single engine does not have).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B", help="a causal LM on the Hub or a local folder")
    parser.add_argument("--beta", type=float, default=0.04, help="TRL's beta (KL coefficient), ≥ 0")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--num-generations", type=int, default=8, help="completions per prompt (the group)")
    parser.add_argument("--per-device-batch", type=int, default=8, help="completions per GPU per step")
    parser.add_argument("--gradient-accumulation", type=int, default=4)
    parser.add_argument("--max-completion-length", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-6)
    parser.add_argument("--loss-type", default="dapo", choices=["dapo", "grpo", "dr_grpo", "bnpo"])
    parser.add_argument("--scale-rewards", default="group", choices=["group", "batch", "none"])
    parser.add_argument("--no-vllm", action="store_true", help="generate with transformers instead of vLLM")
    parser.add_argument("--output-dir", default="grpo-at-scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-to", nargs="*", default=[], metavar="REPORTER",
                        help="transformers' logging integrations, e.g. tensorboard or wandb (installed separately); "
                             "none by default: the trainer's own log still records every step")
    args = parser.parse_args(argv)
    if args.beta < 0:
        parser.error(f"--beta must be >= 0, got {args.beta}")
    if args.per_device_batch % args.num_generations and args.gradient_accumulation == 1:
        parser.error("--per-device-batch × processes × accumulation must be a multiple of --num-generations")
    return args


def config_kwargs(args: argparse.Namespace) -> dict:
    """The ``GRPOConfig`` fields of the run: the lesson's choices, GPU precision and vLLM where asked."""
    return dict(
        output_dir=args.output_dir, beta=args.beta, max_steps=args.steps, seed=args.seed,
        num_generations=args.num_generations, per_device_train_batch_size=args.per_device_batch,
        gradient_accumulation_steps=args.gradient_accumulation, max_completion_length=args.max_completion_length,
        learning_rate=args.learning_rate, loss_type=args.loss_type, scale_rewards=args.scale_rewards,
        reward_weights=[1.0, 0.0],  # the gold judge is logged beside the proxy, never optimised
        use_vllm=not args.no_vllm, vllm_mode="colocate", bf16=True, logging_steps=1,
        report_to=list(args.report_to),  # no reporter by default: none is a dependency of the course
        log_completions=True, save_strategy="steps", save_steps=100,
    )


def build_config(args: argparse.Namespace, **overrides):
    """``GRPOConfig(**config_kwargs(args))``, with ``overrides`` (a CPU check passes ``bf16=False, use_cpu=True``)."""
    from trl import GRPOConfig

    return GRPOConfig(**{**config_kwargs(args), **overrides})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from datasets import Dataset
    from trl import GRPOTrainer

    from kl_lessons.trl_run import PROMPT, reward_functions

    prompts = Dataset.from_dict({"prompt": [PROMPT] * (args.steps * args.per_device_batch)})
    trainer = GRPOTrainer(model=args.model, reward_funcs=reward_functions(), args=build_config(args),
                          train_dataset=prompts)
    trainer.train()
    return 0


if __name__ == "__main__":
    sys.exit(main())
