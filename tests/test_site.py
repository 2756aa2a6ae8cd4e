"""The site's sources: the toc, the warning detector, and each lesson's Colab link and install guard.

The built site itself (the real book theme, a sub-path, a browser walk) is checked in ``test_site_walk.py``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path
from unittest import mock

import pytest

from kl_lessons.lessons import LESSONS as REGISTRY
from kl_lessons.style import alt_text

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_check", ROOT / "scripts" / "site_check.py")
site_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_check)

LESSONS = [ROOT / entry.notebook for entry in REGISTRY]  # test_lessons.py checks the folder and the toc agree
CONFIG = (ROOT / "myst.yml").read_text()
GITHUB = re.search(r"^\s*github:\s*(https://github\.com/[\w.-]+/[\w.-]+)\s*$", CONFIG, re.M).group(1)
COLAB = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")


def test_the_site_has_no_live_kernel_band_and_a_favicon() -> None:
    # `jupyter: true` shows an empty band with a connect button under every notebook's authors on a static site.
    assert not re.search(r"^\s*jupyter:\s*true", CONFIG, re.M)
    favicon = re.search(r"^\s*favicon:\s*(\S+)", CONFIG, re.M)
    assert favicon and (ROOT / favicon.group(1)).is_file() and favicon.group(1) in site_check.CONTENT


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_each_figure_shows_one_image_that_reads_its_alt_text(notebook: Path) -> None:
    """The site reads a figure output's text/plain as the image's alt text (kl_lessons.style puts it there)."""
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        label = re.match(r"#\| label: (fig-\S+)", source)
        if cell["cell_type"] != "code" or not label:
            continue
        alt = alt_text(source)
        assert alt, f"{label.group(1)} has no #| alt: line"
        images = [o["data"] for o in cell["outputs"] if "image/png" in o.get("data", {})]
        # One figure per cell: every figure a cell shows would read the cell's one description.
        assert len(images) == 1, f"{label.group(1)} shows {len(images)} images"
        assert "".join(images[0]["text/plain"]) == alt, f"{label.group(1)}: re-execute the lesson"


@pytest.mark.slow  # builds a site
def test_warning_detector_catches_an_unresolved_citation(tmp_path: Path) -> None:
    # Guards the guard: a page citing a missing key must be reported (content build only, no HTML, one page).
    where = site_check.stage(tmp_path, only=["index.md"])
    assert "notebooks/" not in (where / "myst.yml").read_text()
    (where / "index.md").write_text("# Probe\n\nSee @no_such_key_in_the_bib.\n")
    code, output, warnings = site_check.build(where, html=False)
    reason = site_check.theme_missing_reason(output) if code else None
    if reason:
        pytest.skip(reason)
    assert code == 0 and any("no_such_key_in_the_bib" in w for w in warnings), output


# --------------------------------------------------------------------------- Colab
def _cells(notebook: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_links_to_itself_on_colab(notebook: Path) -> None:
    # MyST has no Colab launch button: each lesson links to its own notebook in the course repository.
    links = COLAB.findall("\n".join(_cells(notebook, "markdown")))
    owner_repo = GITHUB.removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{notebook.name}"
    assert links, f"{notebook.name} has no 'Open in Colab' link"
    assert set(links) == {expected}, f"{notebook.name}: Colab links {links}, expected {expected}"


def _install_guard(notebook: Path) -> list[ast.stmt]:
    """The first code cell's `if <kl_lessons is missing>:` statement (as Python), with the importlib imports before it."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(_cells(notebook, "code")[0])
    tree = ast.parse(python)
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.If) and "kl_lessons" in ast.unparse(node.test):
            before = ast.unparse(ast.Module(body=tree.body[:index], type_ignores=[]))
            assert "kl_lessons" not in before, "kl_lessons is imported before the install guard"
            imports = [n for n in tree.body[:index] if isinstance(n, (ast.Import, ast.ImportFrom))
                       and "importlib" in ast.unparse(n)]
            return [*imports, node]
    raise AssertionError(f"{notebook.name}: the first code cell has no `if kl_lessons is missing:` install guard")


def _run_guard(guard: list[ast.stmt]) -> list[tuple[str, str]]:
    """Run the guard with a stand-in IPython that records magics instead of running them."""
    magics: list[tuple[str, str]] = []

    class Shell:
        def run_line_magic(self, name: str, line: str, *args: object) -> None:
            magics.append((name, line))

        def system(self, command: str) -> None:
            magics.append(("!", command))

    shell = Shell()
    code = compile(ast.Module(body=guard, type_ignores=[]), "<guard>", "exec")
    exec(code, {"get_ipython": lambda: shell, "__name__": "__main__"})  # noqa: S102
    return magics


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_first_code_cell_installs_kl_lessons_only_when_missing(notebook: Path) -> None:
    guard = _install_guard(notebook)
    # Installed (as here): the guard does nothing.
    assert importlib.util.find_spec("kl_lessons") is not None
    assert _run_guard(guard) == []
    # Missing (a fresh Colab runtime): exactly one `%pip install` of this repository.
    real = importlib.util.find_spec
    with mock.patch("importlib.util.find_spec", lambda name, *a: None if name == "kl_lessons" else real(name, *a)):
        magics = _run_guard(guard)
    assert len(magics) == 1 and magics[0][0] == "pip", magics
    line = magics[0][1]
    assert line.split()[0] == "install", line
    assert f"git+{GITHUB}" in line, f"{notebook.name} installs from {line!r}, not from {GITHUB}"
