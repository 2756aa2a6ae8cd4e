"""Each lesson's explorer state: the one place its defaults, data and slider ranges are written.

An explorer is an ES module in ``kl_lessons/web/`` (one per lesson). It runs in JupyterLab as an
:mod:`anywidget` (:mod:`kl_lessons.web_widgets`) and on the published site through MyST's
``{anywidget}`` directive, and in both places it starts from the dict a function below returns,
computed with the tested :mod:`kl_lessons` functions. ``scripts/execute_notebooks.py`` writes each
lesson's directive from the state its notebook displayed, and a test checks the two agree.

States hold plain lists, numbers and strings. Floats are rounded to :data:`SIGNIFICANT_DIGITS`
significant digits (plenty for a picture, and short to read in a page's source). All KL values
are in nats.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ._validate import count
from .lessons import LESSONS

#: Significant digits kept for every float in an explorer's state.
SIGNIFICANT_DIGITS = 6


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (lists and dicts recursed).

    NaN becomes ``None`` (JSON has no NaN; the modules draw a gap); infinities are refused.
    """
    if isinstance(value, Mapping):
        return {str(k): rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return rounded(value.tolist(), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return None
        if math.isinf(x):
            raise ValueError("an explorer state cannot hold an infinity (JSON has none)")
        return float(f"{x:.{digits}g}")
    return value


# --------------------------------------------------------------------------- lessons 1–5
def forecasters_state() -> dict[str, Any]:
    """Lesson 1: two weather forecasters, A says 70 % rain, B says 30 %."""
    return rounded({"p_rain": 0.7, "q_rain": 0.3, "labels": ["rain", "sun"], "names": ["Forecaster A", "Forecaster B"]})


def estimator_spread_state() -> dict[str, Any]:
    """Lesson 2: the batch means of k1, k2, k3 on the lesson's "The cat sat on the …" pair.

    The module's policy is π ∝ π_ref·exp(drift·direction); with direction = log(π/π_ref),
    drift = 1 is exactly the lesson's π, and the slider slides towards π_ref (0) or past π (2).
    """
    from .batch_spread import CAT_SAT_POLICY_PROBS, CAT_SAT_REF_PROBS

    ref = torch.tensor(CAT_SAT_REF_PROBS, dtype=torch.float64)
    policy = torch.tensor(CAT_SAT_POLICY_PROBS, dtype=torch.float64)
    return rounded({
        "ref_probs": ref,
        "direction": policy.log() - ref.log(),
        "drift": 1.0,
        "drift_max": 2.0,
        "sample_size": 16,
        "max_log2_size": 10,
        "trials": 200,
        "seed": 2020,
    })


def reward_shaping_state() -> dict[str, Any]:
    """Lesson 3: the four café reviews, β from TRL's PPO default 0.05, k1."""
    from .response_batch import cafe_review_batch

    batch = cafe_review_batch()
    return rounded({
        "labels": list(batch.labels),
        "tokens": [list(t) for t in batch.tokens],
        "scores": batch.scores,
        "logprobs": batch.logprobs,
        "ref_logprobs": batch.ref_logprobs,
        "mask": batch.mask.to(torch.int64),
        "beta": 0.05,
        "beta_max": 0.4,
        "estimator": "k1",
    })


def frontier_state() -> dict[str, Any]:
    """Lesson 4: the toy's 36 replies, the exact optimum π_β at β = 0.1, β on a log scale."""
    from .toy_responses import make_toy_responses

    toy = make_toy_responses()
    return rounded({
        "labels": list(toy.labels),
        "marks": toy.exclamations,
        "mark_symbol": "!",
        "ref_probs": toy.ref_probs,
        "rewards": toy.proxy,
        "gold": toy.gold,
        "beta": 0.1,
        "log10_beta_range": [-3, 1],
    })


def controller_state() -> dict[str, Any]:
    """Lesson 5: both controllers on the plant of lesson 4's toy, as :data:`kl_lessons.plant.CONTROL_EXPERIMENT` sets them."""
    from .plant import CONTROL_EXPERIMENT as experiment

    betas, kls = experiment.table()
    return rounded({
        "plant_betas": betas,
        "plant_kls": kls,
        "lag": float(experiment.lag),
        "noise": experiment.noise,
        "batch_size": experiment.batch_size,
        "kl0": experiment.kl0,
        "seed": experiment.seed,
        "n_steps": experiment.n_steps,
        "init_beta": experiment.init_beta,
        "target": experiment.target,
        "horizon": float(experiment.horizon),
        "threshold_factor": experiment.threshold_factor,
        "threshold_bounds": list(experiment.threshold_bounds),
        "target_range": [0.1, 2.0],
        "log10_horizon_range": [2.0, 5.0],
        "noise_range": [0.0, 3.0],
    })


# --------------------------------------------------------------------------- lesson 6
#: Metrics the lesson 6 scrubber replays (names as in :data:`kl_lessons.rlhf.METRIC_KEYS`).
SCRUBBER_METRICS = ("kl_mean", "kl_max", "proxy", "gold", "entropy", "distinct2", "ref_loglik", "beta")


def training_scrubber_state(runs: Mapping[str, Any], step: int = 20, samples_per_step: int = 3) -> dict[str, Any]:
    """Lesson 6: the recorded training runs, to replay step by step.

    Parameters
    ----------
    runs : mapping of str → RLHFRun
        Name → what :func:`kl_lessons.rlhf.train` returned (anything with ``.metrics`` and
        ``.samples``). Each run records one value per step of every key of :data:`SCRUBBER_METRICS`.
    step : int
        The step the slider starts at.
    samples_per_step : int
        How many of the texts kept at each recorded step to carry (keeps the page small).

    Returns
    -------
    dict
        ``runs`` (name, per-metric series with ``None`` for a NaN, and ``[step, texts]`` pairs),
        ``n_steps``, ``step`` and ``front`` (which run is drawn in front; "all runs" at first).
    """
    from .monitor import metric_series

    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty dict of name → run")
    samples_per_step = count(samples_per_step, "samples_per_step")
    out, lengths = [], set()
    for name, run in runs.items():
        metrics = getattr(run, "metrics", None)
        if not isinstance(metrics, Mapping):
            raise ValueError(f"run {name!r} has no .metrics dict")
        missing = [key for key in SCRUBBER_METRICS if key not in metrics]
        if missing:
            raise ValueError(f"run {name!r} is missing metrics {missing}")
        series = {key: metric_series(metrics[key], f"{name}[{key!r}]", allow_nonfinite=True) for key in SCRUBBER_METRICS}
        for key, values in series.items():
            if np.isinf(values).any():
                raise ValueError(f"{name}[{key!r}] contains inf values")
        lengths |= {len(v) for v in series.values()}
        samples = getattr(run, "samples", None) or {}
        kept = []
        for s in sorted(samples):
            count(s, f"run {name!r}: sample keys (steps)", minimum=0)
            texts = samples[s]
            if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"run {name!r}: samples[{s}] must be a list of str")
            kept.append([int(s), list(texts)[:samples_per_step]])
        out.append({"name": str(name), "metrics": series, "samples": kept})
    if len(lengths) != 1:
        raise ValueError(f"every metric of every run needs one value per step; got lengths {sorted(lengths)}")
    (n_steps,) = lengths
    if n_steps < 2:
        raise ValueError("a run needs at least two steps to scrub")
    for run in out:
        if any(not 0 <= s < n_steps for s, _ in run["samples"]):
            raise ValueError(f"run {run['name']!r} has samples outside steps 0 … {n_steps - 1}")
    step = count(step, "step", minimum=0, maximum=n_steps - 1)
    return rounded({"runs": out, "n_steps": n_steps, "step": step, "front": "all runs"})


# --------------------------------------------------------------------------- lesson 7
def kl_gradients_state(
    drifts: Any = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
    betas: Any = (0.01, 0.04, 0.1, 0.3, 1.0),
    *,
    vocab_size: int = 3,
    length: int = 3,
    seed: int = 1,
) -> dict[str, Any]:
    """Lesson 7: every recipe's expected gradient against the exact one, on- and off-policy, over β and drift.

    The toy is :func:`~kl_lessons.toy_sequences.jackpot_toy`: the reward is 1 for "!!!" only,
    π_old sampled the batch, and the current policy is π = π_old + drift·step.
    On-policy, responses come from π; off-policy, from π_old.

    Returns
    -------
    dict
        ``recipes`` and ``labels``; ``modes`` ("on", "off"); ``drifts``, ``betas``; per drift
        ``kl_to_old`` and ``kl_to_ref`` (nats); ``exact`` (∇KL(π‖π_ref)) and ``reward_grad``
        (∇E[r]), each flattened (P·V); ``expected[recipe][mode][drift]`` flattened; and
        ``metrics[recipe][mode]`` with ``rel_error`` and ``cosine`` of the whole update
        ∇E[r] − β·g against ∇E[r] − β·∇KL, as [β][drift] lists. The explorer's controls start at
        ``recipe`` = "k3_loss", ``mode`` = "off", ``beta`` = 0.04 (GRPO's) and the middle ``drift``;
        ``tokens`` and ``prefixes`` name the logits' rows.
    """
    from ._validate import as_tensor
    from .kl_gradients import RECIPES, bias_metrics, expected_gradient
    from .toy_sequences import exact_kl_gradient, jackpot_toy, reward_gradient, sequence_kl

    toy = jackpot_toy(vocab_size, length, seed)
    space, ref, old, rewards = toy.space, toy.ref, toy.old, toy.rewards
    d = as_tensor(drifts, "drifts").to(torch.float64).reshape(-1)
    b = as_tensor(betas, "betas").to(torch.float64).reshape(-1)
    if bool((d < 0).any()):
        raise ValueError("drifts must all be >= 0")
    if bool((b <= 0).any()):
        raise ValueError("betas must all be > 0")
    modes = {"on": None, "off": old}
    state: dict[str, Any] = {
        "recipe": "k3_loss", "mode": "off", "beta": 0.04, "drift": float(d[len(d) // 2]),
        "tokens": list(toy.tokens), "prefixes": _prefix_names(toy),
        "recipes": list(RECIPES), "labels": list(RECIPES.values()), "modes": list(modes),
        "drifts": d, "betas": b, "kl_to_old": [], "kl_to_ref": [], "exact": [], "reward_grad": [],
        "expected": {r: {m: [] for m in modes} for r in RECIPES},
        "metrics": {r: {m: {"rel_error": [], "cosine": []} for m in modes} for r in RECIPES},
    }
    for drift in d.tolist():
        theta = toy.policy(drift)
        exact, reward = exact_kl_gradient(theta, ref, space), reward_gradient(theta, space, rewards)
        state["kl_to_old"].append(float(sequence_kl(theta, old, space)))
        state["kl_to_ref"].append(float(sequence_kl(theta, ref, space)))
        state["exact"].append(exact.flatten())
        state["reward_grad"].append(reward.flatten())
        for recipe in RECIPES:
            for mode, sampler in modes.items():
                state["expected"][recipe][mode].append(expected_gradient(theta, ref, space, recipe, sampler).flatten())
    for recipe in RECIPES:
        for mode in modes:
            # [β][drift]: the whole update with the recipe's KL term against the exact update.
            scores = [[bias_metrics(state["reward_grad"][i] - beta * state["expected"][recipe][mode][i],
                                    state["reward_grad"][i] - beta * state["exact"][i]) for i in range(d.numel())]
                      for beta in b.tolist()]
            for key in ("rel_error", "cosine"):
                state["metrics"][recipe][mode][key] = [[m[key] for m in row] for row in scores]
    return rounded(state)


def _prefix_names(toy: Any) -> list[str]:
    """Each row of the toy's logits table named by its prefix ("∅", "a", …, "!!")."""
    space, names = toy.space, ["∅"]
    for prefix in range(1, space.num_prefixes):
        chain = []
        while prefix > 0:  # walk up to the empty prefix, collecting the tokens on the way
            chain.append(toy.tokens[int(space.last_token[prefix])])
            prefix = int(space.parent[prefix])
        names.append("".join(reversed(chain)))
    return names


# --------------------------------------------------------------------------- lesson 8
#: Lesson 8's explorer: replies with at least this many "!" count as shouting (the toy's 3 and 6).
SHOUT_THRESHOLD = 3


def entropy_anchor_state() -> dict[str, Any]:
    """Lesson 8 §4: the optimum of E[proxy] + α·H(π) − β·KL(π‖π_ref) on lesson 4's toy, over β and α.

    The module computes π ∝ π_ref^(β/(α+β))·exp(proxy/(α+β)) (:func:`kl_lessons.regularised_policy`)
    in the browser. It starts at β = 0.3, α = 0 (the KL penalty alone); moving β to 0 and α up
    swaps the KL penalty for an entropy bonus alone, which keeps H(π) but lets go of π_ref.

    Returns
    -------
    dict
        The toy's ``labels``, ``marks`` (number of "!" per reply), ``mark_symbol``, ``ref_probs``,
        ``proxy`` and ``gold`` (reward units); the sliders' ``beta`` and ``alpha``, their ranges
        ``beta_range`` and ``alpha_range`` and ``slider_step``; ``shout_threshold``; and ``readouts``,
        one ``{key, label, unit, digits, scale}`` per number shown (the shown value is
        ``scale`` × the quantity, printed with ``digits`` decimals). KL and entropies are in nats.
    """
    from .toy_responses import make_toy_responses

    toy = make_toy_responses()
    mark = "!"
    return rounded({
        "beta": 0.3,
        "alpha": 0.0,
        "beta_range": [0.0, 2.0],
        "alpha_range": [0.0, 2.0],
        "slider_step": 0.01,
        "mark_symbol": mark,
        "shout_threshold": SHOUT_THRESHOLD,
        "readouts": [
            {"key": "expected_proxy", "label": "E_π[proxy]", "unit": "", "digits": 4, "scale": 1},
            {"key": "expected_gold", "label": "E_π[gold]", "unit": "", "digits": 4, "scale": 1},
            {"key": "entropy", "label": "H(π)", "unit": "nats", "digits": 4, "scale": 1},
            {"key": "cross_entropy", "label": "H(π, π_ref)", "unit": "nats", "digits": 4, "scale": 1},
            {"key": "kl", "label": "KL(π‖π_ref) = −H(π) + H(π, π_ref)", "unit": "nats", "digits": 4, "scale": 1},
            {"key": "shout_share", "label": f"π(replies with ≥ {SHOUT_THRESHOLD} '{mark}')", "unit": "%", "digits": 1,
             "scale": 100},
        ],
        "labels": list(toy.labels),
        "marks": toy.exclamations,
        "ref_probs": toy.ref_probs,
        "proxy": toy.proxy,
        "gold": toy.gold,
    })


# --------------------------------------------------------------------------- lesson 9
#: The keys of TRL's GRPO log that lesson 9's explorer scrubs, with their units.
TRL_LOG_KEYS = (
    ("kl", "nats per token"), ("entropy", "nats per token"), ("rewards/proxy/mean", "points"),
    ("rewards/gold/mean", "score"), ("reward_std", "points"), ("frac_reward_zero_std", "share"),
    ("completions/mean_length", "tokens"), ("completions/clipped_ratio", "share"),
)


def trl_log_state(runs: Mapping[float, Any], step: int = 1, key: str = "kl", n_completions: int = 4,
                  beta: float | None = None) -> dict[str, Any]:
    """Lesson 9: TRL's own logs of the lesson's GRPO runs, to scrub step by step with each step's completions.

    ``runs`` maps β → :class:`kl_lessons.trl_run.GRPORun`. A key a run did not log (``kl`` at β = 0) is
    ``None`` at every step. ``step`` counts from 1, as TRL's log does. The β in front is ``beta``, by default the
    first run that logged ``key`` (β = 0 logs no ``kl``: a reader should not open on an empty readout).
    """
    from .monitor import metric_series

    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty dict of β → GRPORun")
    names = [k for k, _ in TRL_LOG_KEYS]
    if key not in names:
        raise ValueError(f"key must be one of {names}, got {key!r}")
    n_completions = count(n_completions, "n_completions")
    out, lengths = [], set()
    for run_beta, run in runs.items():
        log = getattr(run, "log", None)
        if not isinstance(log, list) or not log:
            raise ValueError(f"run at β = {run_beta!r} has no .log (TRL's log_history)")
        series = {k: (metric_series([row[k] for row in log], f"β = {run_beta}: {k}").tolist() if k in log[0]
                      else [None] * len(log)) for k in names}
        completions = getattr(run, "completions", {})
        texts = [[t.rstrip("\n") for t in completions.get(s, [])[:n_completions]] for s in range(1, len(log) + 1)]
        out.append({"beta": f"{float(run_beta):g}", "series": series, "completions": texts})
        lengths.add(len(log))
    if len(lengths) != 1:
        raise ValueError(f"every run needs the same number of steps; got {sorted(lengths)}")
    (n_steps,) = lengths
    step = count(step, "step", minimum=1, maximum=n_steps)
    shown = [run["beta"] for run in out]
    if beta is None:
        beta = next((run["beta"] for run in out if any(v is not None for v in run["series"][key])), shown[0])
    elif not isinstance(beta, (int, float)) or isinstance(beta, bool) or f"{float(beta):g}" not in shown:
        raise ValueError(f"beta must be one of the runs' β {shown}, got {beta!r}")
    else:
        beta = f"{float(beta):g}"
    # "log_keys", not "keys": a widget's state keys become traits, and ipywidgets' Widget already has .keys.
    return rounded({"runs": out, "log_keys": [{"key": k, "unit": u} for k, u in TRL_LOG_KEYS], "n_steps": n_steps,
                    "step": step, "key": key, "beta": beta})


# --------------------------------------------------------------------------- lesson 10
#: The page's limits on a log read in the browser (a larger one is read with ``python -m kl_lessons.run_logs``).
LOG_READER_LIMITS = {"max_chars": 250_000_000, "max_lines": 5_000_000}


def _check_thresholds() -> dict[str, dict[str, Any]]:
    """Each monitor check's thresholds with their defaults, read from its signature (the series have none)."""
    from . import monitor

    checks = [name for name in monitor.__all__ if name not in ("HealthWarning", "health_report")]
    return {name: {p.name: p.default for p in inspect.signature(getattr(monitor, name)).parameters.values()
                   if p.default is not inspect.Parameter.empty and p.name != "name"} for name in checks}


def log_reader_state(case: str | None = None, step: int = 1, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Lesson 10: the log reader, opened on a casebook trace (``case``) or on a learner's own log file (``path``).

    The state carries :mod:`kl_lessons.run_logs`' key table, the checks' default thresholds (read from
    :mod:`kl_lessons.monitor`'s signatures) and the casebook's cases; the traces' text is bundled with the module
    (``kl_lessons/web/src/casebook_traces.json``, written by ``scripts/make_casebook.py``), so the page reads and
    checks a log with no kernel. ``step`` counts the log's rows from 1. With ``path`` the file's text is sent too and the
    reader opens on it (``case`` is then ``"own"``).
    """
    from . import casebook

    # The traces' text is bundled with the module (kl_lessons/web/src/casebook_traces.json), not sent here.
    cases = [{"name": c.name, "title": c.title, "trainer": c.trainer, "file": c.file} for c in casebook.CASES]
    names = [c["name"] for c in cases]
    own = {"name": "", "text": ""}
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"path must be a file path, got {type(path).__name__}")
        if not os.path.isfile(path):
            raise ValueError(f"path: no such file: {os.fspath(path)!r}")
        if os.path.getsize(path) > LOG_READER_LIMITS["max_chars"]:
            raise ValueError(f"path: {os.fspath(path)!r} is over the page's limit of {LOG_READER_LIMITS['max_chars']:,} "
                             "bytes; read it with python -m kl_lessons.run_logs")
        with open(path, encoding="utf-8", errors="replace") as handle:
            own = {"name": os.path.basename(os.fspath(path)), "text": handle.read()}
        if case is not None:
            raise ValueError("case must be None when path is given (the reader opens on the file)")
        case = "own"
    elif case is None:
        case = names[0]
    elif case not in names:
        raise ValueError(f"case must be one of {names} or None, got {case!r}")
    step = count(step, "step", minimum=1)
    from .run_logs import reading_rules

    return rounded({"key_table": reading_rules(), "thresholds": _check_thresholds(), "cases": cases, "case": case,
                    "own_log": own, "limits": dict(LOG_READER_LIMITS), "step": step})


# --------------------------------------------------------------------------- the directive
#: Module file name → the function giving its state (lesson 6's needs the notebook's runs), one per registered lesson.
STATE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {entry.module: globals()[entry.state_function] for entry in LESSONS}


def state_json(state: Mapping[str, Any]) -> str:
    """A state as JSON, one key per line: the body of a lesson's ``{anywidget}`` directive."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, allow_nan=False)}" for k, v in state.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


__all__ = [
    "SCRUBBER_METRICS", "SHOUT_THRESHOLD", "SIGNIFICANT_DIGITS", "STATE_FUNCTIONS",
    "controller_state", "entropy_anchor_state", "estimator_spread_state", "forecasters_state", "frontier_state",
    "reward_shaping_state", "rounded", "kl_gradients_state", "state_json", "training_scrubber_state",
    "TRL_LOG_KEYS", "trl_log_state", "LOG_READER_LIMITS", "log_reader_state",
]
