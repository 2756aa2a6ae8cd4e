"""How the lessons' figures look and read: shared colours, and alt text for every figure.

Colours are shared by the figures (matplotlib) and the explorers (SVG).

Alt text: each figure cell states its description once, as a ``#| alt:`` line beside its ``#| label:`` and
``#| caption:``. The site (MyST's book theme) uses a figure output's ``text/plain`` form as the image's alt text,
and matplotlib's is ``<Figure size 540x230.4 with 1 Axes>``, which tells a screen-reader user nothing. Importing
this module in a notebook kernel therefore makes a figure's plain-text form the ``#| alt:`` text of the cell that
drew it. The stored notebook then carries the description in the figure's output, where the site, nbval and
any notebook viewer find it. Outside a notebook kernel (plain Python, a terminal), or in a cell without
``#| alt:``, nothing changes.
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

#: One cell option line, ``#| key: value``, as MyST and Quarto write them at the top of a cell.
_OPTION = re.compile(r"#\|[ \t]*([\w-]+)[ \t]*:[ \t]*(.*?)[ \t]*")


def alt_text(cell_source: str) -> str | None:
    """The text of a cell's ``#| alt:`` option, or None when the cell has none (or leaves it empty).

    Only the block of ``#|`` lines at the top of the cell counts, as in MyST; quotes around the text are dropped.
    Raises ``ValueError`` if ``cell_source`` is not a string.
    """
    if not isinstance(cell_source, str):
        raise ValueError(f"cell_source must be a string, got {type(cell_source).__name__}")
    for line in cell_source.splitlines():
        option = _OPTION.fullmatch(line)
        if option is None:
            break  # the first line that is not a cell option ends the block
        key, value = option.groups()
        if key == "alt":
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1].strip()
            return value or None
    return None


class _CellAltText:
    """Remembers the running cell's ``#| alt:`` text and prints it as a figure's plain-text form.

    Known limits: every figure a cell shows gets that cell's one text (each lesson figure cell shows one figure;
    a test holds them to it), and a figure drawn by an interactive backend such as ``%matplotlib widget`` keeps
    matplotlib's own form.
    """

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

    def after_cell(self, result: Any = None) -> None:
        # After the cell's figures are shown (the inline backend shows them just before this), so that a figure
        # shown later by a callback (a slider of ipywidgets, say) does not read out this cell's description.
        self.current = None

    def plain_text(self, figure: Any, printer: Any, cycle: bool) -> None:
        printer.text(self.current if self.current else repr(figure))


def _install(shell: Any) -> None:
    """Make figures in ``shell`` print as their cell's ``#| alt:`` text; once per shell."""
    if getattr(shell, "_kl_lessons_alt_text", None) is not None:
        return
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # Select the backend now, not at the first figure: selecting it drops Figure printers, and the first figure
    # cell would otherwise lose its alt text. A backend that cannot load is left for the first figure to report.
    try:
        plt.switch_backend(matplotlib.get_backend())
    except Exception:  # noqa: BLE001 - the colours must import whatever the plotting set-up
        pass
    hook = _CellAltText(shell, Figure)
    hook.install()
    shell.events.register("pre_run_cell", hook.before_cell)
    shell.events.register("post_run_cell", hook.after_cell)
    shell._kl_lessons_alt_text = hook


def _describe_figures_in_a_kernel() -> None:
    """In a notebook kernel (JupyterLab, VS Code, Colab), not a terminal: see the module docstring."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no notebook figures to describe
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        _install(shell)


_describe_figures_in_a_kernel()

__all__ = ["OKABE_ITO", "alt_text"]
