"""The lesson registry (``kl_lessons/lessons.py``) is complete: every registered lesson has every piece it needs.

A lesson is one registry entry plus its own files. Here :func:`missing_pieces` names, for one entry, each piece that
is absent: the notebook, its toc line, the syllabus rows, its library modules, its explorer (class, ES module source
and bundle, state function, parity test, browser expectations), its self-check module and, when it trains, its seed
tests. Every lesson-keyed test reads the registry, so a lesson missing here would otherwise be skipped silently.
A throwaway lesson shows that each missing piece is named.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

from kl_lessons import lessons as registry
from kl_lessons.lessons import LESSONS, Lesson

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

#: Modules that serve every lesson rather than teach one (each lesson's modules are in its registry entry).
SHARED_MODULES = {"explorer_state", "web_widgets", "lessons", "style", "types", "_validate", "_cache"}
#: A notebook that calls one of these trains a model, so its claims must be checked on other seeds too.
TRAINING_CALLS = re.compile(r"\b(pretrain|train|GRPOTrainer)\(")


def _test_names(path: Path) -> set[str]:
    """The test functions a test file defines (read with ast: nothing is imported or run)."""
    if not path.exists():
        return set()
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}


def _dict_keys(path: Path, name: str) -> set[int]:
    """The integer keys of the module-level dict literal ``name`` in a test file."""
    if not path.exists():
        return set()
    for node in ast.parse(path.read_text()).body:
        targets = [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)]
        if name in targets and isinstance(node.value, ast.Dict):
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return set()


def _toc(root: Path) -> list[str]:
    return re.findall(r"^\s*- file: (notebooks/\S+\.ipynb)\s*$", (root / "myst.yml").read_text(), re.M)


def _code(notebook: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")


def missing_pieces(entry: Lesson, root: Path = ROOT, tests: Path = TESTS) -> list[str]:
    """Every piece of lesson ``entry`` that is absent, each named so that a newcomer knows what to add."""
    missing = []
    notebook = root / entry.notebook
    if not notebook.exists():
        missing.append(f"notebook {entry.notebook}")
    if entry.notebook not in _toc(root):
        missing.append(f"toc line '- file: {entry.notebook}' in myst.yml")
    for page in ("README.md", "index.md"):
        if f"]({entry.notebook})" not in (root / page).read_text():
            missing.append(f"syllabus row in {page} (run python scripts/syllabus.py)")
    missing += [f"library module kl_lessons/{m}.py" for m in entry.modules if not (ROOT / "kl_lessons" / f"{m}.py").exists()]
    if not (root / "kl_lessons" / "web" / "src" / "lessons" / entry.module).exists():
        missing.append(f"explorer source kl_lessons/web/src/lessons/{entry.module}")
    if not (root / "kl_lessons" / "web" / entry.module).exists():
        missing.append(f"explorer bundle kl_lessons/web/{entry.module} (run make bundle)")
    explorer_state = importlib.import_module("kl_lessons.explorer_state")
    if not callable(getattr(explorer_state, entry.state_function, None)):
        missing.append(f"state function {entry.state_function} in kl_lessons/explorer_state.py")
    widgets = importlib.import_module("kl_lessons.web_widgets")
    cls = getattr(widgets, entry.explorer, None)
    if not (isinstance(cls, type) and getattr(cls, "lesson", None) == entry.number and entry.explorer in widgets.__all__):
        missing.append(f"explorer class `class {entry.explorer}(LessonExplorer): lesson = {entry.number}` in "
                       "kl_lessons/web_widgets.py (and in its __all__)")
    if importlib.util.find_spec(entry.self_check) is None:
        missing.append(f"self-check module {entry.self_check.replace('.', '/')}.py")
    elif not any(n.startswith("check_") for n in vars(importlib.import_module(entry.self_check))):
        missing.append(f"a check_* function in {entry.self_check}")
    if not any(n.startswith(f"test_lesson{entry.number}_") for n in _test_names(tests / "test_web_parity.py")):
        missing.append(f"parity test test_lesson{entry.number}_* in tests/test_web_parity.py (JS against Python)")
    for table in ("EXPECTED_READOUTS", "MOVES", "KERNEL_MOVES"):
        if entry.number not in _dict_keys(tests / "test_web_browser.py", table):
            missing.append(f"browser expectation {table}[{entry.number}] in tests/test_web_browser.py")
    if notebook.exists() and TRAINING_CALLS.search(_code(notebook)) and not entry.seed_tests:
        missing.append("seed tests (the notebook trains: check its claims on other seeds, listed in seed_tests)")
    missing += [f"seed test file {path}" for path in entry.seed_tests if not (root / path).exists()]
    return missing


# --------------------------------------------------------------------------- the registry itself
@pytest.mark.parametrize("entry", LESSONS, ids=lambda e: e.label)
def test_registered_lesson_has_every_piece(entry: Lesson) -> None:
    assert missing_pieces(entry) == [], f"lesson {entry.number} is missing pieces"


def test_lessons_are_numbered_one_to_n_with_unique_names() -> None:
    assert [e.number for e in LESSONS] == list(range(1, len(LESSONS) + 1))
    for field in ("slug", "title", "explorer", "module", "state_function"):
        values = [getattr(e, field) for e in LESSONS]
        assert len(set(values)) == len(values), f"two lessons share a {field}"


def test_toc_and_notebooks_folder_are_exactly_the_registry() -> None:
    registered = [e.notebook for e in LESSONS]
    assert [p for p in _toc(ROOT)] == registered, "myst.yml's toc must list the registry's notebooks, in order"
    on_disk = sorted(f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert on_disk == registered, "a notebook in notebooks/ is not in the registry (or the other way round)"


def test_syllabus_pages_are_rendered_from_the_registry() -> None:
    spec = importlib.util.spec_from_file_location("syllabus", ROOT / "scripts" / "syllabus.py")
    syllabus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(syllabus)
    assert syllabus.stale() == [], "run python scripts/syllabus.py"


def test_every_teaching_module_belongs_to_a_lesson() -> None:
    # The folder map reads like the syllabus: each module of kl_lessons is some lesson's, or shared by all.
    modules = {p.stem for p in (ROOT / "kl_lessons").glob("*.py")} - {"__init__"}
    claimed = {m for e in LESSONS for m in e.modules}
    assert not claimed - modules, f"registry names modules that do not exist: {sorted(claimed - modules)}"
    unclaimed = modules - claimed - SHARED_MODULES
    assert not unclaimed, f"modules no lesson claims (add them to a lesson's modules): {sorted(unclaimed)}"


def test_explorer_classes_are_the_registry_in_order() -> None:
    from kl_lessons.web_widgets import EXPLORERS, LessonExplorer

    assert list(EXPLORERS) == [e.module for e in LESSONS]
    for entry in LESSONS:
        cls = EXPLORERS[entry.module]
        assert issubclass(cls, LessonExplorer) and cls.__name__ == entry.explorer
        assert cls.controls == entry.controls and cls.__doc__.startswith(f"Lesson {entry.number}:")


def test_lookups_name_what_exists() -> None:
    assert registry.lesson(4).notebook == "notebooks/04_beta_sweeps.ipynb"
    assert registry.by_module("frontier.js").number == 4
    with pytest.raises(ValueError, match="number"):
        registry.lesson(99)
    with pytest.raises(ValueError, match="module"):
        registry.by_module("nothing.js")


# --------------------------------------------------------------------------- a throwaway lesson
THROWAWAY = Lesson(
    99, "throwaway", "A throwaway lesson", outcome="see what a new lesson needs", summary="nothing yet.",
    modules=("throwaway_idea",), explorer="ThrowawayExplorer", module="throwaway.js", state_function="throwaway_state",
    controls=("knob",),
)


def test_a_new_lesson_with_nothing_yet_is_told_every_piece() -> None:
    named = "\n".join(missing_pieces(THROWAWAY))
    for piece in ("notebook notebooks/99_throwaway.ipynb", "toc line", "syllabus row in README.md",
                  "syllabus row in index.md", "library module kl_lessons/throwaway_idea.py",
                  "explorer source kl_lessons/web/src/lessons/throwaway.js", "explorer bundle kl_lessons/web/throwaway.js",
                  "state function throwaway_state", "class ThrowawayExplorer(LessonExplorer): lesson = 99",
                  "self-check module kl_lessons/self_checks/lesson99.py", "parity test test_lesson99_",
                  "EXPECTED_READOUTS[99]", "MOVES[99]", "KERNEL_MOVES[99]"):
        assert piece in named, f"not named: {piece}"


def test_each_piece_added_is_no_longer_named(tmp_path: Path) -> None:
    # A copy of the course's pages with lesson 99's notebook (which trains), toc line, syllabus rows and ES module.
    for page in ("myst.yml", "README.md", "index.md"):
        (tmp_path / page).write_text((ROOT / page).read_text())
    (tmp_path / "notebooks").mkdir()
    cell = {"cell_type": "code", "source": ["model = pretrain(steps=10)\n"], "metadata": {}, "outputs": []}
    (tmp_path / THROWAWAY.notebook).write_text(json.dumps({"cells": [cell]}))
    with (tmp_path / "myst.yml").open("a") as f:
        f.write(f"    - file: {THROWAWAY.notebook}\n")
    for page in ("README.md", "index.md"):
        with (tmp_path / page).open("a") as f:
            f.write(f"\n[A throwaway lesson]({THROWAWAY.notebook})\n")
    (tmp_path / "kl_lessons" / "web" / "src" / "lessons").mkdir(parents=True)
    (tmp_path / "kl_lessons" / "web" / "src" / "lessons" / "throwaway.js").write_text("export default {};\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_web_parity.py").write_text("def test_lesson99_matches(): ...\n")
    (tests / "test_web_browser.py").write_text("EXPECTED_READOUTS = {99: None}\nMOVES = {99: None}\n")

    named = "\n".join(missing_pieces(THROWAWAY, root=tmp_path, tests=tests))
    for gone in ("notebook notebooks", "toc line", "syllabus row", "explorer source", "parity test",
                 "EXPECTED_READOUTS", "expectation MOVES[99]"):
        assert gone not in named, f"still named after it was added: {gone}"
    for still in ("explorer bundle", "KERNEL_MOVES[99]", "state function", "self-check module",
                  "seed tests (the notebook trains"):
        assert still in named, f"no longer named though still missing: {still}"
