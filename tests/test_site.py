"""The MyST site builds offline, with the strict flag and with no warning in its output."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_check", ROOT / "scripts" / "site_check.py")
site_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_check)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_check.stage(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def site_build(site_dir: Path) -> tuple[int, str, list[str]]:
    return site_check.build(site_dir)


def test_site_builds_offline(site_build: tuple[int, str, list[str]]) -> None:
    code, output, _ = site_build
    assert code == 0, output


def test_site_build_prints_no_warning(site_build: tuple[int, str, list[str]]) -> None:
    # `--strict` alone exits 0 on an unresolved citation or label, so read the output.
    _, _, warnings = site_build
    assert not warnings, "the site build warned:\n" + "\n".join(warnings)


def test_every_notebook_is_in_the_toc() -> None:
    config = (ROOT / "myst.yml").read_text()
    missing = [nb.name for nb in sorted((ROOT / "notebooks").glob("*.ipynb")) if f"notebooks/{nb.name}" not in config]
    assert not missing, f"notebooks missing from myst.yml's toc: {missing}"


def test_warning_detector_catches_an_unresolved_citation(tmp_path: Path) -> None:
    # Guards the guard: a page citing a missing key must be reported.
    where = site_check.stage(tmp_path)
    (where / "index.md").write_text("# Probe\n\nSee @no_such_key_in_the_bib.\n")
    code, _, warnings = site_check.build(where)
    assert code == 0 and any("no_such_key_in_the_bib" in w for w in warnings)


def _node_types(node: dict, counts: Counter) -> Counter:
    counts[node.get("type")] += 1
    for child in node.get("children", []):
        _node_types(child, counts)
    return counts


def _source_counts(notebook: Path) -> Counter:
    cells = json.loads(notebook.read_text())["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return Counter(
        exercise=len(re.findall(r"^`{3,}\{exercise\}", markdown, re.M)),
        solution=len(re.findall(r"^`{3,}\{solution\}", markdown, re.M)),
        figure=len(re.findall(r"^#\| label: fig-", code, re.M)),
    )


def test_every_exercise_solution_and_figure_renders(site_dir: Path, site_build: tuple[int, str, list[str]]) -> None:
    # A malformed directive can fall back to a plain code block without any warning.
    pages = sorted((site_dir / "_build" / "site" / "content").glob("*.json"))
    checked = 0
    for page in pages:
        data = json.loads(page.read_text())
        location = data.get("location", "")
        if not location.endswith(".ipynb"):
            continue
        expected = _source_counts(ROOT / location.lstrip("/"))
        built = _node_types(data["mdast"], Counter())
        assert built["exercise"] == expected["exercise"], location
        assert built["solution"] == expected["solution"], location
        figures = built["container"]
        assert figures >= expected["figure"], location
        checked += 1
    assert checked == len(list((ROOT / "notebooks").glob("[0-9]*.ipynb")))


def test_lessons_one_to_five_carry_a_kernel_free_widget(site_dir: Path, site_build: tuple[int, str, list[str]]) -> None:
    # The static site cannot run ipywidgets; each lesson's main explorer must also exist as an {anywidget}.
    pages = {json.loads(p.read_text()).get("location", ""): p for p in (site_dir / "_build/site/content").glob("*.json")}
    for number in range(1, 6):
        (location,) = [loc for loc in pages if loc.startswith(f"/notebooks/0{number}_")]
        built = _node_types(json.loads(pages[location].read_text())["mdast"], Counter())
        assert built["anywidget"] >= 1, f"{location} has no {{anywidget}} figure"


def test_notebooks_are_downloadable_and_launchable(site_dir: Path, site_build: tuple[int, str, list[str]]) -> None:
    build = site_dir / "_build" / "site"
    for page in (build / "content").glob("*.json"):
        data = json.loads(page.read_text())
        if data.get("location", "").endswith(".ipynb"):
            exports = data["frontmatter"].get("exports", [])
            assert any(e.get("format") == "ipynb" for e in exports), f"{data['location']} has no .ipynb download"
    project = json.loads((build / "config.json").read_text())["projects"][0]
    # Launch buttons: a Binder session of the GitHub repository.
    assert project["thebe"]["binder"]["repo"] == project["github"]
