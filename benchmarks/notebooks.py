"""Fresh-kernel execution time of every lesson, against the import floor."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
FLOOR_SOURCE = "import torch, numpy, matplotlib.pyplot, ipywidgets"


def run_seconds(nb: nbformat.NotebookNode, folder: Path) -> float:
    """Seconds from kernel start to the last cell's end, in a fresh kernel (outputs discarded)."""
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


def floor_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(FLOOR_SOURCE)]
    return nb


def bench_notebooks(repeats: int = 3) -> dict:
    folder = ROOT / "notebooks"
    floor = statistics.median(run_seconds(floor_notebook(), folder) for _ in range(repeats))
    rows = []
    for path in sorted(folder.glob("[0-9]*.ipynb")):
        try:
            seconds = statistics.median(run_seconds(nbformat.read(path, as_version=4), folder) for _ in range(repeats))
        except CellExecutionError as err:
            # A lesson that fails is a finding for the table, not a reason to lose every other timing.
            reason = f"{err.ename}: {err.evalue}".splitlines()[0][:120]
            rows.append({"notebook": path.name, "seconds": None, "x_floor": None, "error": reason})
            continue
        rows.append({"notebook": path.name, "seconds": seconds, "x_floor": seconds / floor})
    return {"floor_s": floor, "repeats": repeats, "rows": rows}
