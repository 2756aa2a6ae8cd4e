"""kl_lessons.run_logs: reading TRL, verl, OpenRLHF and the course's own logs into the monitor's terms.

The logs here are written by the tests in each trainer's own format and keys, with each logged statistic
computed from per-token log-probabilities the way that trainer's code computes it (the files are named in
run_logs.KEY_TABLE); the quantities the reader derives are checked against independent computations.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

import trl
from kl_lessons import controllers, reward_models, rlhf, tinylm
from kl_lessons.monitor import health_report
from kl_lessons.run_logs import (
    KEY_TABLE, RunLog, averaged_first_row, check_run, format_report, main, parse_log_text, read_log,
)

F64 = torch.float64
STEPS = 150


# ----------------------------------------------------------------------------- per-token batches
def _batch(seed: int, n: int = 16, t: int = 10, vocab: int = 5, drift: float = 0.3, ragged: bool = True) -> dict:
    """Log-probs of sampled tokens under a policy, its reference and the pre-update policy, with a mask."""
    gen = torch.Generator().manual_seed(seed)
    ref = torch.randn(t, vocab, generator=gen, dtype=F64).log_softmax(-1)
    pol = (ref + drift * torch.randn(t, vocab, generator=gen, dtype=F64)).log_softmax(-1)
    old = (pol + 0.05 * torch.randn(t, vocab, generator=gen, dtype=F64)).log_softmax(-1)
    tokens = torch.multinomial(pol.exp(), n, replacement=True, generator=gen).T  # (n, t), sampled from the policy
    pick = lambda lp: lp.gather(1, tokens.T).T  # noqa: E731 - log-prob of each sampled token, (n, t)
    lengths = torch.randint(2, t + 1, (n,), generator=gen) if ragged else torch.full((n,), t)
    mask = (torch.arange(t) < lengths[:, None]).to(F64)
    return {"logp": pick(pol), "ref": pick(ref), "old": pick(old), "mask": mask, "lengths": lengths.to(F64),
            "pol_dist": pol, "ref_dist": ref}


def _k1(b: dict) -> torch.Tensor:
    return b["logp"] - b["ref"]


def _k3(b: dict) -> torch.Tensor:
    lr = b["ref"] - b["logp"]
    return lr.exp() - lr - 1


def _per_sequence_truth(per_token: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean over sequences of the KL summed over each one's tokens, one sequence at a time."""
    sums = [math.fsum(v for v, m in zip(row.tolist(), keep.tolist()) if m) for row, keep in zip(per_token, mask)]
    return math.fsum(sums) / len(sums)


# The statistic each trainer logs, computed as its code does (files in KEY_TABLE's sources).
def _trl_kl(b: dict) -> float:  # grpo_trainer.py: global_masked_mean(per_token_kl), k3
    return float((_k3(b) * b["mask"]).sum() / b["mask"].sum())


def _verl_reward_kl(b: dict) -> float:  # ray_trainer.py apply_kl_penalty: masked_mean over tokens, then over rows
    return float(((_k1(b) * b["mask"]).sum(-1) / b["mask"].sum(-1)).mean())


def test_trl_kl_times_mean_length_is_the_mean_kl_per_sequence_exactly() -> None:
    for seed in range(5):
        b = _batch(seed)
        row = {"kl": _trl_kl(b), "completions/mean_length": float(b["lengths"].mean()), "step": 1, "reward": 0.0}
        run = parse_log_text(json.dumps(row))
        assert run.trainer == "trl" and run.kl_per == "sequence"
        assert run.metrics["kl_mean"][0] == pytest.approx(_per_sequence_truth(_k3(b), b["mask"]), rel=1e-12)
        assert run.metrics["kl_per_token"][0] == row["kl"]


def test_the_converted_kl_estimates_the_exact_kl_per_sequence() -> None:
    """Units, by Monte Carlo: a TRL-style log of a big batch of full-length texts reads as the exact KL per text."""
    b = _batch(7, n=20_000, t=6, drift=0.5, ragged=False)
    exact = float(torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=b["pol_dist"]), torch.distributions.Categorical(logits=b["ref_dist"])
    ).sum())  # positions are independent, so the sequence KL is the sum of the per-position KLs
    row = {"kl": _trl_kl(b), "completions/mean_length": 6.0, "step": 3}
    run = parse_log_text(json.dumps(row), trainer="trl")
    per_seq = _k3(b).sum(-1)
    stderr = float(per_seq.std() / math.sqrt(per_seq.numel()))
    assert abs(run.metrics["kl_mean"][0] - exact) < 4 * stderr
    assert exact > 10 * stderr  # the check has power: a per-token reading (÷ 6) would fail it


