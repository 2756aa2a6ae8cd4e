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
    ('#| alt: "quoted: with a colon"', "quoted: with a colon"),
    ("x = 1  #| alt: not at the start of a line", None),
    ("x = 1\n#| alt: below the first line of code", None),   # only the block of options at the top counts
    ("#| alt:\n#| caption: an empty alt takes nothing from the next line", None),
    ("#|\nalt: not an option", None),
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
        style._install(shell)
        yield shell
    finally:
        shell.events.unregister("pre_run_cell", shell._kl_lessons_alt_text.before_cell)
        shell.events.unregister("post_run_cell", shell._kl_lessons_alt_text.after_cell)
        del shell._kl_lessons_alt_text
        InteractiveShell.clear_instance()
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)
        plt.close("all")
        plt.switch_backend("Agg")


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
    style._install(shell)
    assert len(shell.events.callbacks["pre_run_cell"]) == before


def test_the_inline_backend_shows_each_figure_with_its_cells_text_and_no_other(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    """The way a notebook shows a lesson figure: plt.show() under matplotlib's inline backend, at the end of a cell."""
    plt.switch_backend("module://matplotlib_inline.backend_inline")
    style._install(shell)  # already installed: only puts the printer back, as before the next cell
    shell.run_cell("#| label: fig-x\n#| alt: A line that rises.\nimport matplotlib.pyplot as plt\n"
                   "plt.plot([1, 2]); plt.show()")
    shown = capsys.readouterr().out  # a shell without a front end prints each display's text/plain
    assert "A line that rises." in shown and "<Figure size" not in shown
    # After the cell, a figure shown by a callback (no cell running) reads matplotlib's own form, not stale text.
    fig = plt.figure()
    assert shell.display_formatter.format(fig)[0]["text/plain"].startswith("<Figure size")


def test_outside_a_kernel_importing_the_colours_installs_nothing(shell: InteractiveShell) -> None:
    """A terminal IPython (no kernel) is left alone: nothing there shows a figure's plain-text form."""
    del shell._kl_lessons_alt_text
    style._describe_figures_in_a_kernel()
    assert getattr(shell, "_kl_lessons_alt_text", None) is None
    style._install(shell)  # for the fixture's clean-up
