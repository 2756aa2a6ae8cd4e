"""Lesson 10: read a real trainer's log into the terms of :mod:`kl_lessons.monitor`.

A KL of 0.002 in one trainer's log and of 3 in another's can be the same run: one logs a per-token mean,
the other a per-sequence sum; one logs the KL to the reference, the other the KL between the policy
before and after an update (a trust region), or between the sampler and the trainer. This module reads a
log written by TRL, verl, OpenRLHF or the course's own trainer (lesson 6), says what each key measures,
converts the KL to the reference to nats per sequence with the log's own mean response length, and runs
the monitor's health checks on it.

Formats read (detected from the text):

* TRL's ``trainer_state.json`` (its ``log_history`` list), also when the file was cut off mid-write;
* JSON lines, one dict per line: TRL's ``log_history`` rows, verl's file logger (``{"step", "data"}``),
  OpenRLHF's status dicts, or the course's ``train`` metrics;
* verl's console lines (``step:12 - actor/kl_loss:0.0013 - …``) and OpenRLHF's
  (``Global step 12: {'kl': 0.0013, …}``), among any other lines of a console log;
* CSV with one column per key (as exported from a tracking dashboard).

Nothing is dropped without a note: an unknown key, a line that is not valid JSON, a value that is not a
number, a missing value, an evaluation row, a cut-off file each give a note naming the line (and the key).
Only a log with no training row that can be read, or whose keys are none of any trainer's, raises
``ValueError``. The command line that prints the report lives here rather than in ``kl_lessons.monitor``
so that the monitor stays a library of checks on arrays, with no file formats in it.

Which key means what was read from each trainer's own code; :data:`KEY_TABLE` names the version, the file
and the date for every key. Command line: ``python -m kl_lessons.run_logs LOG [--trainer NAME]`` (or
``python -m kl_lessons.monitor LOG``, which runs it).
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import io
import json
import math
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ._validate import as_series
from .monitor import HealthWarning, health_report

__all__ = [
    "KEY_TABLE",
    "KeyMeaning",
    "RunLog",
    "TRAINERS",
    "check_run",
    "format_report",
    "averaged_first_row",
    "late_level",
    "main",
    "parse_log_text",
    "read_log",
    "reading_rules",
]

#: Largest log read, in bytes (a 10^6-step verl console log with its usual ~45 keys a line is about 1.2 GB).
MAX_BYTES = 2 * 10**9
#: The day the trainers' sources behind :data:`KEY_TABLE` were read.
READ_ON = "2026-12-02"


@dataclass(frozen=True)
class KeyMeaning:
    """What one logged key measures.

    Attributes
    ----------
    quantity : str
        ``"kl_ref"`` (KL to the reference), ``"kl_ref_max"`` (largest per-sequence KL to the reference),
        ``"kl_old"`` (KL between the policy before and after an update: a trust region, not the KL to the
        reference), ``"kl_sampler"`` (between the sampler and the trainer's policy), ``"sampler_gap"`` (mean
        absolute log-probability gap between them, not a KL), ``"reward"`` (task reward, no KL in it),
        ``"reward_shaped"`` (reward minus the KL penalty), ``"entropy"`` (nats per token), ``"length"``
        (mean response length in tokens), ``"beta"`` (the KL coefficient) or ``"zero_std_frac"`` (share of
        prompt groups whose rewards are all equal).
    per : str
        ``"token"``, ``"sequence"`` or ``""`` (not a KL).
    applied : str
        Where the trainer puts this KL: ``"reward"``, ``"loss"``, ``"not applied"`` (logged only), or ``""``.
    estimator : str
        How the value is computed (k1, k3, …), with the trainer's default when it is a setting.
    source : str
        Trainer version and file the meaning was read from, and the date it was read.
    """

    quantity: str
    per: str
    applied: str
    estimator: str
    source: str


def _src(where: str) -> str:
    return f"{where} (read {READ_ON})"


_TRL = _src("trl 1.16.0, trl/trainer/grpo_trainer.py")
_RLOO = _src("trl 1.16.0, trl/trainer/rloo_trainer.py")
_VERL_RT = _src("verl 0.9.1, verl/trainer/ppo/ray_trainer.py")
_VERL_LOSS = _src("verl 0.9.1, verl/workers/utils/losses.py (prefixed 'actor/' in ray_trainer.py)")
_VERL_CORE = _src("verl 0.9.1, verl/trainer/ppo/core_algos.py")
_VERL_MET = _src("verl 0.9.1, verl/trainer/ppo/metric_utils.py")
_VERL_RC = _src("verl 0.9.1, verl/trainer/ppo/rollout_corr_helper.py")
_ORL_ACT = _src("openrlhf 0.11.2, openrlhf/trainer/ray/ppo_actor.py")
_ORL_EXP = _src("openrlhf 0.11.2, openrlhf/trainer/ppo_utils/experience_maker.py")
_ORL_GEN = _src("openrlhf 0.11.2, openrlhf/trainer/ppo_utils/samples_generator.py")
_OURS = _src("kl_lessons/rlhf.py, this course's lesson 6 trainer")

# Ordered: when two keys measure the same quantity, the first present is the one the checks read.
_GRPO_KEYS = {
    "kl": KeyMeaning("kl_ref", "token", "loss", "k3 (times π/π_old with use_bias_correction_kl, the default), "
                     "mean over every completion token of the batch; logged only when beta ≠ 0", _TRL),
    "reward": KeyMeaning("reward", "", "", "sum of the reward functions, batch mean", _TRL),
    "entropy": KeyMeaning("entropy", "token", "", "mean over completion tokens, nats", _TRL),
    "completions/mean_length": KeyMeaning("length", "", "", "mean completion length, tokens", _TRL),
    "frac_reward_zero_std": KeyMeaning("zero_std_frac", "", "", "share of prompt groups whose rewards have zero "
                                       "spread (their advantages are 0)", _TRL),
    "sampling/sampling_logp_difference/mean": KeyMeaning(
        "sampler_gap", "token", "not applied", "mean |log π_old − log π_vLLM| over tokens", _TRL),
}
_RLOO_KEYS = {
    "kl": KeyMeaning("kl_ref", "token", "reward", "k1 (log π_old − log π_ref), mean over tokens", _RLOO),
    "reward": KeyMeaning("reward", "", "", "sum of the reward functions, batch mean (logged before the KL penalty "
                         "is subtracted)", _RLOO),
    "entropy": KeyMeaning("entropy", "token", "", "mean over completion tokens, nats", _RLOO),
    "completions/mean_length": KeyMeaning("length", "", "", "mean completion length, tokens", _RLOO),
    "frac_reward_zero_std": KeyMeaning("zero_std_frac", "", "", "share of prompt groups whose rewards have zero "
                                       "spread (their advantages are 0)", _RLOO),
}
_VERL_KEYS = {
    "actor/reward_kl_penalty": KeyMeaning(
        "kl_ref", "token", "reward", "algorithm.kl_penalty (default 'kl' = k1); per-sequence token means, "
        "averaged over sequences; logged only with algorithm.use_kl_in_reward=True (off by default)", _VERL_RT),
    "actor/kl_loss": KeyMeaning(
        "kl_ref", "token", "loss", "actor.kl_loss_type (default 'low_var_kl' = k3 clipped to ±10); per token "
        "under the default loss_agg_mode 'token-mean'", _VERL_LOSS),
    "actor/ppo_kl": KeyMeaning("kl_old", "token", "not applied", "k1 of π_old against π_θ, token mean", _VERL_CORE),
    "rollout_corr/k3_kl": KeyMeaning("kl_sampler", "token", "not applied",
                                     "k3 of KL(π_rollout ‖ π_old), token mean", _VERL_RC),
    "rollout_corr/kl": KeyMeaning("kl_sampler", "token", "not applied",
                                  "k1 of KL(π_rollout ‖ π_old), token mean", _VERL_RC),
    "critic/score/mean": KeyMeaning("reward", "", "", "sequence score before the KL penalty, batch mean", _VERL_MET),
    "critic/rewards/mean": KeyMeaning("reward_shaped", "", "", "score minus the in-reward KL penalty", _VERL_MET),
    "actor/entropy": KeyMeaning("entropy", "token", "", "aggregated like the loss, nats", _VERL_RT),
    "response_length/mean": KeyMeaning("length", "", "", "mean response length, tokens", _VERL_MET),
    "actor/reward_kl_penalty_coeff": KeyMeaning("beta", "", "reward", "β of the in-reward penalty", _VERL_RT),
    "actor/kl_coef": KeyMeaning("beta", "", "loss", "actor.kl_loss_coef", _VERL_LOSS),
}
_ORL_KEYS = {
    "kl": KeyMeaning("kl_ref", "token", "reward", "--algo.kl.estimator (default k1), clamped to ±10 per token "
                     "(openrlhf/models/utils.py); per-sample token mean, averaged over samples. With "
                     "--algo.kl.use_loss it is the KL loss instead; with no reference loaded (init_coef 0, no KL "
                     "loss) it is logged as 0", _ORL_EXP),
    "ppo_kl": KeyMeaning("kl_old", "token", "not applied", "k1 of π_old against π_θ, token mean", _ORL_ACT),
    "vllm_kl": KeyMeaning("kl_sampler", "token", "not applied", "k1 of KL(π_vLLM ‖ π_old), token mean", _ORL_ACT),
    "reward": KeyMeaning("reward", "", "", "reward of the sample, batch mean", _ORL_GEN),
    "return": KeyMeaning("reward_shaped", "", "", "reward minus the per-token KL penalty, summed", _ORL_EXP),
    "entropy_loss": KeyMeaning("entropy", "token", "", "mean entropy over tokens (logged with entropy_coef)",
                               _ORL_ACT),
    "response_length": KeyMeaning("length", "", "", "generated tokens per sample, mean", _ORL_GEN),
}
_OUR_KEYS = {
    "kl_mean": KeyMeaning("kl_ref", "sequence", "reward", "train's estimator (default k1), summed over the text",
                          _OURS),
    "kl_max": KeyMeaning("kl_ref_max", "sequence", "reward", "largest per-text KL of the batch", _OURS),
    "reward_mean": KeyMeaning("reward", "", "", "proxy reward, batch mean", _OURS),
    "entropy": KeyMeaning("entropy", "token", "", "mean per-character entropy, nats", _OURS),
    "step_kl": KeyMeaning("kl_old", "sequence", "not applied", "k3 of KL(π_before ‖ π_after), per text", _OURS),
    "beta": KeyMeaning("beta", "", "reward", "the controller's β", _OURS),
}

#: Trainer name → logged key → what it measures. Keys were read from each trainer's source on the date given.
KEY_TABLE: dict[str, dict[str, KeyMeaning]] = {
    "trl": _GRPO_KEYS, "trl_rloo": _RLOO_KEYS, "verl": _VERL_KEYS, "openrlhf": _ORL_KEYS, "kl_lessons": _OUR_KEYS,
}
#: What each trainer name stands for.
TRAINERS: dict[str, str] = {
    "trl": "TRL's GRPOTrainer (trl 1.16.0)",
    "trl_rloo": "TRL's RLOOTrainer (trl 1.16.0)",
    "verl": "verl's PPO trainer (verl 0.9.1)",
    "openrlhf": "OpenRLHF's PPO trainer (openrlhf 0.11.2)",
    "kl_lessons": "the course's train() (lesson 6)",
}

# Keys each trainer logs that the checks do not read (read from the same files), as exact names or prefixes
# ending in "/". Bookkeeping keys (step, epoch) and run summaries are handled separately.
_TRL_OTHER = (
    "loss", "grad_norm", "learning_rate", "num_tokens", "reward_std", "step_time",
    "entropy_coef", "aux_loss", "policy_loss", "cispo_clip_ratio", "num_input_tokens_seen",
    "completions/", "rewards/", "clip_ratio/", "sampling/", "tools/", "vespo/",
)
_OTHER: dict[str, tuple[str, ...]] = {
    "trl": _TRL_OTHER,
    "trl_rloo": _TRL_OTHER,
    "verl": ("actor/", "critic/", "training/", "perf/", "rollout_corr/", "val-core/", "val-aux/", "global_seqlen/",
             "response_length/", "response_length_non_aborted/", "response/", "prompt_length/", "tool_call_counts/",
             "num_turns/", "timing_s/", "timing_per_token_ms/"),
    "openrlhf": ("policy_loss", "actor_lr", "actor_grad_norm", "ppo_clip_ratio", "is_filter_ratio", "logprobs_diff",
                 "total_length", "score", "critic_loss", "values", "critic_lr", "critic_grad_norm",
                 "dynamic_filtering_pass_rate", "truncated", "timing/", "generated_samples"),
    "kl_lessons": ("proxy", "gold", "distinct2", "ref_loglik", "exclaim_share"),
}
# Per-token KLs logged as a mean of per-sequence means (not a mean over all tokens): times the mean length they
# give the mean per-sequence KL only when every response has the same length.
_SEQUENCE_AVERAGED = {("verl", "actor/reward_kl_penalty"), ("openrlhf", "kl")}
_STEP_KEYS = ("step", "global_step", "train/global_step", "training/global_step", "_step", "Step")
_BOOKKEEPING = frozenset(_STEP_KEYS) | {"epoch", "training/epoch", "_runtime", "_timestamp", "Wall time"}
# The transformers Trainer's end-of-run summary (trainer.py, speed_metrics) is one row of log_history.
_SUMMARY = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos",
                      "train_loss", "train_tokens_per_second"})
_EVAL_PREFIXES = ("eval_", "eval/", "val/", "val-core/", "val-aux/", "test_")


def reading_rules() -> dict[str, Any]:
    """Everything this module reads a log by, as plain JSON data: each trainer's key table and the keys it
    recognises but does not check, the sequence-averaged per-token keys, and the step, bookkeeping, summary and
    evaluation keys.

    Public API: the one source lesson 10's log reader (``kl_lessons/web/src/lessons/log_reader.js``) reads a log by,
    sent in its state (:func:`kl_lessons.explorer_state.log_reader_state`).
    """
    return {
        "trainers": [{"name": name, "label": TRAINERS[name],
                      "keys": [{"key": key, **dataclasses.asdict(meaning)} for key, meaning in table.items()],
                      "other": list(_OTHER[name])} for name, table in KEY_TABLE.items()],
        "sequence_averaged": sorted([trainer, key] for trainer, key in _SEQUENCE_AVERAGED),
        "step_keys": list(_STEP_KEYS),
        "bookkeeping": sorted(_BOOKKEEPING),
        "summary": sorted(_SUMMARY),
        "eval_prefixes": list(_EVAL_PREFIXES),
    }


def _known(trainer: str, key: str) -> bool:
    return key in KEY_TABLE[trainer] or any(
        key.startswith(p) if p.endswith("/") else key == p for p in _OTHER[trainer])


def _normal(trainer: str, key: str) -> str:
    # OpenRLHF's trackers prefix every training key with "train/" (openrlhf/utils/logging_utils.py).
    return key[6:] if trainer == "openrlhf" and key.startswith("train/") else key


@dataclass
class RunLog:
    """A trainer's log, read into the monitor's terms.

    Attributes
    ----------
    trainer : str
        Key of :data:`TRAINERS` whose key table was used.
    fmt : str
        The format the text was read as.
    steps : numpy.ndarray
        The trainer's step number of each logged row (float; NaN if a row had none).
    lines : numpy.ndarray
        The 1-based line of the file each row came from.
    meanings : dict
        Each key of the log that is in :data:`KEY_TABLE`, with its meaning.
    sources : dict
        Name in :attr:`metrics` → the logged key it was computed from.
    metrics : dict
        Per-row float64 series. The monitor reads ``kl_mean`` (KL to the reference, nats, per sequence when the
        log has a length key, else per token: see :attr:`kl_per`), ``kl_max``, ``reward_mean`` and ``entropy``;
        ``frac_reward_zero_std`` too; ``kl_per_token``, ``trust_region_kl``, ``sampler_kl``, ``sampler_gap``, ``length`` and ``beta`` are shown
        in the report.
    kl_per : str
        ``"sequence"`` or ``"token"``: the unit of ``metrics["kl_mean"]``; ``""`` without a KL to the reference.
    notes : list of str
        Everything read with a caveat or left out, each naming its line.
    """

    trainer: str
    fmt: str
    steps: np.ndarray
    lines: np.ndarray
    meanings: dict[str, KeyMeaning]
    sources: dict[str, str]
    metrics: dict[str, np.ndarray]
    kl_per: str
    notes: list[str] = field(default_factory=list)


class _Notes:
    """Collects notes, one per (key, problem), counting repeats instead of listing them."""

    SHOWN = 5  # lines listed per note

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], tuple[int, str]] = {}
        self.lines: dict[tuple[str, str], list[int]] = {}
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, kind: str, key: str, line: int, text: str) -> None:
        if (kind, key) not in self.first:
            self.first[(kind, key)] = (line, text)
            self.lines[(kind, key)] = []
        if len(self.lines[(kind, key)]) < self.SHOWN:
            self.lines[(kind, key)].append(line)
        self.counts[(kind, key)] += 1

    def render(self) -> list[str]:
        out = []
        for (kind, key), (line, text) in sorted(self.first.items(), key=lambda kv: kv[1][0]):
            n = self.counts[(kind, key)]
            shown = ", ".join(map(str, self.lines[(kind, key)])) + (", …" if n > self.SHOWN else "")
            more = f" ({n} lines like this: {shown})" if n > 1 else ""
            out.append(f"line {line}: {text}{more}" if line else f"{text}{more}")
        return out


# ----------------------------------------------------------------------------------------------- formats
_WS_COMMA = re.compile(r"[\s,]*")
_VERL_LINE = re.compile(r"(?:^|\s)step:(\d+) - (.*)$", re.M)  # re.M: format detection searches many lines
_ORL_LINE = re.compile(r"Global step (\d+): (\{.*\})\s*$", re.M)
_NP_SCALAR = re.compile(r"^np\.\w+\((.*)\)$")  # numpy 2 prints np.float64(0.5)


def _line_of(text: str, pos: int, start_line: int, start_pos: int) -> int:
    return start_line + text.count("\n", start_pos, pos)


def _rows_trainer_state(text: str, notes: _Notes) -> list[tuple[int, dict]]:
    """Rows of ``log_history``, read entry by entry so that a file cut off mid-write keeps its complete rows."""
    key = text.find('"log_history"')
    if key < 0:
        raise ValueError("log has no \"log_history\" list: is it a transformers trainer_state.json?")
    bracket = text.find("[", key)
    if bracket < 0 or text[key + len('"log_history"'):bracket].strip() != ":":
        raise ValueError("log: \"log_history\" is not followed by a list")
    decoder = json.JSONDecoder()
    rows: list[tuple[int, dict]] = []
    pos, line, line_pos = bracket + 1, 1, 0
    while True:
        pos = _WS_COMMA.match(text, pos).end()
        line, line_pos = _line_of(text, pos, line, line_pos), pos
        if pos >= len(text):
            notes.add("truncated", "", line, f"the file ends inside log_history after {len(rows)} complete rows "
                      "(cut off while being written?); those rows are read")
            break
        if text[pos] == "]":
            break
        try:
            entry, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            # A complete trainer_state.json ends with the closing brace of its top-level dict.
            what = "is cut off (the file ends inside it)" if not text.rstrip().endswith("}") else "is not valid JSON"
            notes.add("truncated", "", line, f"log_history entry {len(rows)} {what} ({err.msg}); "
                      f"the {len(rows)} rows before it are read, nothing after it")
            break
        if isinstance(entry, dict):
            rows.append((line, entry))
        else:
            notes.add("not_dict", "", line, f"log_history entry is a {type(entry).__name__}, not a dict; left out")
    return rows


def _rows_jsonl(text: str, notes: _Notes) -> list[tuple[int, dict]]:
    rows: list[tuple[int, dict]] = []
    lines = text.splitlines()
    numbered = [(number, raw) for number, raw in enumerate(lines, 1) if raw.strip()]
    try:  # fast path, one call for the whole file; it counts only if each line held exactly one value
        whole = json.loads("[" + ",".join(raw for _, raw in numbered) + "]")
    except ValueError:
        whole = None
    if whole is not None and len(whole) == len(numbered):
        parsed: Iterable[tuple[int, Any]] = ((number, row) for (number, _), row in zip(numbered, whole))
    else:
        parsed = _each_line(numbered, len(lines), text.endswith("\n"), notes)
    for number, row in parsed:
        if not isinstance(row, dict):
            notes.add("not_dict", "", number, f"holds a {type(row).__name__}, not a dict of metrics; left out")
            continue
        data = row.get("data")
        if isinstance(data, dict) and set(row) <= {"step", "data"}:  # verl's file logger: {"step": n, "data": {...}}
            row = {"step": row.get("step"), **data}
        rows.append((number, row))
    return rows


def _each_line(numbered: list[tuple[int, str]], n_lines: int, ends_with_newline: bool,
               notes: _Notes) -> Iterable[tuple[int, Any]]:
    """JSON lines one at a time, each line that is not valid JSON noted."""
    for number, raw in numbered:
        try:
            row = json.loads(raw)
        except ValueError as err:
            if number == n_lines and not ends_with_newline:
                notes.add("cut_off", "", number, f"the last line is not valid JSON ({err}) and has no line end: "
                          "the file was cut off (while being written?); left out")
            else:
                notes.add("bad_json", "", number, f"not valid JSON ({err}); left out")
            continue
        yield number, row


def _number_text(value: str) -> Any:
    value = value.strip()
    match = _NP_SCALAR.match(value)
    if match:
        value = match.group(1)
    try:
        return float(value)
    except ValueError:
        return value


def _literal(node: ast.AST) -> Any:
    """A Python literal as printed by ``repr`` of a dict of floats, also with ``nan`` and ``inf`` in it."""
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return float(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
    return ast.unparse(node)  # anything else (a tensor(...) call, a list) stays text and is reported if used


_PY_WORDS = re.compile(r"\b(?:nan|inf|None|True|False)\b")
_AS_JSON = {"nan": "NaN", "inf": "Infinity", "None": "null", "True": "true", "False": "false"}


def _python_dict(text: str) -> Any:
    """The ``repr`` of a dict of numbers, read as JSON when it can be (fast), else through ``ast``; None if neither."""
    as_json = text.replace("'", '"')
    if _PY_WORDS.search(as_json):
        as_json = _PY_WORDS.sub(lambda m: _AS_JSON[m.group(0)], as_json)
    try:
        return json.loads(as_json)
    except ValueError:
        pass
    try:
        return _literal(ast.parse(text, mode="eval").body)
    except SyntaxError:
        return None


def _verl_pairs(body: str, number: int, notes: _Notes) -> dict[str, Any]:
    """``key:value - key:value …`` as a dict of text values (converted later, only for the keys the checks read)."""
    parts = body.replace(" - ", ":").split(":")  # key, value, key, value… when no key or value holds a colon
    if len(parts) == 2 * (body.count(" - ") + 1):
        return dict(zip(parts[::2], parts[1::2]))
    row = {}
    for pair in body.split(" - "):
        name, sep, value = pair.rpartition(":")
        if sep and name.strip() and value.strip():
            row[name.strip()] = value.strip()
        else:
            notes.add("bad_pair", "", number, f"{pair.strip()[:40]!r} is not key:value; left out")
    return row


def _rows_console(text: str, notes: _Notes) -> list[tuple[int, dict]]:
    rows: list[tuple[int, dict]] = []
    statuses: list[tuple[int, int, str]] = []  # OpenRLHF lines: line, step, the status dict's text
    other = 0
    first_other = 0
    for number, raw in enumerate(text.splitlines(), 1):
        match = _VERL_LINE.search(raw) if "step:" in raw else None  # the substring test is much cheaper
        if match:
            row = _verl_pairs(match.group(2).rstrip(), number, notes)
            row["step"] = int(match.group(1))
            rows.append((number, row))
            continue
        at = raw.find("Global step ")
        if at >= 0:  # OpenRLHF: "… Global step 12: {...}", found with str methods (a regex is 5x slower here)
            colon = raw.find(": {", at)
            step, status = raw[at + 12:colon], raw[colon + 2:].rstrip()
            if colon > 0 and step.isdigit() and status.endswith("}"):
                statuses.append((number, int(step), status))
                continue
        if raw.strip():
            other += 1
            first_other = first_other or number
    for number, step, status in zip(*_python_dicts(statuses)):
        if isinstance(status, dict):
            rows.append((number, {"step": step, **status}))
        else:
            notes.add("bad_dict", "", number, "the status dict does not parse; left out")
    rows.sort(key=lambda row: row[0])  # a log holding both kinds of line keeps file order
    if other and rows:
        notes.add("other_lines", "", first_other, f"lines that are not metric lines, left out: {other} (the first "
                  f"is this one); metric lines read: {len(rows)}")
    return rows


def _python_dicts(statuses: list[tuple[int, int, str]]) -> tuple[list[int], list[int], list[Any]]:
    """Each status text read as a Python dict: all in one JSON call when they can be (fast), else one by one."""
    numbers = [n for n, _, _ in statuses]
    steps = [s for _, s, _ in statuses]
    joined = "[" + ",".join(t for _, _, t in statuses).replace("'", '"') + "]"
    if _PY_WORDS.search(joined):
        joined = _PY_WORDS.sub(lambda m: _AS_JSON[m.group(0)], joined)
    try:
        whole = json.loads(joined)
    except ValueError:
        whole = None
    if whole is not None and len(whole) == len(statuses):
        return numbers, steps, whole
    return numbers, steps, [_python_dict(t) for _, _, t in statuses]


def _rows_csv(text: str, notes: _Notes) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None) or []
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise ValueError("log: the CSV header repeats a column name")
    rows: list[tuple[int, dict]] = []
    for cells in reader:
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            notes.add("csv_width", "", number, f"has {len(cells)} cells for {len(header)} columns (cut off?); "
                      "left out")
            continue
        rows.append((number, {h: c for h, c in zip(header, cells) if c.strip()}))
    return rows


def _detect_format(text: str) -> str:
    first = next((line for line in text[:1_000_000].splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        try:
            row = json.loads(first)
        except ValueError:
            row = None
        if isinstance(row, dict) and "log_history" not in row:
            return "jsonl"
        # An indented trainer_state.json opens with a lone "{"; a compact one is one line holding log_history.
        return "trainer_state.json" if '"log_history"' in text else "jsonl"
    if _VERL_LINE.search(text[:200_000]) or _ORL_LINE.search(text[:200_000]):
        return "console"
    if "," in first:
        return "csv"
    return "console"


# ----------------------------------------------------------------------------------------------- reading
def _detect_trainer(keys: set[str], notes: _Notes) -> str:
    scores = {t: sum(_known(t, _normal(t, k)) for k in keys) for t in KEY_TABLE}
    best = max(scores.values())
    if best == 0:
        raise ValueError("text: none of its keys is one that TRL, verl, OpenRLHF or the course's trainer logs "
                         f"(keys: {sorted(keys)[:8]}); pass trainer= to read it as one of {sorted(KEY_TABLE)}")
    tied = [t for t, s in scores.items() if s == best]
    if set(tied) == {"trl", "trl_rloo"}:
        notes.add("trainer", "", 0, "the keys fit TRL's GRPOTrainer and RLOOTrainer alike; read as GRPOTrainer "
                  "('kl' is k3 in the loss). For an RLOO run pass trainer='trl_rloo' ('kl' is k1 in the reward).")
    return tied[0]


def _column(rows: Sequence[tuple[int, dict]], key: str, notes: _Notes, text_values: bool) -> np.ndarray:
    """One key's values as floats, NaN where missing or not a number (with a note).

    ``text_values``: the format stores numbers as text (console lines, CSV); in JSON a string is not a number.
    """
    missing = object()
    values = [row.get(key, missing) for _, row in rows]
    kinds = set(map(type, values))
    if kinds <= {float, int}:
        return np.array(values, dtype=np.float64)
    if text_values and kinds == {str}:
        try:
            return np.array(values, dtype=np.float64)
        except ValueError:
            pass  # some cell is not a plain number: go through them one by one
    out = np.empty(len(values))
    for i, value in enumerate(values):
        if text_values and type(value) is str:
            value = _number_text(value)
        if type(value) in (float, int):
            out[i] = value
            continue
        out[i] = math.nan
        line = rows[i][0]
        if value is missing:
            notes.add("missing", key, line, f"key {key!r} is missing on this row; read as NaN")
        elif value is None:
            notes.add("null", key, line, f"key {key!r} is null (TRL writes null when every value of a logging "
                      "step was NaN); read as NaN")
        else:
            notes.add("not_number", key, line, f"key {key!r} holds {str(value)[:40]!r}, not a number; read as NaN")
    return out


def _is_step_row(row: Mapping[str, Any]) -> bool:
    return any(k not in _BOOKKEEPING and k not in _SUMMARY and not k.startswith(_EVAL_PREFIXES) for k in row)


def parse_log_text(text: str, trainer: str | None = None, name: str = "log") -> RunLog:
    """Read a trainer's log from its text.

    Parameters
    ----------
    text : str
        The whole log: TRL ``trainer_state.json``, JSON lines, verl or OpenRLHF console lines, or CSV.
    trainer : str, optional
        One of :data:`TRAINERS`; detected from the keys when omitted.
    name : str
        What to call the log in messages.

    Returns
    -------
    RunLog
        Raises ``ValueError`` naming ``text`` only if no metric row at all can be read.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {type(name).__name__}")
    if not isinstance(text, str):
        raise ValueError(f"text must be the log's text (a str), got {type(text).__name__}")
    if trainer is not None and trainer not in KEY_TABLE:
        raise ValueError(f"trainer must be one of {sorted(KEY_TABLE)} or None, got {trainer!r}")
    if not text.strip():
        raise ValueError(f"text: {name} is empty")
    notes = _Notes()
    fmt = _detect_format(text)
    reader = {"trainer_state.json": _rows_trainer_state, "jsonl": _rows_jsonl, "console": _rows_console,
              "csv": _rows_csv}[fmt]
    try:
        rows = reader(text, notes)
    except ValueError as err:
        raise ValueError(f"text: {name}: {err}") from None
    keys: set[str] = set()
    for _, row in rows:
        keys.update(row)
    if not rows:
        raise ValueError(f"text: {name} has no metric rows that could be read as {fmt}"
                         + (f" ({notes.render()[0]})" if notes.first else ""))
    if trainer is None:
        trainer = _detect_trainer(keys, notes)
    if trainer == "openrlhf" and any(k.startswith("train/") for k in keys):
        rows = [(line, {_normal(trainer, k): v for k, v in row.items()}) for line, row in rows]
        keys = {_normal(trainer, k) for k in keys}
    # Evaluation rows and the run's summary are not training steps: report them, keep the steps.
    kept = []
    for line, row in rows:
        if _is_step_row(row):
            kept.append((line, row))
        elif any(k in _SUMMARY for k in row):
            notes.add("summary", "", line, f"the run's summary ({', '.join(k for k in row if k in _SUMMARY)}) is "
                      "not a training step; left out")
        else:
            notes.add("eval", "", line, "an evaluation row (eval_ keys only) is not a training step; left out")
    for key in sorted(keys):
        if key.startswith(_EVAL_PREFIXES) or key in _BOOKKEEPING or key in _SUMMARY or _known(trainer, key):
            continue
        line = next(line for line, row in rows if key in row)
        notes.add("unknown", key, line, f"key {key!r} is not one {TRAINERS[trainer]} logs in the versions read; "
                  "left out of the checks")
    if not kept:
        raise ValueError(f"text: {name} has evaluation or summary rows only, no training step")
    return _assemble(kept, keys, trainer, fmt, notes)


