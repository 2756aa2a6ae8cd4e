"""The MyST site builds offline, with the strict flag and with no warning in its output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_check", ROOT / "scripts" / "site_check.py")
site_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_check)


@pytest.fixture(scope="module")
def site_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, list[str]]:
    return site_check.build(site_check.stage(tmp_path_factory.mktemp("site")))


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
