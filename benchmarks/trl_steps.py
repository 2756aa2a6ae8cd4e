"""TRL's GRPOTrainer on lesson 9's tiny model: what importing TRL, pretraining and a GRPO step cost on this machine.

Usage: ``python benchmarks/trl_steps.py [--steps N]``. Runs in a fresh cache folder, with the generic kernels and one
thread that lesson 9 and every test run use (``ATEN_CPU_CAPABILITY=default``, ``OMP_NUM_THREADS=1``), so the numbers
are the ones a learner's run of the lesson pays. Prints a table and writes ``benchmarks/results/trl_steps.json``.
Medians of three GRPO runs; nothing asserts on them.
"""

from __future__ import annotations

import os

# Before torch is imported: the kernels and thread count lesson 9 itself sets in its first cell.
os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def bench_trl(steps: int = 12, repeats: int = 3) -> dict[str, float]:
    """Seconds to import TRL, to pretrain the reference (cold cache) and per GRPO step at β = 0.04 (16 completions)."""
    start = time.perf_counter()
    import trl  # noqa: F401  (the import alone is what is timed)

    import_s = time.perf_counter() - start
    from kl_lessons.hf_tiny import pretrain_hf
    from kl_lessons.trl_run import run_grpo

    with tempfile.TemporaryDirectory(prefix="kl-lessons-bench-cache-") as cache:
        os.environ["KL_LESSONS_CACHE"] = cache
        start = time.perf_counter()
        folder, _ = pretrain_hf(progress=False)
        pretrain_s = time.perf_counter() - start
        runs = []
        for seed in range(repeats):
            start = time.perf_counter()
            run_grpo(folder, 0.04, steps=steps, seed=seed, progress=False)
            runs.append(time.perf_counter() - start)
    run_s = statistics.median(runs)
    return {"import_trl_s": import_s, "pretrain_s": pretrain_s, "grpo_run_s": run_s, "grpo_step_s": run_s / steps,
            "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="GRPO steps per run (default 12)")
    result = bench_trl(parser.parse_args().steps)
    for key, value in result.items():
        print(f"{key:14s} {value:8.2f}")
    out = ROOT / "benchmarks" / "results" / "trl_steps.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
