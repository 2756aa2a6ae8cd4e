"""The public API imports, and every public name is documented."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import kl_lessons

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", kl_lessons.__all__)
def test_top_level_names_are_documented(name: str) -> None:
    obj = getattr(kl_lessons, name)
    if callable(obj):
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20, f"{name} needs a docstring"


@pytest.mark.parametrize("name", __import__("kl_lessons.web_widgets").web_widgets.__all__)
def test_every_explorer_is_importable_from_the_package(name: str) -> None:
    import kl_lessons.web_widgets as explorers

    assert getattr(explorers, name) is not None


def test_every_module_imports_and_has_a_docstring() -> None:
    for info in pkgutil.walk_packages(kl_lessons.__path__, "kl_lessons."):
        module = importlib.import_module(info.name)
        assert module.__doc__, f"{info.name} needs a module docstring"


def test_functions_name_units_in_their_docstrings() -> None:
    for name in ("kl_divergence", "entropy", "cross_entropy", "kl_estimate", "kl_penalized_rewards",
                 "kl_reward_frontier", "best_of_n_kl"):
        assert "nats" in getattr(kl_lessons, name).__doc__, f"{name} must state its units"


def _code_names(tree: ast.AST, skip: ast.AST | None = None) -> set[str]:
    """Every name, attribute and word of a string a piece of code refers to (a registry names functions in
    strings); the subtree ``skip``, a definition with its docstring, is left out."""
    skipped = set(map(id, ast.walk(skip))) if skip is not None else set()
    names = set()
    for n in ast.walk(tree):
        if id(n) in skipped:
            continue
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and "\n" not in n.value:
            names |= set(re.findall(r"\w+", n.value))  # one-line strings: registries, not docstrings
    return names


def _outside_uses() -> set[str]:
    """Every word of the lessons' code, the pages, the scripts and the benchmarks: what a public function is for."""
    texts = [path.read_text() for pattern in ("scripts/*.py", "benchmarks/*.py", "*.md") for path in ROOT.glob(pattern)]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        texts += ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]
    return set(re.findall(r"\w+", "\n".join(texts)))


TREES = {info.name: ast.parse(inspect.getsource(importlib.import_module(info.name)))
         for info in pkgutil.walk_packages(kl_lessons.__path__, "kl_lessons.")}


@pytest.mark.parametrize("module", sorted(TREES))
def test_every_public_function_is_used_or_says_it_is_public_api(module: str) -> None:
    """A public function is called by a lesson, page, script, benchmark or module (its own included), or its
    docstring says why a learner would want it ("Public API: …"). A function only the tests call belongs in
    the tests."""
    tree = TREES[module]
    used = _outside_uses().union(*(_code_names(t) for m, t in TREES.items() if m != module))
    unused = [node.name for node in tree.body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
              and node.name not in used | _code_names(tree, skip=node)
              and "Public API" not in (ast.get_docstring(node) or "")]
    assert not unused, f"called only by tests (move them into the tests, or say 'Public API: …' and why): {unused}"
