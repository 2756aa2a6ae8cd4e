"""The course's colours, shared by the lessons' figures (matplotlib) and explorers (SVG)."""

from __future__ import annotations

#: Okabe–Ito colours: distinguishable with every common form of colour blindness.
#: Figures also vary line style or hatch, so that no series is told apart by colour alone.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}

__all__ = ["OKABE_ITO"]
