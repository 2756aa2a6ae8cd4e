"""The public API imports, and every public name is documented."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import kl_lessons


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