def _assemble(rows: list[tuple[int, dict]], keys: set[str], trainer: str, fmt: str, notes: _Notes) -> RunLog:
    table = KEY_TABLE[trainer]
    text_values = fmt in ("console", "csv")
    meanings = {k: m for k, m in table.items() if k in keys}
    step_key = next((k for k in _STEP_KEYS if k in keys), None)
    if step_key is None:
        notes.add("no_step", "", rows[0][0], "rows carry no step number; they are numbered 1, 2, … in file order")
        steps = np.arange(1, len(rows) + 1, dtype=np.float64)
    else:
        steps = _column(rows, step_key, notes, text_values)
        back = np.flatnonzero(np.diff(steps) <= 0)
        if back.size:
            notes.add("steps_back", "", rows[int(back[0]) + 1][0], f"step {steps[back[0] + 1]:g} does not follow "
                      f"step {steps[back[0]]:g} (a resumed run?); rows are kept in file order")
    if averaged_first_row(steps) and any(m.quantity == "kl_ref" for m in meanings.values()):
        notes.add("first_row", "", rows[0][0], f"the first row is step {steps[0]:g}, not 1: it may average several "
                  "steps (logging_steps > 1) or start mid-run, so the check that the KL starts at 0 is skipped")
    first: dict[str, str] = {}
    for key, meaning in meanings.items():
        first.setdefault(meaning.quantity, key)
    col = {key: _column(rows, key, notes, text_values) for key in first.values()}
    sources: dict[str, str] = {}
    metrics: dict[str, np.ndarray] = {}
    kl_per = ""
    if "kl_ref" in first:
        key = first["kl_ref"]
        twice = [k for k, m in meanings.items() if m.quantity == "kl_ref" and m.applied != meanings[key].applied]
        if twice:
            notes.add("twice", key, 0, f"the KL to the reference is logged both in the {meanings[key].applied} "
                      f"({key!r}) and in the {meanings[twice[0]].applied} ({twice[0]!r}): is it applied twice? "
                      f"The checks read {key!r}")
        kl, kl_per = col[key], meanings[key].per
        if kl_per == "token":
            metrics["kl_per_token"] = kl
            sources["kl_per_token"] = key
            if "length" in first:
                # Mean per-token KL × mean length = mean per-sequence KL exactly when the mean is over all tokens
                # (TRL); for a mean of per-sequence means (verl, OpenRLHF) exactly when lengths are equal.
                kl, kl_per = kl * col[first["length"]], "sequence"
                sources["kl_mean"] = f"{key} × {first['length']}"
                if (trainer, key) in _SEQUENCE_AVERAGED:
                    notes.add("approx", key, 0, f"{key!r} averages per-sequence means, so {sources['kl_mean']} is "
                              "the mean KL per sequence only when all responses have the same length (it is off "
                              "by the covariance of length and per-token KL across the batch)")
            else:
                length_keys = ", ".join(k for k, m in table.items() if m.quantity == "length")
                notes.add("no_length", key, 0, f"no mean-length key ({length_keys}): the KL stays in nats per token")
        sources.setdefault("kl_mean", key)
        metrics["kl_mean"] = kl
    else:
        reference_keys = [k for k, m in table.items() if m.quantity == "kl_ref"]
        text = f"no KL to the reference in this log (its keys would be {reference_keys}); the KL checks are skipped"
        if "kl_old" in first:
            text += (f". {first['kl_old']!r} is here, but it is the KL between the policy before and after an "
                     "update (a trust region), not the KL to the reference, so it does not stand in for it")
        if trainer == "trl":
            text += ". TRL logs 'kl' only when beta ≠ 0, and its default beta is 0.0"
        notes.add("no_kl", "", 0, text)
    for name, quantity in (("kl_max", "kl_ref_max"), ("reward_mean", "reward"), ("entropy", "entropy"),
                           ("trust_region_kl", "kl_old"), ("sampler_kl", "kl_sampler"), ("sampler_gap", "sampler_gap"),
                           ("length", "length"), ("beta", "beta"), ("frac_reward_zero_std", "zero_std_frac")):
        if quantity in first:
            metrics[name], sources[name] = col[first[quantity]], first[quantity]
    if "reward_mean" not in metrics and "reward_shaped" in first:
        key = first["reward_shaped"]
        metrics["reward_mean"], sources["reward_mean"] = col[key], key
        notes.add("shaped", key, 0, f"the reward read ({key!r}) has the KL penalty subtracted")
    if "kl_max" in metrics and "kl_mean" in metrics:
        top, mean = metrics["kl_max"], metrics["kl_mean"]
        below = np.flatnonzero(top < mean - 1e-9 * np.maximum(1.0, np.abs(mean)))
        if below.size:
            notes.add("max_below", sources["kl_max"], rows[int(below[0])][0], f"{sources['kl_max']!r} is below "
                      f"{sources['kl_mean']!r} on this row (a logging error, or swapped columns?); the spike check "
                      "is skipped")
            del metrics["kl_max"], sources["kl_max"]
    lines = np.array([line for line, _ in rows], dtype=np.int64)
    return RunLog(trainer, fmt, steps, lines, meanings, sources, metrics, kl_per, notes.render())


