"""Fresh-kernel execution time of every lesson, against the import floor."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
FLOOR_SOURCE = "import torch, numpy, matplotlib.pyplot, ipywidgets"


def run_seconds(nb: nbformat.NotebookNode, folder: Path, cache: Path | None = None) -> float:
    """Seconds from kernel start to the last cell's end, in a fresh kernel (outputs discarded).

    ``cache`` is the pretraining cache the kernel sees (``KL_LESSONS_CACHE``); by default a new, empty folder, so
    a lesson that pretrains pays for it, as on a learner's first run.
    """
    with tempfile.TemporaryDirectory(prefix="kl-lessons-bench-cache-") as empty:
        os.environ["KL_LESSONS_CACHE"] = str(cache or empty)  # the kernel inherits this process's environment
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
        nb = nbformat.read(path, as_version=4)
        try:
            seconds = statistics.median(run_seconds(nb, folder) for _ in range(repeats))
            row = {"notebook": path.name, "seconds": seconds, "x_floor": seconds / floor}
            if any("pretrain(" in cell.source for cell in nb.cells if cell.cell_type == "code"):
                # Also the time with the reference already on disk (a learner's second run, or lesson 8 after 6).
                with tempfile.TemporaryDirectory(prefix="kl-lessons-bench-cache-") as warm:
                    run_seconds(nb, folder, Path(warm))
                    row["warm_seconds"] = statistics.median(run_seconds(nb, folder, Path(warm)) for _ in range(repeats))
        except CellExecutionError as err:
            # A lesson that fails is a finding for the table, not a reason to lose every other timing.
            reason = f"{err.ename}: {err.evalue}".splitlines()[0][:120]
            rows.append({"notebook": path.name, "seconds": None, "x_floor": None, "error": reason})
            continue
        rows.append(row)
    return {"floor_s": floor, "repeats": repeats, "rows": rows}
