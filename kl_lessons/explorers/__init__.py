"""Slider explorers, one per lesson; each updates its figure's artists in place.

Import an explorer from its module (``from kl_lessons.explorers.forecasters import
ForecasterExplorer``) or from here. Importing this package does not import them all,
so a lesson pays only for the explorer it shows.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._base import OKABE_ITO, Explorer

_LESSON_EXPLORERS = {
    "ForecasterExplorer": "forecasters",            # lesson 1
    "EstimatorSpreadExplorer": "estimator_spread",  # lesson 2
    "RewardShapingExplorer": "reward_shaping",      # lesson 3
    "FrontierExplorer": "frontier",                 # lesson 4
    "ControllerExplorer": "controller_traces",      # lesson 5
    "TrainingScrubber": "training_scrubber",        # lesson 6
}

__all__ = ["OKABE_ITO", "Explorer", *_LESSON_EXPLORERS]


def __getattr__(name: str) -> Any:
    if name in _LESSON_EXPLORERS:
        return getattr(import_module(f".{_LESSON_EXPLORERS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
