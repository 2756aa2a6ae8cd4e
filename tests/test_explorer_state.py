"""Each lesson's explorer state: one function, and every lesson page starts from exactly its output.

The ``{anywidget}`` blocks in the notebooks are written by ``scripts/execute_notebooks.py`` from
the state the notebook's explorer displayed; here each one is parsed and compared, number by
number with a tolerance, with its state function (lessons 1–5) or checked for shape and size
(lesson 6, whose data come from the notebook's own training).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from kl_lessons import kl_divergence
from kl_lessons.batch_spread import (
    CAT_SAT_POLICY_PROBS, CAT_SAT_REF_PROBS, simulate_batch_means, single_token_sd,
)
from kl_lessons.explorer_state import (
    SHOUT_THRESHOLD, SIGNIFICANT_DIGITS, STATE_FUNCTIONS, controller_state, entropy_anchor_state,
    estimator_spread_state, rounded, state_json,
)
from kl_lessons.lessons import LESSONS, Lesson, lesson as registered
from kl_lessons.plant import CONTROL_EXPERIMENT
from kl_lessons.web_widgets import EXPLORERS, WEB_DIR

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DIRECTIVE = re.compile(r"^(`{3,})\{anywidget\}[ \t]+(\S+)[ \t]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def notebook_blocks(lesson: int) -> list[tuple[str, dict[str, Any], str]]:
    """(module, parsed state, whole markdown cell) for each ``{anywidget}`` block of lesson ``lesson``'s notebook."""
    return blocks_of(ROOT / registered(lesson).notebook)


def blocks_of(path: Path) -> list[tuple[str, dict[str, Any], str]]:
    """(module, parsed state, whole markdown cell) for each ``{anywidget}`` block of one notebook."""
    found = []
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found += [(Path(m.group(2)).name, json.loads(m.group(3)), text) for m in DIRECTIVE.finditer(text)]
    return found


