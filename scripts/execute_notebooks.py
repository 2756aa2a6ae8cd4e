"""Re-execute notebooks in place, top to bottom, each in a fresh kernel, and write their explorer blocks.

Usage: ``python scripts/execute_notebooks.py [notebooks/01_*.ipynb ...]`` (default: every lesson in the registry).
Stored outputs are then exactly what a run produces, which is what strict nbval checks.

Each lesson's explorer cell displays an anywidget (:mod:`kl_lessons.web_widgets`) built from its
state function. After the run, the state that widget started from is written into the body of the
lesson's ``{anywidget}`` directive (a markdown cell), so the published page starts exactly where
the notebook does; nothing is pasted by hand.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kl_lessons.explorer_state import state_json  # noqa: E402
from kl_lessons.lessons import LESSONS  # noqa: E402
from kl_lessons.web_widgets import EXPLORERS  # noqa: E402

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ANYWIDGET_IDS = {f"{cls.__module__}.{cls.__name__}": module for module, cls in EXPLORERS.items()}


def directive_pattern(module: str) -> re.Pattern[str]:
    """The ``{anywidget}`` directive of ``module`` in a markdown cell: its opening line, body and fence."""
    return re.compile(r"(^(`{3,})\{anywidget\}[ \t]+\S*/" + re.escape(module) + r"[ \t]*\n)(.*?)(^\2[ \t]*$)",
                      re.MULTILINE | re.DOTALL)


def explorer_states(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """Module → the state of the explorer the notebook displayed (from the widget state nbclient saved)."""
    found: dict[str, dict] = {}
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in models.values():
        module = ANYWIDGET_IDS.get(model.get("state", {}).get("_anywidget_id"))
        if module is None:
            continue
        keys = EXPLORERS[module].state_keys_in(model["state"])
        if module in found:
            raise SystemExit(f"more than one {module} explorer in the notebook; show one per lesson")
        # Short values first, then the data, so the directive reads well in the page source.
        keys.sort(key=lambda k: len(json.dumps(model["state"][k])) > 60)
        found[module] = {key: model["state"][key] for key in keys}
    return found


def write_blocks(nb: nbformat.NotebookNode, states: dict[str, dict], name: str) -> None:
    """Replace the body of each explorer's directive with the state it displayed."""
    for module, state in states.items():
        pattern, hits = directive_pattern(module), 0
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            cell.source, n = pattern.subn(lambda m: m.group(1) + state_json(state) + "\n" + m.group(4), cell.source)
            hits += n
        if hits != 1:
            raise SystemExit(f"{name}: expected one {{anywidget}} block for {module}, found {hits}")


def execute(path: Path) -> float:
    """Run one notebook in a fresh kernel from its own folder; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", record_timing=False, store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    elapsed = time.perf_counter() - start
    write_blocks(nb, explorer_states(nb), path.name)
    # Widget state holds random model ids and the bundled modules; the outputs alone are what a reader needs.
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [ROOT / entry.notebook for entry in LESSONS]
    for path in paths:
        print(f"{path.name:40s} {execute(path):6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