def test_verl_reward_kl_is_per_sequence_only_for_equal_lengths() -> None:
    def read(b: dict) -> RunLog:
        line = (f"step:1 - actor/reward_kl_penalty:{_verl_reward_kl(b)!r} - "
                f"response_length/mean:{float(b['lengths'].mean())!r} - critic/score/mean:0.5")
        return parse_log_text(line)

    even = _batch(1, ragged=False)
    assert read(even).metrics["kl_mean"][0] == pytest.approx(_per_sequence_truth(_k1(even), even["mask"]), rel=1e-12)
    ragged = _batch(1)
    run = read(ragged)
    truth = _per_sequence_truth(_k1(ragged), ragged["mask"])
    per_token = (_k1(ragged) * ragged["mask"]).sum(-1) / ragged["lengths"]
    cov = float(((ragged["lengths"] - ragged["lengths"].mean()) * (per_token - per_token.mean())).mean())
    assert run.metrics["kl_mean"][0] == pytest.approx(truth - cov, rel=1e-12)  # off by exactly the covariance
    assert abs(cov) > 1e-3 * abs(truth)
    assert any("covariance" in note and "actor/reward_kl_penalty" in note for note in run.notes)


# ----------------------------------------------------------------------------- whole runs in each format
def _series(seed: int, fault: str | None = None) -> dict[str, np.ndarray]:
    """A run's per-step truth: per-token KL to the reference rising then levelling off, reward up, entropy flat."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS, dtype=np.float64)
    kl = 0.02 * (1 - np.exp(-t / 15)) * (1 + 0.05 * rng.standard_normal(STEPS))
    length = 100 + 5 * rng.standard_normal(STEPS)
    reward = 1 - np.exp(-t / 30) + 0.02 * rng.standard_normal(STEPS)
    entropy = 1.0 - 0.1 * t / STEPS + 0.01 * rng.standard_normal(STEPS)
    kl_max_seq = kl * length * (2 + 0.1 * rng.random(STEPS))
    if fault == "kl_negative":  # samples scored as if drawn from the policy: k1 mean reads low for 20 steps
        kl[60:80] -= 0.05
    elif fault == "kl_unbounded":  # the KL climbs over the last 40 steps
        kl[-40:] += np.linspace(0, 0.04, 40)
    elif fault == "reward_up_entropy_down":
        entropy[70:] *= 0.3
    elif fault == "nonfinite":
        kl[90] = math.nan
    elif fault == "kl_spikes":
        kl_max_seq[100] *= 10
    return {"kl": kl, "length": length, "reward": reward, "entropy": entropy, "kl_max_seq": kl_max_seq}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)  # TRL writes null for a NaN metric (grpo_trainer.py, log)


def _trl_rows(s: dict) -> list[dict]:
    return [{"loss": 0.01, "grad_norm": 0.5, "learning_rate": 1e-6, "num_tokens": 1000.0 * (i + 1),
             "completions/mean_length": s["length"][i], "completions/clipped_ratio": 0.0, "rewards/judge/mean":
             s["reward"][i], "rewards/judge/std": 0.1, "reward": s["reward"][i], "reward_std": 0.1,
             "frac_reward_zero_std": 0.0, "kl": _num(s["kl"][i]), "entropy": s["entropy"][i],
             "clip_ratio/region_mean": 0.0, "step_time": 0.2, "epoch": i / STEPS, "step": i + 1}
            for i in range(STEPS)]


def _trainer_state(rows: list[dict]) -> str:
    summary = {"epoch": 1.0, "step": STEPS, "total_flos": 0.0, "train_loss": 0.01, "train_runtime": 30.0,
               "train_samples_per_second": 10.0, "train_steps_per_second": 5.0}
    evaluation = {"eval_loss": 0.02, "eval_reward": 0.4, "epoch": 0.5, "step": STEPS // 2}
    history = rows[: STEPS // 2] + [evaluation] + rows[STEPS // 2:] + [summary]
    state = {"best_global_step": None, "best_metric": None, "epoch": 1.0, "global_step": STEPS,
             "log_history": history, "logging_steps": 1, "max_steps": STEPS}
    return json.dumps(state, indent=2, sort_keys=True)  # as transformers' TrainerState.save_to_json


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: "" if v is None else repr(v) for k, v in r.items()} for r in rows)
    return out.getvalue()


def _verl_metrics(s: dict, i: int) -> dict:
    return {"actor/reward_kl_penalty": float(s["kl"][i]), "actor/reward_kl_penalty_coeff": 0.001,
            "actor/ppo_kl": 1e-4, "actor/pg_loss": -0.1, "actor/entropy": float(s["entropy"][i]),
            "critic/score/mean": float(s["reward"][i]), "critic/rewards/mean": float(s["reward"][i]) - 0.01,
            "response_length/mean": float(s["length"][i]), "timing_s/step": 3.0, "training/global_step": i + 1}


def _verl_console(s: dict) -> str:
    # ray's worker prefix, other output between metric lines, and numpy 2's repr of a numpy float
    lines = ["Creating file logger at /tmp/x.jsonl", "(TaskRunner pid=123) Training Progress: 0%"]
    for i in range(STEPS):
        pairs = [f"{k}:{'np.float64(%r)' % v if k == 'response_length/mean' else repr(v)}"
                 for k, v in _verl_metrics(s, i).items()]
        lines.append(f"(TaskRunner pid=123) step:{i + 1} - " + " - ".join(pairs))
    return "\n".join(lines) + "\n"


def _verl_file(s: dict) -> str:  # verl/utils/tracking.py FileLogger: {"step": n, "data": {...}}
    return _jsonl([{"step": i + 1, "data": _verl_metrics(s, i)} for i in range(STEPS)])


def _orl_status(s: dict, i: int) -> dict:
    return {"policy_loss": -0.1, "actor_lr": 1e-6, "kl": float(s["kl"][i]), "ppo_kl": 1e-4, "vllm_kl": 2e-4,
            "reward": float(s["reward"][i]), "return": float(s["reward"][i]) - 0.01,
            "response_length": float(s["length"][i]), "total_length": 200.0, "entropy_loss": float(s["entropy"][i]),
            "timing/step_total": 5.0}


def _orl_console(s: dict) -> str:  # ppo_trainer.py: logger.info(f"✨ Global step {global_step}: {log_status}")
    return "".join(f"2026-12-02 INFO ✨ Global step {i + 1}: {_orl_status(s, i)!r}\n" for i in range(STEPS))


def _orl_csv(s: dict) -> str:  # a dashboard export of the "train/" keys (openrlhf/utils/logging_utils.py)
    return _csv([{"train/global_step": i + 1, **{f"train/{k}": v for k, v in _orl_status(s, i).items()}}
                 for i in range(STEPS)])


def _ours(s: dict) -> str:  # the course's train() metrics, one row per step
    return _jsonl([{"kl_mean": _num(s["kl"][i] * s["length"][i]), "kl_max": float(s["kl_max_seq"][i]),
                    "reward_mean": float(s["reward"][i]), "entropy": float(s["entropy"][i]), "beta": 0.3,
                    "gold": 0.1} for i in range(STEPS)])


#: (trainer, format, writer of the log's text, key of the per-token KL or None if already per sequence)
LOGS: list[tuple[str, str, Callable[[dict], str]]] = [
    ("trl", "trainer_state.json", lambda s: _trainer_state(_trl_rows(s))),
    ("trl", "jsonl", lambda s: _jsonl(_trl_rows(s))),
    ("trl", "csv", lambda s: _csv(_trl_rows(s))),
    ("verl", "console", _verl_console),
    ("verl", "jsonl", _verl_file),
    ("openrlhf", "console", _orl_console),
    ("openrlhf", "csv", _orl_csv),
    ("kl_lessons", "jsonl", _ours),
]
IDS = [f"{t}-{f}" for t, f, _ in LOGS]


@pytest.mark.parametrize(("trainer", "fmt", "write"), LOGS, ids=IDS)
def test_a_healthy_log_reads_in_the_monitors_terms_and_raises_nothing(trainer: str, fmt: str, write: Callable,
                                                                      tmp_path: Path) -> None:
    s = _series(0)
    path = tmp_path / ("trainer_state.json" if fmt == "trainer_state.json" else f"log.{fmt}")
    path.write_text(write(s), encoding="utf-8")
    run = read_log(path)
    assert (run.trainer, run.fmt, run.kl_per) == (trainer, fmt, "sequence")
    np.testing.assert_array_equal(run.steps, np.arange(1, STEPS + 1))
    truth = s["kl"] * s["length"]
    np.testing.assert_allclose(run.metrics["kl_mean"], truth, rtol=1e-12)
    np.testing.assert_allclose(run.metrics["reward_mean"], s["reward"], rtol=1e-12)
    np.testing.assert_allclose(run.metrics["entropy"], s["entropy"], rtol=1e-12)
    assert check_run(run) == [] and health_report({"kl_mean": truth, "reward_mean": s["reward"],
                                                   "entropy": s["entropy"]}) == []
    if trainer in ("verl", "openrlhf"):  # the trust-region and sampler KLs are read, and kept apart
        assert run.metrics["trust_region_kl"][-1] == 1e-4
        assert run.meanings[run.sources["trust_region_kl"]].quantity == "kl_old"
    if trainer == "openrlhf":
        assert run.metrics["sampler_kl"][0] == 2e-4
    assert not any("not one" in note for note in run.notes), run.notes  # every key is known
    if fmt == "trainer_state.json":  # the evaluation row and the run's summary are named, not steps
        assert any("evaluation row" in n for n in run.notes) and any("summary" in n for n in run.notes)


FAULTS = {  # check → (the formats that carry it, the first 0-based row where it must fire)
    "kl_negative": ([0, 3, 5], 69),
    "kl_unbounded": ([1, 4, 6], STEPS - 1),
    "reward_up_entropy_down": ([0, 3, 6], None),
    "nonfinite": ([0, 1, 7], 90),
    "kl_spikes": ([7], 100),
}


@pytest.mark.parametrize("check", list(FAULTS))
def test_each_check_fires_on_a_faulty_log_in_each_trainers_format(check: str) -> None:
    formats, step = FAULTS[check]
    for index in formats:
        trainer, fmt, write = LOGS[index]
        run = parse_log_text(write(_series(1, check)))
        found = {w.check: w.step for w in check_run(run)}
        assert check in found, (trainer, fmt, found)
        if step is not None:
            assert found[check] == step, (trainer, fmt, found)
        assert set(found) <= {check, "nonfinite"}, (trainer, fmt, found)
        report = format_report(run)
        assert f"[{check}] trainer step {found[check] + 1}" in report


def test_a_real_run_of_the_courses_trainer_reads_back_exactly(tmp_path: Path) -> None:
    vocab = tinylm.CharVocab.from_text("ab !")
    torch.manual_seed(0)
    reference = tinylm.TinyLM(vocab.size, 8, 8)
    judge = reward_models.CharTrigramJudge.fit(["ab a!", "ba b!"], vocab.chars)
    run = rlhf.train(reference, vocab, controllers.FixedKLController(0.1), judge, steps=12, batch_size=2,
                     length=3, progress=False)
    path = tmp_path / "metrics.jsonl"
    n = len(run.metrics["kl_mean"])
    path.write_text(_jsonl([{k: v[i] for k, v in run.metrics.items()} | {"step": i} for i in range(n)]))
    read = read_log(path)
    assert read.trainer == "kl_lessons" and read.notes == []
    for key in ("kl_mean", "kl_max", "reward_mean", "entropy"):
        np.testing.assert_array_equal(read.metrics[key], run.metrics[key])
    assert check_run(read) == health_report(run.metrics)


# ----------------------------------------------------------------------------- bad input
def test_malformed_lines_and_values_are_named_never_skipped_silently() -> None:
    rows = _trl_rows(_series(2))
    text = _jsonl(rows).splitlines()
    text[4] = text[4][:-10]                                              # line 5: broken JSON
    text[9] = json.dumps({**rows[9], "kl": "0.01"})                      # line 10: a number as text
    text[14] = json.dumps({k: v for k, v in rows[14].items() if k != "entropy"})   # line 15: entropy missing
    text[19] = json.dumps({**rows[19], "my_metric": 1.0})                # line 20: a key TRL does not log
    text[24] = "[1, 2]"                                                  # line 25: not a dict
    run = parse_log_text("\n".join(text)[:-30])                          # last line cut off mid-write
    notes = "\n".join(run.notes)
    assert run.steps.size == STEPS - 3
    assert re.search(r"line 5: not valid JSON", notes)
    assert "line 10: key 'kl' holds '0.01', not a number" in notes
    assert "line 15: key 'entropy' is missing" in notes
    assert "line 20: key 'my_metric' is not one TRL's GRPOTrainer" in notes
    assert "line 25: holds a list" in notes
    assert f"line {STEPS}: the last line is not valid JSON" in notes and "cut off" in notes
    assert math.isnan(run.metrics["kl_mean"][8]) and math.isnan(run.metrics["entropy"][13])
    assert {w.check for w in check_run(run)} == {"nonfinite"}  # the NaNs are reported, not hidden


def test_many_bad_lines_make_one_note_that_counts_them() -> None:
    rows = _jsonl(_trl_rows(_series(3))).splitlines()
    for i in range(10, 40):
        rows[i] = "{oops"
    run = parse_log_text("\n".join(rows) + "\n")
    [note] = [n for n in run.notes if "not valid JSON" in n]
    assert note.startswith("line 11:") and "30 lines like this: 11, 12, 13, 14, 15, …" in note


def test_a_cut_off_trainer_state_keeps_its_complete_rows() -> None:
    text = _trainer_state(_trl_rows(_series(4)))
    cut = text[: text.index('"step": 100') + 5]
    run = parse_log_text(cut)
    assert run.steps[-1] == 99 and run.fmt == "trainer_state.json"  # the row of step 100 is cut
    assert any("is cut off" in n and "log_history entry" in n for n in run.notes)


def test_a_log_without_a_kl_to_the_reference_says_so_and_keeps_the_trust_region_kl_apart() -> None:
    s = _series(5)
    rows = [{k: v for k, v in _verl_metrics(s, i).items() if "reward_kl" not in k} | {"step": i + 1}
            for i in range(STEPS)]
    run = parse_log_text(_jsonl(rows))
    assert "kl_mean" not in run.metrics and run.kl_per == ""
    assert any("no KL to the reference" in n and "'actor/ppo_kl' is here" in n for n in run.notes)
    assert check_run(run) == []  # reward and entropy are still checked
    assert "trust-region KL" in format_report(run)
    trl_run = parse_log_text(_jsonl([{k: v for k, v in r.items() if k != "kl"} for r in _trl_rows(s)]))
    assert any("default beta is 0.0" in n for n in trl_run.notes)


def test_kl_in_both_the_reward_and_the_loss_is_pointed_out() -> None:
    s = _series(6)
    rows = [_verl_metrics(s, i) | {"actor/kl_loss": 0.01, "actor/kl_coef": 0.001, "step": i} for i in range(STEPS)]
    run = parse_log_text(_jsonl(rows))
    assert run.sources["kl_mean"] == "actor/reward_kl_penalty × response_length/mean"
    assert any("applied twice" in n for n in run.notes)


def test_without_a_length_key_the_kl_stays_per_token() -> None:
    rows = [{k: v for k, v in r.items() if not k.startswith("completions/")} for r in _trl_rows(_series(7))]
    run = parse_log_text(_jsonl(rows), trainer="trl_rloo")
    assert run.kl_per == "token" and run.meanings["kl"].estimator.startswith("k1")
    np.testing.assert_allclose(run.metrics["kl_mean"], _series(7)["kl"], rtol=1e-12)
    assert any("nats per token" in n for n in run.notes)
    # RLOO logs its reward before the KL penalty is subtracted (trl/trainer/rloo_trainer.py recomputes it from
    # rewards_per_func for the log), so no "penalty subtracted" note.
    assert run.meanings["reward"].quantity == "reward" and not any("KL penalty subtracted" in n for n in run.notes)


def test_a_first_row_after_step_1_skips_the_starts_at_0_check_with_a_note() -> None:
    rows = _trl_rows(_series(7))
    for row in rows:
        row["kl"] += 1.0                             # high from the first row: the check would fire
    assert [w.check for w in check_run(parse_log_text(_jsonl(rows)))][:1] == ["kl_starts_high"]
    later = parse_log_text(_jsonl(rows[9:]))         # as if logged from step 10 (logging_steps=10 averages 1-10)
    assert "kl_starts_high" not in [w.check for w in check_run(later)]
    assert any("is step 10, not 1" in n for n in later.notes)
    assert averaged_first_row(later.steps) and not averaged_first_row(np.array([0.0, 1.0]))


def test_a_kl_max_below_the_mean_is_a_note_not_a_crash() -> None:
    text = _ours(_series(8)).splitlines()
    row = json.loads(text[30])
    text[30] = json.dumps(row | {"kl_max": row["kl_mean"] / 2})
    run = parse_log_text("\n".join(text))
    assert "kl_max" not in run.metrics and any("line 31: 'kl_max' is below 'kl_mean'" in n for n in run.notes)


@pytest.mark.parametrize("text", ["", "   \n", "hello\nworld\n", "a,b\n1,2\n", '{"log_history": 3}',
                                  '{"log_history": [{"eval_loss": 1.0, "step": 1}]}'])
def test_unreadable_text_raises_value_error_naming_text(text: str) -> None:
    with pytest.raises(ValueError, match="text"):
        parse_log_text(text)


@pytest.mark.parametrize(("kwargs", "word"), [({"text": None}, "text"), ({"text": "x", "trainer": "ppo"}, "trainer"),
                                             ({"text": "x", "name": 3}, "name")])
def test_bad_arguments_name_themselves(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        parse_log_text(**kwargs)


def test_read_log_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path: no such file"):
        read_log(tmp_path / "none.json")
    with pytest.raises(ValueError, match="path"):
        read_log(3)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the command line
def test_main_prints_the_report_and_exits_with_the_verdict(tmp_path: Path, capsys: Any) -> None:
    healthy, faulty = tmp_path / "healthy.log", tmp_path / "faulty.log"
    healthy.write_text(_verl_console(_series(9)))
    faulty.write_text(_verl_console(_series(9, "kl_negative")))
    assert main([str(healthy)]) == 0
    assert "Health checks:\n  no warning." in capsys.readouterr().out
    assert main([str(faulty)]) == 1
    assert "[kl_negative] trainer step 70" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.log")]) == 2
    assert "cannot read the log: path: no such file" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter imports torch
def test_python_dash_m_runs_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_text(_trainer_state(_trl_rows(_series(10, "reward_up_entropy_down"))))
    done = subprocess.run([sys.executable, "-m", "kl_lessons.run_logs", str(path), "--trainer", "trl"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "[reward_up_entropy_down]" in done.stdout and "kl: KL to the reference, per token, in the loss" in done.stdout


# ----------------------------------------------------------------------------- provenance of the key names
def test_trl_keys_are_the_ones_the_installed_trl_logs() -> None:
    """Every TRL key of the table is written by the installed trainer file its source names."""
    assert trl.__version__ == "1.16.0"
    root = Path(trl.__file__).parent
    for trainer in ("trl", "trl_rloo"):
        for key, meaning in KEY_TABLE[trainer].items():
            relative = re.search(r"trl/(trainer/\w+\.py)", meaning.source).group(1)
            code = (root / relative).read_text(encoding="utf-8")
            assert re.search(r'_metrics\[mode\]\["' + re.escape(key) + r'"\]', code), (trainer, key)


def test_odd_but_readable_lines_in_each_format() -> None:
    s = _series(11)
    long_console = _orl_console(s) * 8  # more than the 200,000 characters the format is guessed from
    assert long_console.count("\n") == 8 * STEPS and len(long_console) > 200_000
    assert parse_log_text(long_console).trainer == "openrlhf"
    odd = _orl_console(s).splitlines()
    odd[5] = "INFO ✨ Global step 6: {'kl': tensor(0.01), 'ppo_kl': nan, 'reward': 0.5, 'response_length': 99.0}"
    run = parse_log_text("\n".join(odd))
    assert math.isnan(run.metrics["trust_region_kl"][5]) and math.isnan(run.metrics["kl_mean"][5])
    assert any(n.startswith("line 6: key 'kl' holds 'tensor(") for n in run.notes)
    verl = _verl_console(s).splitlines()
    verl[10] = verl[10].replace(" - actor/ppo_kl:", " - oops - actor/ppo_kl:")
    run = parse_log_text("\n".join(verl))
    assert run.steps.size == STEPS and any(n.startswith("line 11: 'oops' is not key:value") for n in run.notes)
    compact = json.dumps({"log_history": _trl_rows(s)})  # a trainer_state.json written without indentation
    assert parse_log_text(compact).fmt == "trainer_state.json"
    two_on_a_line = _jsonl(_trl_rows(s)).replace("\n", "\n1, 2\n", 1)  # the one-call fast path must not absorb it
    assert any("line 2: not valid JSON" in n for n in parse_log_text(two_on_a_line).notes)


def test_the_table_agrees_with_the_practice_pages_table_of_logged_keys() -> None:
    """Two readings of the same sources, kept apart: every KL key the practice page lists means the same here."""
    from kl_lessons.practice_map import LOGGED_KEYS

    names = {"TRL GRPO": "trl", "verl": "verl", "OpenRLHF": "openrlhf"}
    checked = 0
    for trainer, keys, what, unit in LOGGED_KEYS:
        if trainer not in names:
            continue
        for key in keys:
            meaning = KEY_TABLE[names[trainer]][key]
            assert ("per token" in unit) == (meaning.per == "token"), (trainer, key)
            assert ("trust region" in what) == (meaning.quantity == "kl_old"), (trainer, key)
            checked += 1
    assert checked >= 7


def test_a_log_written_by_trls_own_grpo_trainer() -> None:
    """A real log_history: lesson 9's run_grpo (TRL 1.16.0's GRPOTrainer, β = 0.1, 3 steps; how it was made is
    in the file). Every key it holds is one the table knows, and the units follow from its own keys."""
    path = Path(__file__).parent / "data" / "trl_grpo_log_history.json"
    history = json.loads(path.read_text(encoding="utf-8"))["log_history"]
    run = read_log(path)
    assert (run.trainer, run.fmt, run.kl_per, run.steps.tolist()) == ("trl", "trainer_state.json", "sequence",
                                                                       [1.0, 2.0, 3.0])
    assert [n for n in run.notes if not n.startswith("the keys fit")] == []  # no unknown key, no bad line
    kl = np.array([row["kl"] for row in history])
    length = np.array([row["completions/mean_length"] for row in history])
    assert kl[0] == 0.0 and (kl[1:] > 0).all()  # step 1 samples from the reference itself
    np.testing.assert_array_equal(run.metrics["kl_mean"], kl * length)
    np.testing.assert_array_equal(run.metrics["entropy"], [row["entropy"] for row in history])
    # TRL's reward is the weighted sum of its reward functions; the gold judge has weight 0 in lesson 9
    np.testing.assert_allclose(run.metrics["reward_mean"], [row["rewards/proxy/mean"] for row in history])


@pytest.mark.slow  # reads the pinned verl and OpenRLHF wheels
def test_verl_and_openrlhf_keys_are_written_in_the_pinned_files_their_sources_name() -> None:
    """Each verl and OpenRLHF key of the table appears in the file its source names, in the pinned wheel.

    A key is found as a string literal, whole or without its first segment (verl adds prefixes such as
    ``actor/`` where it gathers a worker's metrics), or as a keyword argument (OpenRLHF fills its logged status from
    fields set by name, e.g. ``response_length=``).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import trainer_sources as ts

    for trainer in ("verl", "openrlhf"):
        source = ts.pinned(trainer)
        for key, meaning in KEY_TABLE[trainer].items():
            where = re.search(rf"{trainer} ([\d.]+), ({trainer}/[\w/]+\.py)", meaning.source)
            assert where and where.group(1) == ts.PINS[trainer], (trainer, key, meaning.source)
            code = source.read_file(where.group(2))
            names = {key, key.split("/", 1)[-1]}
            found = any(f'"{n}"' in code or f"'{n}'" in code or f'"{n}/' in code or re.search(rf"\b{re.escape(n)}=", code)
                        for n in names)
            assert found, f"{trainer} {ts.PINS[trainer]}, {where.group(2)}: no {key!r}"


def test_the_monitor_module_runs_as_the_log_reader(tmp_path: Path) -> None:
    """``python -m kl_lessons.monitor LOG`` (the name the monitor's users reach for) prints run_logs' report."""
    from kl_lessons import casebook

    log = tmp_path / "trainer_state.json"
    log.write_text(casebook.trace_text("wrong_reference"))
    done = subprocess.run([sys.executable, "-m", "kl_lessons.monitor", str(log)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "[kl_starts_high] trainer step 1" in done.stdout, done.stdout + done.stderr
