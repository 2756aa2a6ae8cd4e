"""Retired: the matplotlib explorers. Every lesson's explorer is now an ES module (:mod:`kl_lessons.web_widgets`).

Only lesson 6's ``TrainingScrubber`` remains here until its notebook moves to
``kl_lessons.web_widgets.TrainingScrubber``; then this package goes. Colours live in :mod:`kl_lessons.style`.
"""

from __future__ import annotations

from ..style import OKABE_ITO
from ._base import Explorer
from .training_scrubber import TrainingScrubber

__all__ = ["OKABE_ITO", "Explorer", "TrainingScrubber"]