def read_log(path: str | os.PathLike, trainer: str | None = None) -> RunLog:
    """Read a trainer's log file: see :func:`parse_log_text` for the formats.

    Parameters
    ----------
    path : str or os.PathLike
        The log file.
    trainer : str, optional
        One of :data:`TRAINERS`; detected from the keys when omitted.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path, got {type(path).__name__}")
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file: {os.fspath(path)!r}")
    if os.path.getsize(path) > MAX_BYTES:
        raise ValueError(f"path: {os.fspath(path)!r} is over {MAX_BYTES // 10**9} GB; split it first")
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    try:
        return parse_log_text(text, trainer, name=os.path.basename(os.fspath(path)))
    except ValueError as err:
        raise ValueError(str(err).replace("text:", "path:", 1)) from None


def check_run(run: RunLog) -> list[HealthWarning]:
    """The monitor's health checks (:func:`kl_lessons.monitor.health_report`) on a log read by this module.

    Steps in the warnings are 0-based rows of the log; ``run.steps[w.step]`` is the trainer's step number.
    """
    if not isinstance(run, RunLog):
        raise ValueError(f"run must be a RunLog (from read_log or parse_log_text), got {type(run).__name__}")
    found = health_report({k: run.metrics[k] for k in ("kl_mean", "kl_max", "reward_mean", "entropy",
                                                       "frac_reward_zero_std") if k in run.metrics})
    # Only an unaveraged first step can have a KL of 0 (see _assemble's "first_row" note).
    return [w for w in found if not (w.check == "kl_starts_high" and averaged_first_row(run.steps))]


def averaged_first_row(steps: np.ndarray) -> bool:
    """Whether a log's first row comes after step 1, so that it may average several steps (TRL's default
    ``logging_steps=10``), or the log starts mid-run: its KL need not be 0 then."""
    return bool(steps.size) and math.isfinite(steps[0]) and steps[0] > 1


def late_level(values: Sequence[float]) -> float:
    """Median of the last tenth of a series (at least one row), ignoring NaN; NaN if none is finite.

    The "late level" :func:`format_report` prints for each metric of a log.
    """
    values = as_series(values, "values", allow_nonfinite=True)
    tail = values[-max(1, values.size // 10):]
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if tail.size else math.nan


def format_report(run: RunLog, warnings: Iterable[HealthWarning] | None = None) -> str:
    """A plain-text report: what each key measures, the notes, late levels and the health warnings.

    ``warnings`` defaults to :func:`check_run`'s.
    """
    if not isinstance(run, RunLog):
        raise ValueError(f"run must be a RunLog (from read_log or parse_log_text), got {type(run).__name__}")
    found = check_run(run) if warnings is None else list(warnings)
    if not all(isinstance(w, HealthWarning) for w in found):
        raise ValueError("warnings must be HealthWarning records (from check_run)")
    n = run.steps.size
    out = [f"Read as {run.fmt} from {TRAINERS[run.trainer]}: {n} logged steps "
           f"(trainer steps {run.steps[0]:g} to {run.steps[-1]:g}, lines {run.lines[0]} to {run.lines[-1]}).", "",
           "What its keys measure:"]
    for key, m in run.meanings.items():
        kind = {"kl_ref": "KL to the reference", "kl_ref_max": "largest per-sequence KL to the reference",
                "kl_old": "trust-region KL (policy before vs after an update), NOT the KL to the reference",
                "kl_sampler": "KL between the sampler and the trainer's policy",
                "sampler_gap": "sampler vs trainer log-prob gap (not a KL)", "reward": "task reward",
                "reward_shaped": "reward with the KL penalty in it", "entropy": "entropy", "length": "mean length",
                "beta": "KL coefficient β", "zero_std_frac": "share of groups with no reward spread"}[m.quantity]
        per = f", per {m.per}" if m.per else ""
        applied = f", in the {m.applied}" if m.applied in ("reward", "loss") and m.quantity.startswith("kl") else ""
        out.append(f"  {key}: {kind}{per}{applied}; {m.estimator}. [{m.source}]")
    out += ["", "Late levels (median of the last tenth of the steps):"]
    units = {"kl_mean": f"nats per {run.kl_per}", "kl_per_token": "nats per token", "kl_max": "nats per sequence",
             "trust_region_kl": "nats per token", "sampler_kl": "nats per token", "sampler_gap": "nats per token",
             "entropy": "nats per token", "length": "tokens", "reward_mean": "", "beta": "",
             "frac_reward_zero_std": ""}
    for name, values in run.metrics.items():
        out.append(f"  {name} ({run.sources[name]}): {late_level(values):.4g} {units[name]}".rstrip())
    if run.notes:
        out += ["", "Notes:"] + [f"  {note}" for note in run.notes]
    out += ["", "Health checks:"]
    if not found:
        checked = "kl_mean" in run.metrics or {"reward_mean", "entropy"} <= run.metrics.keys()
        out.append("  no warning." if checked else "  nothing to check: no KL, and no reward with entropy.")
    for w in found:
        out.append(f"  [{w.check}] trainer step {run.steps[w.step]:g} (line {run.lines[w.step]}, logged step "
                   f"{w.step} counting from 0): {w.message}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kl_lessons.run_logs LOG [--trainer NAME]``: print the report.

    Returns 0 for a log with no warning, 1 with warnings, 2 for a log that cannot be read.
    """
    if argv is not None and (not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv)):
        raise ValueError(f"argv must be a list of strings, got {argv!r}")
    parser = argparse.ArgumentParser(prog="python -m kl_lessons.run_logs", description=__doc__.splitlines()[0])
    parser.add_argument("log", help="trainer_state.json, JSON lines, a verl or OpenRLHF console log, or CSV")
    parser.add_argument("--trainer", choices=sorted(KEY_TABLE), help="whose keys these are (detected by default)")
    args = parser.parse_args(argv)
    try:
        run = read_log(args.log, args.trainer)
    except ValueError as err:
        print(f"cannot read the log: {err}", file=sys.stderr)
        return 2
    found = check_run(run)
    print(format_report(run, found))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
