"""The course's kernel-free slider widgets, for JupyterLab and for the static site.

Each lesson's main explorer has a JavaScript twin in ``kl_lessons/web/``: an ES module that
computes in the browser and draws with SVG, so its sliders also work on the published site,
where there is no kernel. This module offers

* :func:`default_model`: each lesson's JSON model (the widget's starting state and data);
* :func:`embed_block`: the MyST ``{anywidget}`` directive that embeds a module in a lesson page;
* one :class:`anywidget.AnyWidget` class per lesson, running the *same* module in JupyterLab.

The JavaScript reimplements the math of :mod:`kl_lessons`; ``tests/test_web_parity.py`` checks
the two agree to 1e-9. All KL values are in nats.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import anywidget
import torch
import traitlets

from ._validate import as_tensor
from .types import ArrayLike

#: The folder holding the ES modules (shipped as package data).
WEB_DIR = Path(__file__).resolve().parent / "web"

#: Lesson number → file name of its module in :data:`WEB_DIR`.
MODULES = {
    1: "forecasters.js",
    2: "estimator_spread.js",
    3: "reward_shaping.js",
    4: "frontier.js",
    5: "controller_traces.js",
}


def _check_lesson(lesson: int) -> int:
    if isinstance(lesson, bool) or lesson not in MODULES:
        raise ValueError(f"lesson must be one of {sorted(MODULES)}, got {lesson!r}")
    return lesson


def module_path(lesson: int) -> Path:
    """Path of lesson ``lesson``'s ES module."""
    return WEB_DIR / MODULES[_check_lesson(lesson)]


def estimator_spread_model(logits: ArrayLike, ref_logits: ArrayLike, **overrides: Any) -> dict[str, Any]:
    """Lesson 2's model for a given pair of next-token logits.

    The widget's policy is π ∝ π_ref·exp(drift·direction). With π_ref = softmax(ref_logits)
    and direction = log_softmax(logits) − log_softmax(ref_logits), drift = 1 gives exactly
    π = softmax(logits), and the drift slider slides the policy towards (0) or past (2) it.

    Parameters
    ----------
    logits, ref_logits : array-like, shape (V,)
        Logits of the policy π (which samples tokens) and of the reference π_ref.
    **overrides
        Any other model key (``sample_size``, ``trials``, ``seed`` …).

    Returns
    -------
    dict
        A JSON-serialisable model for ``estimator_spread.js``.
    """
    lg = as_tensor(logits, "logits").to(torch.float64)
    ref = as_tensor(ref_logits, "ref_logits").to(torch.float64)
    if lg.ndim != 1 or lg.shape != ref.shape or lg.numel() < 2:
        raise ValueError(
            f"logits and ref_logits must both have shape (V,) with V >= 2, got {tuple(lg.shape)} and {tuple(ref.shape)}"
        )
    log_ref = torch.log_softmax(ref, -1)
    model = {
        "ref_probs": log_ref.exp().tolist(),
        "direction": (torch.log_softmax(lg, -1) - log_ref).tolist(),
        "drift": 1.0,
        "sample_size": 16,
        "max_log2_size": 10,
        "trials": 200,
        "seed": 2020,
    }
    unknown = set(overrides) - set(model)
    if unknown:
        raise ValueError(f"unknown model keys for lesson 2: {sorted(unknown)}")
    return {**model, **overrides}


