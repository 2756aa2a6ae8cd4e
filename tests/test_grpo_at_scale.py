"""scripts/grpo_at_scale.py, the lesson 9 run at GPU scale: it parses its arguments and builds a valid config.

Nothing is trained or downloaded. The config is built with a CPU's overrides (bf16 needs a GPU to validate);
every other field is the script's, so a renamed or removed TRL option fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import grpo_at_scale  # noqa: E402


def test_the_defaults_are_the_lessons_choices_at_gpu_scale() -> None:
    args = grpo_at_scale.parse_args([])
    fields = grpo_at_scale.config_kwargs(args)
    assert fields["beta"] == 0.04 and fields["loss_type"] == "dapo" and fields["scale_rewards"] == "group"
    assert fields["reward_weights"] == [1.0, 0.0] and fields["use_vllm"] and fields["bf16"]


@pytest.mark.slow  # imports TRL and accelerate
def test_the_config_builds_with_trls_own_validation() -> None:
    args = grpo_at_scale.parse_args(["--beta", "0.1", "--loss-type", "grpo", "--no-vllm", "--steps", "7"])
    config = grpo_at_scale.build_config(args, bf16=False, use_cpu=True, report_to=[])
    assert (config.beta, config.loss_type, config.max_steps, config.use_vllm) == (0.1, "grpo", 7, False)
    assert config.num_generations == 8 and config.gradient_accumulation_steps == 4


@pytest.mark.slow  # imports transformers' integrations
def test_the_default_reporters_need_nothing_beyond_the_course() -> None:
    """The trainer builds its reporters' callbacks from ``report_to``; one whose package is missing fails there."""
    from transformers.integrations import get_reporting_integration_callbacks

    config = grpo_at_scale.build_config(grpo_at_scale.parse_args(["--no-vllm"]), bf16=False, use_cpu=True)
    assert config.report_to == []
    for callback in get_reporting_integration_callbacks(config.report_to):
        callback()
    chosen = grpo_at_scale.parse_args(["--report-to", "tensorboard", "wandb"])
    assert grpo_at_scale.config_kwargs(chosen)["report_to"] == ["tensorboard", "wandb"]


@pytest.mark.parametrize("argv", [["--beta", "-1"], ["--loss-type", "ppo"], ["--steps", "many"]])
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        grpo_at_scale.parse_args(argv)
