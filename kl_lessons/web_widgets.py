"""The lessons' explorers in JupyterLab (and VS Code, Colab): one :class:`anywidget.AnyWidget` per lesson.

Each explorer is an ES module in ``kl_lessons/web/`` (bundled from ``kl_lessons/web/src`` with
esbuild) that computes in the browser and draws with SVG, so a slider move needs no kernel round
trip. The same module runs on the published site through MyST's ``{anywidget}`` directive. Both
start from the lesson's state function in :mod:`kl_lessons.explorer_state`:

>>> from kl_lessons.web_widgets import ForecastersExplorer
>>> ForecastersExplorer()                     # doctest: +SKIP
>>> ForecastersExplorer(q_rain=0.65)          # doctest: +SKIP  (any state key can be overridden)

The JavaScript reimplements the math of :mod:`kl_lessons`; ``tests/test_web_parity.py`` checks
the two agree to 1e-9. All KL values are in nats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar

import anywidget
import traitlets

from . import explorer_state as _state

#: The folder holding the bundled ES modules (shipped as package data).
WEB_DIR = Path(__file__).resolve().parent / "web"


class LessonExplorer(anywidget.AnyWidget):
    """A lesson's explorer: its ES module, started from its state function.

    Subclasses name the module (``module``), the state function (``state_function``) and the
    keys a reader moves (``controls``, shown by ``repr``).
    """

    module: ClassVar[str] = ""
    controls: ClassVar[tuple[str, ...]] = ()
    state_function: ClassVar[Callable[..., dict[str, Any]]]

    def __init__(self, state: dict[str, Any] | None = None, **overrides: Any) -> None:
        state = dict(self.state_function() if state is None else state)
        unknown = set(overrides) - set(state)
        if unknown:
            raise ValueError(f"unknown state keys for {type(self).__name__}: {sorted(unknown)}")
        state = _state.rounded({**state, **overrides})
        # Each state key becomes a synced trait; the module reads them with model.get(key).
        self.add_traits(**{key: traitlets.Any().tag(sync=True) for key in state})
        self._state_keys = tuple(state)
        super().__init__(**state)

    @classmethod
    def state_keys_in(cls, model_state: dict[str, Any]) -> list[str]:
        """The explorer's own keys among a saved widget model's keys (not ipywidgets' or anywidget's)."""
        return [key for key in model_state if key not in _WIDGET_TRAITS]

    def state(self) -> dict[str, Any]:
        """The current state: every key the module reads, with its value."""
        return {key: getattr(self, key) for key in self._state_keys}

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={getattr(self, key)!r}" for key in self.controls)
        return f"{type(self).__name__}({shown})"


#: Traits every anywidget syncs; the rest of a saved model is the explorer's state.
_WIDGET_TRAITS = frozenset(anywidget.AnyWidget.class_trait_names()) | {"_esm", "_css", "_anywidget_id"}


def _explorer(name: str, module: str, controls: tuple[str, ...], doc: str) -> type[LessonExplorer]:
    return type(name, (LessonExplorer,), {
        "__doc__": doc, "__module__": __name__, "module": module, "controls": controls,
        "_esm": WEB_DIR / module, "state_function": staticmethod(_state.STATE_FUNCTIONS[module]),
    })


ForecastersExplorer = _explorer(
    "ForecastersExplorer", "forecasters.js", ("p_rain", "q_rain"),
    "Lesson 1: KL between two forecasters in both directions, with each outcome's term.")
EstimatorSpreadExplorer = _explorer(
    "EstimatorSpreadExplorer", "estimator_spread.js", ("drift", "sample_size"),
    "Lesson 2: spread of the k1, k2, k3 batch means against the number of tokens.")
RewardShapingExplorer = _explorer(
    "RewardShapingExplorer", "reward_shaping.js", ("beta", "estimator"),
    "Lesson 3: per-token KL-shaped rewards of a padded batch, against β.")
FrontierExplorer = _explorer(
    "FrontierExplorer", "frontier.js", ("beta",),
    "Lesson 4: the optimum π_β against β, with its point on the reward–KL frontier.")
ControllerExplorer = _explorer(
    "ControllerExplorer", "controller_traces.js", ("target", "horizon", "noise"),
    "Lesson 5: proportional and threshold KL controllers on a simulated plant.")
TrainingScrubber = _explorer(
    "TrainingScrubber", "training_scrubber.js", ("step", "front"),
    "Lesson 6: replay recorded training runs step by step. Pass ``training_scrubber_state(runs)``.")
KLGradientsExplorer = _explorer(
    "KLGradientsExplorer", "kl_gradients.js", ("recipe", "mode", "beta", "drift"),
    "Lesson 7: a KL recipe's expected update against the exact one, on- or off-policy, over β and drift.")
EntropyAnchorExplorer = _explorer(
    "EntropyAnchorExplorer", "entropy_anchor.js", ("beta", "alpha"),
    "Lesson 8: the optimum of E[r] + α·H(π) − β·KL(π‖π_ref) beside π_ref, over the KL coefficient β and "
    "the entropy bonus α.")

#: Module file name → its explorer class.
EXPLORERS: dict[str, type[LessonExplorer]] = {
    cls.module: cls for cls in (ForecastersExplorer, EstimatorSpreadExplorer, RewardShapingExplorer,
                                FrontierExplorer, ControllerExplorer, TrainingScrubber, KLGradientsExplorer,
                                EntropyAnchorExplorer)
}

__all__ = [
    "EXPLORERS", "WEB_DIR", "ControllerExplorer", "EntropyAnchorExplorer", "EstimatorSpreadExplorer",
    "ForecastersExplorer", "FrontierExplorer", "KLGradientsExplorer", "LessonExplorer", "RewardShapingExplorer",
    "TrainingScrubber",
]