def default_model(lesson: int) -> dict[str, Any]:
    """The JSON model each lesson's widget starts from (parameters and data).

    Parameters
    ----------
    lesson : int
        1 to 5.

    Returns
    -------
    dict
        Plain lists, numbers and strings, ready for ``json.dumps``. A fresh dict on each call.
    """
    lesson = _check_lesson(lesson)
    if lesson == 1:
        # The seed chapter's forecasters: A says 70 % rain, B says 30 %.
        return {"p_rain": 0.7, "q_rain": 0.3, "labels": ["rain", "sun"], "names": ["Forecaster A", "Forecaster B"]}
    if lesson == 2:
        return {
            "ref_probs": [0.4, 0.25, 0.15, 0.1, 0.06, 0.04],
            "direction": [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5],
            "drift": 0.5,
            "sample_size": 16,
            "max_log2_size": 10,
            "trials": 200,
            "seed": 2020,
        }
    if lesson == 3:
        # Imported here so that each lesson's data loads only when asked for.
        from .explorers.reward_shaping import cafe_review_batch

        batch = cafe_review_batch()
        return {
            "labels": list(batch.labels),
            "tokens": [list(t) for t in batch.tokens],
            "scores": batch.scores.tolist(),
            "logprobs": batch.logprobs.tolist(),
            "ref_logprobs": batch.ref_logprobs.tolist(),
            "mask": batch.mask.to(torch.int64).tolist(),
            "beta": 0.05,
            "beta_max": 0.4,
            "estimator": "k1",
        }
    from .toy_responses import make_toy_responses, toy_frontier_table

    if lesson == 4:
        toy = make_toy_responses()
        return {
            "labels": list(toy.labels),
            "marks": toy.exclamations.tolist(),
            "mark_symbol": "!",
            "ref_probs": toy.ref_probs.tolist(),
            "rewards": toy.proxy.tolist(),
            "gold": toy.gold.tolist(),
            "beta": 0.1,
            "log10_beta_range": [-3, 1],
        }
    # Lesson 5: the plant settles at lesson 4's toy KL(β), per reply, in nats.
    betas, kls = toy_frontier_table(torch.logspace(-3, 1, 17, dtype=torch.float64))
    return {
        "plant_betas": betas.tolist(),
        "plant_kls": kls.tolist(),
        "lag": 10.0,
        "noise": 3.0,
        "batch_size": 512,
        "kl0": 0.0,
        "seed": 5,
        "n_steps": 400,
        "init_beta": 0.1,
        "target": 3.0,
        "horizon": 10000.0,
        "threshold_factor": 1.5,
        "threshold_bounds": [0.01, 1.0],
    }


def model_json(model: dict[str, Any]) -> str:
    """A model as JSON with one key per line, the layout used inside the directive."""
    for key, value in model.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"model[{key!r}] is {value}; JSON has no NaN or infinity")
    lines = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in model.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


def embed_block(lesson: int, model: dict[str, Any] | None = None, module_dir: str = "../kl_lessons/web") -> str:
    """The MyST ``{anywidget}`` directive that embeds lesson ``lesson``'s widget in a page.

    Parameters
    ----------
    lesson : int
        1 to 5.
    model : dict, optional
        The JSON model; defaults to :func:`default_model`.
    module_dir : str
        Folder of the modules relative to the page (lesson notebooks live in ``notebooks/``).

    Returns
    -------
    str
        Markdown text for a notebook's markdown cell.
    """
    body = model_json(default_model(lesson) if model is None else model)
    return f"```{{anywidget}} {module_dir}/{MODULES[_check_lesson(lesson)]}\n{body}\n```\n"


class _LessonWidget(anywidget.AnyWidget):
    """Shared set-up: start from the lesson's default model, then apply keyword overrides."""

    lesson: int = 0

    def __init__(self, **overrides: Any) -> None:
        model = default_model(self.lesson)
        unknown = set(overrides) - set(model)
        if unknown:
            raise ValueError(f"unknown model keys for lesson {self.lesson}: {sorted(unknown)}")
        super().__init__(**{**model, **overrides})

    def model(self) -> dict[str, Any]:
        """The current model (every synced key and its value)."""
        return {key: getattr(self, key) for key in default_model(self.lesson)}


class ForecastersWidget(_LessonWidget):
    """Lesson 1: KL between two forecasters in both directions, with each outcome's term."""

    lesson = 1
    _esm = WEB_DIR / MODULES[1]
    p_rain = traitlets.Float(0.7).tag(sync=True)
    q_rain = traitlets.Float(0.3).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)


