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
from .lessons import LESSONS, lesson

#: The folder holding the bundled ES modules (shipped as package data).
WEB_DIR = Path(__file__).resolve().parent / "web"


class LessonExplorer(anywidget.AnyWidget):
    """A lesson's explorer: its ES module, started from its state function.

    A subclass names its lesson (``lesson = N``); the module, the state function and the keys a reader
    moves (``controls``, shown by ``repr``) are read from that lesson's entry in :data:`kl_lessons.lessons.LESSONS`.
    """

    lesson: ClassVar[int] = 0
    module: ClassVar[str] = ""
    controls: ClassVar[tuple[str, ...]] = ()
    state_function: ClassVar[Callable[..., dict[str, Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # traitlets' add_traits makes a subclass of each instance's class; only a class that declares its
        # lesson is set up here, or the per-instance subclasses would have their synced _esm trait overwritten.
        if "lesson" not in cls.__dict__:
            super().__init_subclass__(**kwargs)
            return
        entry = lesson(cls.lesson)
        if entry.explorer != cls.__name__:
            raise TypeError(f"lesson {entry.number}'s registry entry names its explorer {entry.explorer!r}, "
                            f"not {cls.__name__!r}")
        cls.module, cls.controls = entry.module, entry.controls
        cls.state_function = staticmethod(getattr(_state, entry.state_function))
        # Set before anywidget's own hook runs, which turns a path in the class's _esm into the file's contents.
        cls._esm = WEB_DIR / entry.module
        super().__init_subclass__(**kwargs)

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


# One class per lesson, so that each is a name a learner can import, read and find with grep; its docstring is
# the registry's description (tests/test_lessons.py checks the two agree).
class ForecastersExplorer(LessonExplorer):
    """Lesson 1: KL between two forecasters in both directions, with each outcome's term."""

    lesson = 1


class EstimatorSpreadExplorer(LessonExplorer):
    """Lesson 2: spread of the k1, k2, k3 batch means against the number of tokens."""

    lesson = 2


class RewardShapingExplorer(LessonExplorer):
    """Lesson 3: per-token KL-shaped rewards of a padded batch, against β."""

    lesson = 3


class FrontierExplorer(LessonExplorer):
    """Lesson 4: the optimum π_β against β, with its point on the reward–KL frontier."""

    lesson = 4


class ControllerExplorer(LessonExplorer):
    """Lesson 5: proportional and threshold KL controllers on a simulated plant."""

    lesson = 5


class TrainingScrubber(LessonExplorer):
    """Lesson 6: replay recorded training runs step by step. Pass ``training_scrubber_state(runs)``."""

    lesson = 6


class KLGradientsExplorer(LessonExplorer):
    """Lesson 7: a KL recipe's expected update against the exact one, on- or off-policy, over β and drift."""

    lesson = 7


class EntropyAnchorExplorer(LessonExplorer):
    """Lesson 8: the optimum of E[r] + α·H(π) − β·KL(π‖π_ref) beside π_ref, over the KL coefficient β and the entropy bonus α."""

    lesson = 8


class TRLLogScrubber(LessonExplorer):
    """Lesson 9: TRL's own GRPO logs, scrubbed step by step by β and logged key. Pass ``trl_log_state(runs)``."""
    lesson = 9


class LogReader(LessonExplorer):
    """Lesson 10: a trainer's log read and checked in the page: a casebook trace, or your own log (``log_reader_state(path=...)``)."""

    lesson = 10


#: Module file name → its explorer class, one per registered lesson, in lesson order.
EXPLORERS: dict[str, type[LessonExplorer]] = {entry.module: globals()[entry.explorer] for entry in LESSONS}

__all__ = [
    "EXPLORERS", "WEB_DIR", "ControllerExplorer", "EntropyAnchorExplorer", "EstimatorSpreadExplorer",
    "ForecastersExplorer", "FrontierExplorer", "KLGradientsExplorer", "LessonExplorer", "LogReader", "RewardShapingExplorer",
    "TRLLogScrubber", "TrainingScrubber",
]
