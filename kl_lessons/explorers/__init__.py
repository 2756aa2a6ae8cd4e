"""Slider explorers, one per lesson; each updates its figure's artists in place."""

from ._base import OKABE_ITO, Explorer

__all__ = ["OKABE_ITO", "Explorer"]
