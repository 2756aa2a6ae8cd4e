"""Reading a 100,000-step log with kl_lessons.run_logs, in each format it reads (target: ≤ 2 s each).

Usage: ``python benchmarks/run_logs.py [--steps N] [--repeats R]``. Each log is written to a temporary folder
with as many keys per line as the trainer logs in a plain run (TRL ~20, verl ~45, OpenRLHF ~12), then read with
``read_log`` and checked with ``check_run``; the median wall time of R reads is printed with the file's size.
The baseline is ``json.loads`` of every line of the same JSON-lines file, the least any reader of it must do.
No test asserts on these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kl_lessons.run_logs import check_run, read_log  # noqa: E402


def rows(trainer: str, steps: int) -> list[dict]:
    """Per-step metrics with a trainer's keys: the ones the reader uses and filler it only has to recognise."""
    rng = np.random.default_rng(0)
    t = np.arange(steps)
    kl = 0.02 * (1 - np.exp(-t / 500)) * (1 + 0.05 * rng.standard_normal(steps))
    length = 100 + 5 * rng.standard_normal(steps)
    reward = 1 - np.exp(-t / 1000) + 0.02 * rng.standard_normal(steps)
    entropy = 1.0 + 0.01 * rng.standard_normal(steps)
    out = []
    for i in range(steps):
        if trainer == "trl":
            row = {"kl": kl[i], "completions/mean_length": length[i], "reward": reward[i], "entropy": entropy[i],
                   **{f"completions/{k}": 90.0 for k in ("min_length", "max_length", "clipped_ratio",
                                                         "mean_terminated_length", "min_terminated_length")},
                   **{f"clip_ratio/{k}": 0.0 for k in ("low_mean", "high_mean", "region_mean", "low_min")},
                   "loss": 0.01, "grad_norm": 0.5, "learning_rate": 1e-6, "num_tokens": 1e6 * i,
                   "reward_std": 0.1, "frac_reward_zero_std": 0.1, "step_time": 1.0, "epoch": i / steps, "step": i + 1}
        elif trainer == "verl":
            row = {"actor/reward_kl_penalty": kl[i], "response_length/mean": length[i],
                   "critic/score/mean": reward[i], "actor/entropy": entropy[i], "actor/ppo_kl": 1e-4,
                   **{f"critic/{a}/{b}": 0.5 for a in ("score", "rewards", "advantages", "returns")
                      for b in ("max", "min")},
                   **{f"{a}/{b}": 100.0 for a in ("response_length", "prompt_length", "response_length_non_aborted")
                      for b in ("max", "min", "clip_ratio")},
                   **{f"timing_s/{k}": 1.0 for k in ("gen", "ref", "old_log_prob", "adv", "update_actor", "step")},
                   **{f"perf/{k}": 1.0 for k in ("total_num_tokens", "time_per_step", "throughput", "max_memory")},
                   **{f"actor/{k}": 0.1 for k in ("pg_loss", "pg_clipfrac", "grad_norm", "lr", "pg_clipfrac_lower",
                                                  "reward_kl_penalty_coeff")},
                   "training/global_step": i + 1, "training/epoch": 0}
        else:
            row = {"kl": kl[i], "response_length": length[i], "reward": reward[i], "entropy_loss": entropy[i],
                   "ppo_kl": 1e-4, "policy_loss": -0.1, "actor_lr": 1e-6, "return": reward[i], "total_length": 200.0,
                   "ppo_clip_ratio": 0.01, "timing/step_total": 5.0, "actor_grad_norm": 0.3}
        out.append({k: float(v) for k, v in row.items()})
    return out


def write_logs(folder: Path, steps: int) -> dict[str, Path]:
    trl, verl, orl = rows("trl", steps), rows("verl", steps), rows("openrlhf", steps)
    paths = {name: folder / name for name in
             ("trl trainer_state.json", "trl.jsonl", "trl.csv", "verl console", "verl file.jsonl", "openrlhf console")}
    paths["trl trainer_state.json"].write_text(json.dumps({"global_step": steps, "log_history": trl}, indent=2))
    paths["trl.jsonl"].write_text("".join(json.dumps(r) + "\n" for r in trl))
    keys = list(trl[0])
    paths["trl.csv"].write_text(",".join(keys) + "\n" + "".join(",".join(repr(r[k]) for k in keys) + "\n"
                                                               for r in trl))
    paths["verl console"].write_text("".join(
        f"(TaskRunner pid=1) step:{i + 1} - " + " - ".join(f"{k}:{v!r}" for k, v in r.items()) + "\n"
        for i, r in enumerate(verl)))
    paths["verl file.jsonl"].write_text("".join(json.dumps({"step": i + 1, "data": r}) + "\n"
                                                for i, r in enumerate(verl)))
    paths["openrlhf console"].write_text("".join(f"INFO ✨ Global step {i + 1}: {r!r}\n" for i, r in enumerate(orl)))
    return paths


def median_s(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in seconds (CPU time is what a busy machine
    inflates least)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_logs(Path(tmp), args.steps)
        jsonl = paths["trl.jsonl"]
        floor, floor_cpu = median_s(lambda: [json.loads(line) for line in jsonl.read_text().splitlines()],
                                    args.repeats)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{args.steps:,} steps; json.loads of every line of trl.jsonl: {floor:.2f} s ({floor_cpu:.2f} s CPU)\n")
        print("| log | lines | MB | read_log + check_run, s | CPU s | CPU × json.loads |\n|---|---|---|---|---|---|")
        for name, path in paths.items():
            seconds, cpu = median_s(lambda p=path: check_run(read_log(p)), args.repeats)
            run = read_log(path)
            # Only notes about the whole log (which trainer, which unit), none about a line.
            assert run.steps.size == args.steps and not any(n.startswith("line") for n in run.notes), run.notes[:3]
            lines = path.read_bytes().count(b"\n")
            print(f"| {name} | {lines:,} | {path.stat().st_size / 1e6:.0f} | {seconds:.2f} | {cpu:.2f} | "
                  f"{cpu / floor_cpu:.1f} |")


if __name__ == "__main__":
    main()