def assert_same_state(got: Any, want: Any, path: str = "state") -> None:
    """Equal structure and strings; numbers equal to a relative 1e-9 (never compared as text)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (path, sorted(got), sorted(want))
        for key in want:
            assert_same_state(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_state(g, w, f"{path}[{i}]")
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), (path, got)
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (path, got, want)
    else:
        assert got == want, (path, got, want)


# --------------------------------------------------------------------------- the blocks in the lessons
#: Lessons whose state packs what the notebook itself made (training runs): their block is checked for shape and size
#: against a per-lesson check, since no state function call without the notebook's data can reproduce it.
DATA_BLOCK_CHECKS = {6: "test_lesson6_block_is_small_and_well_formed", 9: "test_lesson9_block_is_small_and_well_formed"}


@pytest.mark.parametrize("entry", LESSONS, ids=lambda e: e.label)
def test_lesson_block_starts_from_its_state_function(entry: Lesson) -> None:
    blocks = notebook_blocks(entry.number)
    assert len(blocks) == 1, f"lesson {entry.number} needs exactly one explorer block"
    module, state, cell = blocks[0]
    assert module == entry.module
    assert (WEB_DIR / module).exists()
    assert "course site" not in cell and "kernel" not in cell  # the caption reads right in JupyterLab too
    if entry.number in DATA_BLOCK_CHECKS:
        assert DATA_BLOCK_CHECKS[entry.number] in globals(), "a lesson with a data block needs its own check"
        return
    assert_same_state(state, STATE_FUNCTIONS[entry.module]())


def test_lesson6_block_is_small_and_well_formed() -> None:
    ((module, state, cell),) = notebook_blocks(6)
    assert module == "training_scrubber.js"
    assert len(cell.encode()) <= 60_000, "lesson 6's page data must stay small"
    assert set(state) == {"runs", "n_steps", "step", "front"} and 0 <= state["step"] < state["n_steps"]
    for run in state["runs"]:
        assert all(len(series) == state["n_steps"] for series in run["metrics"].values())


def test_lesson9_block_is_small_and_well_formed() -> None:
    ((module, state, cell),) = notebook_blocks(9)
    assert module == "trl_log.js"
    assert len(cell.encode()) <= 60_000, "lesson 9's page data must stay small"
    assert set(state) == {"runs", "log_keys", "n_steps", "step", "key", "beta"} and 1 <= state["step"] <= state["n_steps"]
    keys = [k["key"] for k in state["log_keys"]]
    assert state["key"] in keys and state["beta"] in [run["beta"] for run in state["runs"]]
    for run in state["runs"]:
        assert set(run["series"]) == set(keys) and len(run["completions"]) == state["n_steps"]
        assert all(len(series) == state["n_steps"] for series in run["series"].values())


@pytest.mark.parametrize("entry", LESSONS, ids=lambda e: e.label)
def test_explorer_cell_output_is_hidden_on_the_site(entry: Lesson) -> None:
    cells = json.loads((ROOT / entry.notebook).read_text())["cells"]
    shown = [c for c in cells if c["cell_type"] == "code" and re.search(rf"\b{entry.explorer}\(", "".join(c["source"]))]
    assert len(shown) == 1, f"lesson {entry.number} must display its {entry.explorer} in exactly one cell"
    assert "remove-output" in shown[0]["metadata"].get("tags", [])


# --------------------------------------------------------------------------- the state functions
@pytest.mark.parametrize("entry", [e for e in LESSONS if e.number not in DATA_BLOCK_CHECKS], ids=lambda e: e.label)
def test_states_are_plain_rounded_json(entry: Lesson) -> None:
    state = STATE_FUNCTIONS[entry.module]()
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    assert rounded(state) == state  # already rounded
    assert state_json(state).count("\n") == len(state) + 1  # one key per line
    widget = EXPLORERS[entry.module]()
    assert widget.state() == state


def test_rounding_keeps_six_significant_digits() -> None:
    assert SIGNIFICANT_DIGITS == 6
    out = rounded({"a": [math.pi, -1234567.89, 1e-12 / 3], "b": torch.tensor([2 / 3]), "c": math.nan, "d": 7, "e": "x"})
    assert out == {"a": [3.14159, -1234570.0, 3.33333e-13], "b": [0.666667], "c": None, "d": 7, "e": "x"}
    with pytest.raises(ValueError, match="infinity"):
        rounded([math.inf])


def test_lesson2_state_is_the_lessons_pair() -> None:
    state = estimator_spread_state()
    ref = torch.tensor(state["ref_probs"], dtype=torch.float64)
    pi = ref * torch.tensor(state["direction"], dtype=torch.float64).exp()
    torch.testing.assert_close(pi / pi.sum(), torch.tensor(CAT_SAT_POLICY_PROBS, dtype=torch.float64), atol=1e-5, rtol=0)
    assert len(state["ref_probs"]) == len(CAT_SAT_REF_PROBS) == 8


def test_lesson5_state_is_the_lessons_experiment() -> None:
    state = controller_state()
    from kl_lessons.plant import CONTROL_EXPERIMENT as experiment

    assert (state["target"], state["lag"], state["batch_size"], state["n_steps"]) == (0.5, 20.0, 64, 1500)
    assert (state["target"], state["n_steps"], state["init_beta"]) == (experiment.target, experiment.n_steps,
                                                                      experiment.init_beta)
    assert state["target_range"][0] <= state["target"] <= state["target_range"][1]
    assert state["noise_range"][0] <= state["noise"] == experiment.noise <= state["noise_range"][1]
    assert 0 < experiment.noise < 3


def test_lesson8_state_is_lesson_4s_toy_with_sliders_in_range() -> None:
    from kl_lessons.toy_responses import make_toy_responses

    state, toy = entropy_anchor_state(), make_toy_responses()
    assert (state["beta"], state["alpha"]) == (0.3, 0.0)  # the KL penalty alone, no entropy bonus
    for key in ("beta", "alpha"):
        low, high = state[f"{key}_range"]
        assert low == 0.0 <= state[key] <= high
        assert abs(round((state[key] - low) / state["slider_step"]) * state["slider_step"] + low - state[key]) < 1e-12
    assert state["labels"] == list(toy.labels) and state["marks"] == toy.exclamations.tolist()
    for key, values in (("ref_probs", toy.ref_probs), ("proxy", toy.proxy), ("gold", toy.gold)):
        np.testing.assert_allclose(state[key], values.numpy(), rtol=1e-5, atol=0)
    assert state["shout_threshold"] == SHOUT_THRESHOLD and SHOUT_THRESHOLD in state["marks"]
    readouts = {r["key"]: r for r in state["readouts"]}
    assert list(readouts) == ["expected_proxy", "expected_gold", "entropy", "cross_entropy", "kl", "shout_share"]
    assert all(readouts[k]["unit"] == "nats" for k in ("entropy", "cross_entropy", "kl"))  # KL is in nats
    assert f"≥ {SHOUT_THRESHOLD}" in readouts["shout_share"]["label"] and readouts["shout_share"]["scale"] == 100


# --------------------------------------------------------------------------- lesson 2's batch spread
def test_batch_mean_spread_follows_sigma_over_root_n() -> None:
    logits, ref = (torch.tensor(p, dtype=torch.float64).log() for p in (CAT_SAT_POLICY_PROBS, CAT_SAT_REF_PROBS))
    sd = single_token_sd(logits, ref)
    true_kl = float(kl_divergence(torch.softmax(logits, -1), torch.softmax(ref, -1)))
    for n in (1, 64, 1024):
        means = simulate_batch_means(logits, ref, n, num_batches=6000, seed=3)
        for name in ("k1", "k2", "k3"):
            assert abs(float(means[name].std()) * math.sqrt(n) / sd[name] - 1) < 5 / math.sqrt(2 * 6000)
        assert abs(float(means["k1"].mean()) - true_kl) < 5 * sd["k1"] / math.sqrt(n * 6000)
    assert sd["k3"] < sd["k2"] < sd["k1"]


def test_batch_spread_validates() -> None:
    with pytest.raises(ValueError, match="sample_size"):
        simulate_batch_means([0.0, 1.0], [1.0, 0.0], 0)
    with pytest.raises(ValueError, match="num_batches"):
        simulate_batch_means([0.0, 1.0], [1.0, 0.0], 4, num_batches=True)
    with pytest.raises(ValueError, match="shape"):
        single_token_sd([0.0, 1.0], [1.0, 0.0, 2.0])
    assert np.isclose(single_token_sd([0.0, 1.0], [0.0, 1.0])["k1"], 0.0)


def test_lesson9_opens_on_a_run_that_logged_the_key_shown() -> None:
    from types import SimpleNamespace

    from kl_lessons.explorer_state import trl_log_state

    # TRL logs no kl at β = 0: the explorer must not open on an empty readout.
    row = {"entropy": 1.0, "rewards/proxy/mean": 0.1, "rewards/gold/mean": 0.0, "reward_std": 0.5,
           "frac_reward_zero_std": 0.0, "completions/mean_length": 30.0, "completions/clipped_ratio": 0.0}
    runs = {0.0: SimpleNamespace(log=[dict(row)] * 3, completions={}),
            0.04: SimpleNamespace(log=[{**row, "kl": 0.2}] * 3, completions={})}
    assert trl_log_state(runs)["beta"] == "0.04"
    assert trl_log_state(runs, key="entropy")["beta"] == "0"
    assert trl_log_state(runs, beta=0)["beta"] == "0"
    with pytest.raises(ValueError, match="beta"):
        trl_log_state(runs, beta=0.3)


# --------------------------------------------------------------------------- lesson 10
def test_lesson10_state_carries_run_logs_tables_and_monitor_defaults() -> None:
    import dataclasses
    import inspect

    from kl_lessons import casebook, monitor, run_logs
    from kl_lessons.explorer_state import log_reader_state

    state = log_reader_state()
    assert json.loads(json.dumps(state, allow_nan=False)) == state and rounded(state) == state
    table = {t["name"]: t for t in state["key_table"]["trainers"]}
    assert list(table) == list(run_logs.KEY_TABLE)
    for name, keys in run_logs.KEY_TABLE.items():
        assert [k["key"] for k in table[name]["keys"]] == list(keys)  # in order: the first present is the one read
        assert all(dataclasses.asdict(keys[k["key"]]) == {f: v for f, v in k.items() if f != "key"} for k in table[name]["keys"])
        assert table[name]["label"] == run_logs.TRAINERS[name] and tuple(table[name]["other"]) == run_logs._OTHER[name]
    assert {tuple(p) for p in state["key_table"]["sequence_averaged"]} == run_logs._SEQUENCE_AVERAGED
    assert set(state["key_table"]["bookkeeping"]) == run_logs._BOOKKEEPING
    assert set(state["key_table"]["summary"]) == run_logs._SUMMARY
    assert tuple(state["key_table"]["step_keys"]) == run_logs._STEP_KEYS
    assert tuple(state["key_table"]["eval_prefixes"]) == run_logs._EVAL_PREFIXES
    # Every check health_report runs, with each threshold's default.
    assert set(state["thresholds"]) == set(monitor.__all__) - {"HealthWarning", "health_report"}
    for check, defaults in state["thresholds"].items():
        params = inspect.signature(getattr(monitor, check)).parameters
        assert defaults == {k: params[k].default for k in defaults}
    assert [c["name"] for c in state["cases"]] == [c.name for c in casebook.CASES]
    assert all(set(c) == {"name", "title", "trainer", "file"} for c in state["cases"])   # text: in the bundle
    assert state["case"] == casebook.CASES[0].name and state["step"] == 1 and state["own_log"] == {"name": "", "text": ""}


def test_lesson10_state_reads_a_learners_file(tmp_path: Path) -> None:
    from kl_lessons.explorer_state import log_reader_state
    from kl_lessons.web_widgets import LogReader

    log = tmp_path / "trainer_state.json"
    log.write_text((ROOT / "tests" / "data" / "trl_grpo_log_history.json").read_text())
    state = log_reader_state(path=log, step=2)
    assert state["case"] == "own" and state["own_log"] == {"name": "trainer_state.json", "text": log.read_text()}
    assert LogReader(state).state() == state
    with pytest.raises(ValueError, match="path"):
        log_reader_state(path=tmp_path / "missing.json")
    with pytest.raises(ValueError, match="case"):
        log_reader_state(case="no such case")
    with pytest.raises(ValueError, match="case"):
        log_reader_state(case="healthy", path=log)
    with pytest.raises(ValueError, match="step"):
        log_reader_state(step=0)