class EstimatorSpreadWidget(_LessonWidget):
    """Lesson 2: spread of the k1, k2, k3 batch means against the number of tokens."""

    lesson = 2
    _esm = WEB_DIR / MODULES[2]
    ref_probs = traitlets.List(traitlets.Float()).tag(sync=True)
    direction = traitlets.List(traitlets.Float()).tag(sync=True)
    drift = traitlets.Float(0.5).tag(sync=True)
    sample_size = traitlets.Int(16).tag(sync=True)
    max_log2_size = traitlets.Int(10).tag(sync=True)
    trials = traitlets.Int(200).tag(sync=True)
    seed = traitlets.Int(2020).tag(sync=True)


class RewardShapingWidget(_LessonWidget):
    """Lesson 3: per-token KL-shaped rewards of a padded batch, against β."""

    lesson = 3
    _esm = WEB_DIR / MODULES[3]
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    tokens = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    scores = traitlets.List(traitlets.Float()).tag(sync=True)
    logprobs = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    ref_logprobs = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    mask = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    beta = traitlets.Float(0.05).tag(sync=True)
    beta_max = traitlets.Float(0.4).tag(sync=True)
    estimator = traitlets.Enum(["k1", "k2", "k3"], "k1").tag(sync=True)


class FrontierWidget(_LessonWidget):
    """Lesson 4: the optimum π_β against β, with its point on the reward–KL frontier."""

    lesson = 4
    _esm = WEB_DIR / MODULES[4]
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    marks = traitlets.List(traitlets.Int()).tag(sync=True)
    mark_symbol = traitlets.Unicode("!").tag(sync=True)
    ref_probs = traitlets.List(traitlets.Float()).tag(sync=True)
    rewards = traitlets.List(traitlets.Float()).tag(sync=True)
    gold = traitlets.List(traitlets.Float()).tag(sync=True)
    beta = traitlets.Float(0.1).tag(sync=True)
    log10_beta_range = traitlets.List(traitlets.Float(), minlen=2, maxlen=2).tag(sync=True)


class ControllerTracesWidget(_LessonWidget):
    """Lesson 5: proportional and threshold KL controllers on a simulated plant."""

    lesson = 5
    _esm = WEB_DIR / MODULES[5]
    plant_betas = traitlets.List(traitlets.Float()).tag(sync=True)
    plant_kls = traitlets.List(traitlets.Float()).tag(sync=True)
    lag = traitlets.Float(10.0).tag(sync=True)
    noise = traitlets.Float(3.0).tag(sync=True)
    batch_size = traitlets.Int(512).tag(sync=True)
    kl0 = traitlets.Float(0.0).tag(sync=True)
    seed = traitlets.Int(5).tag(sync=True)
    n_steps = traitlets.Int(400).tag(sync=True)
    init_beta = traitlets.Float(0.1).tag(sync=True)
    target = traitlets.Float(3.0).tag(sync=True)
    horizon = traitlets.Float(10000.0).tag(sync=True)
    threshold_factor = traitlets.Float(1.5).tag(sync=True)
    threshold_bounds = traitlets.List(traitlets.Float(), minlen=2, maxlen=2).tag(sync=True)


#: Lesson number → widget class.
WIDGETS = {
    1: ForecastersWidget,
    2: EstimatorSpreadWidget,
    3: RewardShapingWidget,
    4: FrontierWidget,
    5: ControllerTracesWidget,
}

__all__ = [
    "MODULES", "WEB_DIR", "WIDGETS", "ControllerTracesWidget", "EstimatorSpreadWidget", "ForecastersWidget",
    "FrontierWidget", "RewardShapingWidget", "default_model", "embed_block", "estimator_spread_model",
    "model_json", "module_path",
]
