"""pyproject.toml and environment.yml name the same dependencies, so they cannot drift."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names.
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_A_DEPENDENCY = {"python", "pip"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {_name(s) for s in specs}


def environment_names() -> set[str]:
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z][\w.-]*)", line)
        if m and not line.strip().startswith("- -e"):
            names.add(CONDA_TO_PYPI.get(_name(m.group(1)), _name(m.group(1))))
    return names - NOT_A_DEPENDENCY - {"conda-forge"}


def test_environment_matches_pyproject() -> None:
    assert environment_names() == pyproject_names()


def test_environment_asks_for_cpu_pytorch() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"pytorch=\*=cpu", text), "environment.yml must pin a CPU build of PyTorch"


def test_ci_pins_the_cpu_torch_wheel() -> None:
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()
