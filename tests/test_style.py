"""Figures read their cell's ``#| alt:`` text: the site shows a figure output's plain-text form as its alt text."""

from __future__ import annotations

import builtins

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from kl_lessons import style  # noqa: E402


@pytest.mark.parametrize("source, expected", [
    ("#| label: fig-a\n#| alt: Two bars, the second taller.\nplt.show()", "Two bars, the second taller."),
    ("#|alt:   spaces around   \nx = 1", "spaces around"),
    ("x = 1  #| alt: not at the start of a line", None),
    ("#| caption: a caption only\nplt.show()", None),
    ("", None),
])
def test_alt_text_reads_the_cell_option(source: str, expected: str | None) -> None:
    assert style.alt_text(source) == expected


def test_alt_text_rejects_what_is_not_a_cell() -> None:
    for bad in (None, 3, b"#| alt: bytes", ["#| alt: x"]):
        with pytest.raises(ValueError, match="cell_source"):
            style.alt_text(bad)  # type: ignore[arg-type]


@pytest.fixture
def shell():
    """An IPython shell in this process, with the course's figure printer installed on it; gone afterwards."""
    names = set(vars(builtins))  # the shell adds __IPYTHON__ and display; other tests must not see them
    shell = InteractiveShell.instance()
    try:
        style._describe_figures_in_ipython()
        yield shell
    finally:
        shell.events.unregister("pre_run_cell", shell._kl_lessons_alt_text.before_cell)
        del shell._kl_lessons_alt_text
        InteractiveShell.clear_instance()
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)
        plt.close("all")


def _plain(shell: InteractiveShell, cell: str) -> str:
    shell.run_cell(cell + "\n_plain = get_ipython().display_formatter.format(fig)[0]['text/plain']")
    return shell.user_ns["_plain"]


def test_a_figure_prints_as_its_cells_alt_text_and_only_that_cell(shell: InteractiveShell) -> None:
    draw = "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()"
    assert _plain(shell, "#| alt: A line that rises.\n" + draw) == "A line that rises."
    # A cell without the option keeps matplotlib's own form: the text of an earlier cell never leaks.
    assert _plain(shell, draw).startswith("<Figure size")
    # Selecting a backend drops every Figure printer; the next cell has it back.
    shell.run_cell("from IPython.core.pylabtools import select_figure_formats\n"
                   "select_figure_formats(get_ipython(), {'png'})")
    assert _plain(shell, "#| alt: After a backend change.\n" + draw) == "After a backend change."


def test_installing_twice_registers_one_hook(shell: InteractiveShell) -> None:
    before = len(shell.events.callbacks["pre_run_cell"])
    style._describe_figures_in_ipython()
    assert len(shell.events.callbacks["pre_run_cell"]) == before
