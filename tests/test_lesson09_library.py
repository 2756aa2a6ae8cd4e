"""Lesson 9's library: the tiny GPT-2 and its tokenizer (hf_tiny), and TRL's GRPOTrainer run and read (trl_run).

The trainings here are a few steps long: what they check is the plumbing (the cache, the log, the recomputed
KL), not what training does; the lesson's claims about training are in tests/trl_seeds.py.
"""

from __future__ import annotations

import functools
import json

import pytest
import torch

from kl_lessons.estimators import kl_estimate
from kl_lessons.hf_tiny import PAD, build_model, build_tokenizer, corpus_text, load, pretrain_hf
from kl_lessons.trl_run import GRPORun, grpo_config, recompute_logged_kl, reward_functions, run_grpo, token_logprobs


@functools.lru_cache(maxsize=None)
def small_reference():
    """A briefly pretrained model (its quality does not matter here), in the test run's own cache."""
    return pretrain_hf(steps=12, batch_size=8, window=24, seed=5, progress=False)


@functools.lru_cache(maxsize=None)
def short_run(beta: float) -> GRPORun:
    folder, _ = small_reference()
    return run_grpo(folder, beta, steps=3, seed=1, keep_batches=(1, 3), track_original_kl=beta > 0, progress=False)


def test_the_tokenizer_has_one_token_per_character_and_decodes_without_spaces() -> None:
    tok = build_tokenizer()
    text = corpus_text()
    assert len(tok) == len(set(text)) + 1 and tok.pad_token == PAD and tok.pad_token_id == 0
    ids = tok(text[:200])["input_ids"]
    assert len(ids) == 200 and tok.decode(ids) == text[:200]        # newlines and spaces survive the round trip
    assert tok.eos_token == "\n" and tok.convert_tokens_to_ids("\n") == tok.eos_token_id


def test_the_model_is_a_float64_gpt2_without_dropout_and_its_seed_fixes_its_weights() -> None:
    a, b, c = build_model(30, seed=0), build_model(30, seed=0), build_model(30, seed=1)
    assert a.dtype == torch.float64 and a.config.n_layer == 2 and a.config.n_embd == 64
    assert a.config.resid_pdrop == a.config.embd_pdrop == a.config.attn_pdrop == 0.0
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)


@pytest.mark.slow  # trains or runs TRL's trainer
def test_pretraining_is_cached_by_its_arguments_and_loads_bit_for_bit() -> None:
    folder, losses = small_reference()
    again, losses_again = pretrain_hf(steps=12, batch_size=8, window=24, seed=5, progress=False)
    assert again == folder and losses_again == losses and len(losses) == 12
    assert json.loads((folder / "losses.json").read_text()) == losses
    other, _ = pretrain_hf(steps=12, batch_size=8, window=24, seed=6, progress=False)
    assert other != folder
    model, tok = load(folder)
    assert model.dtype == torch.float64 and not model.training and len(tok) == model.config.vocab_size


