"""The explorers' ES modules: one shared kit, imported (never pasted), and bundles that rebuild byte for byte.

Each lesson's source in ``kl_lessons/web/src/lessons`` imports the helpers it needs from
``kl_lessons/web/src/kit.js``; esbuild bundles each into one self-contained file in
``kl_lessons/web`` (``npm run bundle``, or ``make bundle``), which MyST and anywidget load. The
bundles are committed so that ``make lab`` needs no Node.js; this test rebuilds them from the
source with the pinned esbuild and fails if any byte differs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kl_lessons.explorer_state import STATE_FUNCTIONS
from kl_lessons.web_widgets import WEB_DIR

ROOT = Path(__file__).resolve().parents[1]
SRC = WEB_DIR / "src"
LESSONS = sorted(STATE_FUNCTIONS)
KIT_NAMES = re.findall(r"^export (?:function|const) (\w+)", (SRC / "kit.js").read_text(), re.MULTILINE)
MATH_NAMES = re.findall(r"^export (?:function|const) (\w+)", (SRC / "math.js").read_text(), re.MULTILINE)


def test_every_lesson_has_a_source_and_a_bundle() -> None:
    assert sorted(p.name for p in (SRC / "lessons").glob("*.js")) == LESSONS
    assert sorted(p.name for p in WEB_DIR.glob("*.js")) == LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_sources_import_the_kit_and_define_none_of_it(name: str) -> None:
    text = (SRC / "lessons" / name).read_text()
    assert re.search(r'^\} from "\.\./kit\.js";$', text, re.MULTILINE)
    for helper in KIT_NAMES:
        assert not re.search(rf"^(export )?(function|const|let|class) {helper}\b", text, re.MULTILINE), helper


@pytest.mark.parametrize("name", LESSONS)
def test_sources_take_their_math_from_math_js_and_copy_none_of_it(name: str) -> None:
    # KL, softmax, the estimators and the seeded generator are written once, in math.js (tests/test_web_math.py).
    text = (SRC / "lessons" / name).read_text()
    assert re.search(r'^import \{[^}]+\} from "\.\./math\.js";$', text, re.MULTILINE)
    for helper in MATH_NAMES:
        assert not re.search(rf"^\s*(export )?(function|const|let|class) {helper}\b", text, re.MULTILINE), helper
    # A copy under another name is caught by its body: mulberry32's constant, the estimators' expm1.
    for marker in ("0x6d2b79f5", "Math.expm1(", "Math.log(x / q"):
        assert marker.lower() not in text.lower(), marker


def test_no_pasted_kit_anywhere_in_the_sources() -> None:
    # The kit is written once: outside kit.js no source file defines its helpers.
    for path in SRC.rglob("*.js"):
        if path.name != "kit.js":
            assert "function bindSlider" not in path.read_text() and "KIT_CSS = `" not in path.read_text(), path


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is missing and CI=true: the bundles must be checked in CI")
        pytest.skip("npm (Node.js >= 18) is not installed; bundle check skipped")
    return npm


def test_bundles_rebuild_byte_for_byte(tmp_path: Path) -> None:
    npm = _npm()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(SRC, tmp_path / "kl_lessons" / "web" / "src")
    if (ROOT / "node_modules" / ".bin" / "esbuild").exists():
        (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    else:  # a fresh clone: the pinned esbuild from the lock file
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([npm, "run", "-s", "bundle"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in LESSONS:
        rebuilt = (tmp_path / "kl_lessons" / "web" / name).read_bytes()
        assert rebuilt == (WEB_DIR / name).read_bytes(), f"{name} is stale: run `make bundle` and commit it"
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["esbuild"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin esbuild exactly, so bundles rebuild identically"
