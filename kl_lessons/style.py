"""How the lessons' figures look and read: shared colours, and alt text for every figure.

Colours are shared by the figures (matplotlib) and the explorers (SVG).

Alt text: each figure cell states its description once, as a ``#| alt:`` line beside its ``#| label:`` and
``#| caption:``. The site (MyST's book theme) uses a figure output's ``text/plain`` form as the image's alt text,
and matplotlib's is ``<Figure size 540x230.4 with 1 Axes>``, which tells a screen-reader user nothing. Importing
this module in a notebook kernel therefore makes a figure's plain-text form the ``#| alt:`` text of the cell that
drew it. The stored notebook then carries the description in the figure's output, where the site, nbval and
any notebook viewer find it. Outside IPython, or in a cell without ``#| alt:``, nothing changes.
"""

from __future__ import annotations

import re
from typing import Any

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

#: A cell option line, ``#| alt: <text>``, as MyST and Quarto write cell options.
_ALT_LINE = re.compile(r"^#\|\s*alt:\s*(.+?)\s*$", re.M)


def alt_text(cell_source: str) -> str | None:
    """The text of a cell's ``#| alt:`` option, or None when the cell has none.

    Raises ``ValueError`` if ``cell_source`` is not a string.
    """
    if not isinstance(cell_source, str):
        raise ValueError(f"cell_source must be a string, got {type(cell_source).__name__}")
    found = _ALT_LINE.search(cell_source)
    return found.group(1) if found else None


class _CellAltText:
    """Remembers the running cell's ``#| alt:`` text and prints it as a figure's plain-text form."""

    def __init__(self, shell: Any, figure_type: type) -> None:
        self.shell, self.figure_type, self.current = shell, figure_type, None

    def install(self) -> None:
        # Selecting a plotting backend (``%matplotlib inline``, or the first figure of a session) drops every
        # Figure printer, so the printer is put back before each cell runs.
        plain = self.shell.display_formatter.formatters["text/plain"]
        if plain.type_printers.get(self.figure_type) is not self.plain_text:
            plain.for_type(self.figure_type, self.plain_text)

    def before_cell(self, info: Any) -> None:
        self.current = alt_text(getattr(info, "raw_cell", "") or "")
        self.install()

    def plain_text(self, figure: Any, printer: Any, cycle: bool) -> None:
        printer.text(self.current if self.current else repr(figure))


def _describe_figures_in_ipython() -> None:
    """In an IPython kernel, once: figures print as their cell's ``#| alt:`` text (see the module docstring)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no notebook figures to describe
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_kl_lessons_alt_text", None) is not None:
        return
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # Select the backend now, not at the first figure: selecting it drops Figure printers, and the first figure
    # cell would otherwise lose its alt text.
    plt.switch_backend(matplotlib.get_backend())
    hook = _CellAltText(shell, Figure)
    hook.install()
    shell.events.register("pre_run_cell", hook.before_cell)
    shell._kl_lessons_alt_text = hook


_describe_figures_in_ipython()

__all__ = ["OKABE_ITO", "alt_text"]