@pytest.mark.parametrize(
    "kwargs, word", [({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"), ({"window": 500}, "window"),
                     ({"progress": 1}, "progress"), ({"seed": -3}, "seed")],
)
def test_pretraining_refuses_bad_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        pretrain_hf(**kwargs)


def test_reward_functions_are_named_as_trl_logs_them_and_score_like_lesson_6() -> None:
    proxy, gold = reward_functions()
    assert (proxy.__name__, gold.__name__) == ("proxy", "gold")
    assert proxy(["fun fun!!", "the cat."]) == [4.0, 0.0]                 # two upbeat words, two marks
    fluent, shouting = gold(["the cat walks to the park.", "!!!!!!!!!!"])
    assert fluent > shouting


@pytest.mark.slow  # trains or runs TRL's trainer
def test_a_run_logs_every_step_with_the_gold_reward_weighted_zero() -> None:
    run = short_run(0.04)
    assert [row["step"] for row in run.log] == [1, 2, 3] and sorted(run.completions) == [1, 2, 3]
    assert all(len(texts) == 16 for texts in run.completions.values())
    for row in run.log:
        # reward = 1·proxy + 0·gold: the gold judge is logged, never optimised
        assert row["reward"] == pytest.approx(row["rewards/proxy/mean"], abs=1e-6)
        assert {"kl", "entropy", "reward_std", "frac_reward_zero_std", "clip_ratio/region_mean"} <= set(row)
    assert run.series("kl")[0] == 0.0                                      # step 1: the policy is the reference
    assert "kl" not in short_run(0.0).log[0]                               # β = 0 loads no reference, logs no kl


@pytest.mark.slow  # trains or runs TRL's trainer
def test_the_logged_kl_is_recomputed_from_the_kept_batch() -> None:
    folder, _ = small_reference()
    run = short_run(0.04)
    check = recompute_logged_kl(run, 3, folder)
    # TRL's fused LM head scores tokens in float32 whatever the model's dtype: equal to float32 precision
    assert check.logged > 0 and check.recomputed == pytest.approx(check.logged, rel=1e-5)
    # per completion = per token × the batch's mean completion length (end-of-sequence token included)
    mean_length = next(row["completions/mean_length"] for row in run.log if row["step"] == 3)
    assert float(check.per_sequence.mean()) == pytest.approx(check.recomputed * mean_length, rel=1e-12)
    # the original-reference KL equals TRL's own kl while TRL's reference does not move
    assert run.original_kl == pytest.approx(list(run.series("kl")), rel=1e-5, abs=1e-9)


@pytest.mark.slow  # trains or runs TRL's trainer
def test_token_logprobs_agree_with_a_step_by_step_forward_pass() -> None:
    folder, _ = small_reference()
    model, _ = load(folder)
    batch = short_run(0.04).batches[1]
    fast = token_logprobs(model, batch)
    row = torch.cat([batch["prompt_ids"][0], batch["completion_ids"][0]])
    p = batch["prompt_ids"].shape[1]
    with torch.no_grad():
        slow = [torch.log_softmax(model(input_ids=row[None, : p + t]).logits[0, -1], -1)[row[p + t]]
                for t in range(4)]
    assert torch.allclose(fast[0, :4], torch.stack(slow), atol=1e-12)
    assert torch.equal(kl_estimate(fast, fast, "k3"), torch.zeros_like(fast))


def test_run_arguments_are_checked() -> None:
    folder, _ = small_reference()
    with pytest.raises(ValueError, match="folder"):
        run_grpo(folder / "missing", 0.0, steps=1)
    with pytest.raises(ValueError, match="beta"):
        grpo_config(-0.1)
    with pytest.raises(ValueError, match="keep_batches"):
        run_grpo(folder, 0.0, steps=2, keep_batches=(5,))
    with pytest.raises(ValueError, match="key"):
        short_run(0.0).series("kl")
    with pytest.raises(ValueError, match="beta = 0"):
        recompute_logged_kl(short_run(0.0), 1, folder)
    with pytest.raises(ValueError, match="step"):
        recompute_logged_kl(short_run(0.04), 2, folder)


# ------------------------------------------------------------------ self-checks: right answer, each slip, junk
from kl_lessons.self_checks.lesson09 import (  # noqa: E402
    check_group_advantages, check_grpo_weights, check_logged_kl, check_per_completion_kl,
)
from kl_lessons.trl_run import group_advantages, token_weights  # noqa: E402


def _k3(logp, ref):
    return torch.expm1(ref - logp) - (ref - logp)


@pytest.mark.parametrize("fn, verdict", [
    (lambda lp, rf, m: float((_k3(lp, rf) * m).sum() / m.sum()), "Correct"),
    (lambda lp, rf, m: float(_k3(lp, rf).mean()), "padding"),
    (lambda lp, rf, m: float(((lp - rf) * m).sum() / m.sum()), "k1"),
    (lambda lp, rf, m: float(((_k3(lp, rf) * m).sum(-1) / m.sum(-1)).mean()), "per-completion means"),
    (lambda lp, rf, m: float((_k3(lp, rf) * m).sum() / m.shape[0]), "per completion"),
    (lambda lp, rf, m: float((_k3(rf, lp) * m).sum() / m.sum()), "upside down"),
    (lambda lp, rf, m: 1 / 0, "raised ZeroDivisionError"),
    (lambda lp, rf, m: "a lot", "one finite number"),
    (lambda lp, rf, m: None, "returns nothing"),
    (..., "Fill in"),
])
def test_check_logged_kl(fn, verdict: str) -> None:
    assert verdict in check_logged_kl(fn)


@pytest.mark.parametrize("answer, verdict", [
    (0.85 * 23.5, "Correct"), (0.85 / 23.5, "multiply"), (0.85 * 32, "longest"), (0.85, "still per token"),
    (3.0, "Not yet"), ("lots", "finite number"), (float("nan"), "finite number"), (True, "finite number"),
    (..., "Fill in"),
])
def test_check_per_completion_kl(answer, verdict: str) -> None:
    assert verdict in check_per_completion_kl(answer)


def test_check_per_completion_kl_names_the_lessons_and_the_factor() -> None:
    verdict = check_per_completion_kl(0.5 * 20.0, kl=0.5, mean_length=20.0)
    assert "10.00 nats per completion" in verdict and "lessons 3–6" in verdict and "20.0 times" in verdict


@pytest.mark.parametrize("fn, verdict", [
    (lambda m: token_weights(m, "grpo", 6), "Correct"),
    (lambda m: token_weights(m, "dapo", 6), "'dapo'"),
    (lambda m: token_weights(m, "dr_grpo", 6), "'dr_grpo'"),
    (lambda m: token_weights(m, "grpo", 6) * m.shape[0], "divide by B"),
    (lambda m: 1.0 / (m.shape[0] * m.sum(-1, keepdim=True).double()).expand(m.shape), "padding"),
    (lambda m: torch.ones(3), "shape"),
    (lambda m: torch.full(m.shape, float("nan")), "NaN"),
    (lambda m: "weights", "Not yet"),
    (lambda m: None, "returns nothing"),
    (lambda m: m.foo, "raised AttributeError"),
    (..., "Fill in"),
])
def test_check_grpo_weights(fn, verdict: str) -> None:
    assert verdict in check_grpo_weights(fn)


def _population(r, g):
    x = r.view(-1, g)
    return ((x - x.mean(1, keepdim=True)) / (x.std(1, unbiased=False, keepdim=True) + 1e-4)).reshape(-1)


@pytest.mark.parametrize("fn, verdict", [
    (lambda r, g: group_advantages(r, g, "group"), "Correct"),
    (_population, "unbiased"),
    (lambda r, g: group_advantages(r, g, "batch"), "batch's std"),
    (lambda r, g: group_advantages(r, g, "none"), "'none'"),
    (lambda r, g: (r - r.mean()) / (r.std() + 1e-4), "each group's own mean"),
    (lambda r, g: r, "Not yet"),
    (lambda r, g: r[:3], "shape"),
    (lambda r, g: None, "returns nothing"),
    (lambda r, g: [[]], "shape"),
    (..., "Fill in"),
])
def test_check_group_advantages(fn, verdict: str) -> None:
    assert verdict in check_group_advantages(fn)


def test_group_advantages_and_token_weights_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="rewards"):
        group_advantages(torch.ones(7), 4, "group")
    with pytest.raises(ValueError, match="scale_rewards"):
        group_advantages(torch.ones(8), 4, "standard")
    with pytest.raises(ValueError, match="loss_type"):
        token_weights(torch.ones(2, 3), "ppo", 3)
    with pytest.raises(ValueError, match="mask"):
        token_weights(torch.ones(3), "dapo", 3)
    # the weights of every loss type sum to what the type promises: 1 for dapo/bnpo/grpo, (tokens)/(B·max) for dr_grpo
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert all(float(token_weights(mask, t, 3).sum()) == pytest.approx(1.0) for t in ("dapo", "bnpo", "grpo"))
    assert float(token_weights(mask, "dr_grpo", 3).sum()) == pytest.approx(3 / 6)


@pytest.mark.slow  # trains or runs TRL's trainer
def test_bf16_autocast_on_a_cpu_moves_trls_log_probs_by_about_a_hundredth() -> None:
    """Why grpo_config sets bf16=False (the glossary's "bf16 autocast"): TRL's default autocasts on a CPU too, and
    its fused LM head then projects in bfloat16 even for a float64 model; without autocast it agrees with float64
    to float32 precision."""
    from trl.trainer.utils import add_fused_lm_head

    folder, _ = small_reference()
    model, _ = load(folder)
    batch = short_run(0.04).batches[1]
    exact = token_logprobs(model, batch)
    add_fused_lm_head(model)
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, : batch["prompt_ids"].shape[1]] = -100
    gaps = []
    for autocast in (False, True):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            fused = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).log_probs
        length = batch["completion_ids"].shape[1]
        gaps.append(float(((fused[:, -length:].double() - exact).abs() * batch["completion_mask"]).max()))
    assert gaps[0] < 1e-5 and 1e-3 < gaps[1] < 1e-1
