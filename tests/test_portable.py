"""Outputs that do not depend on the CPU.

The stored notebook outputs are made with torch's kernels for the CPU at hand; a learner's laptop or a CI
runner may have another CPU. The root ``conftest.py`` makes every test run simulate such a machine (generic
kernels, one thread), and these tests check that the simulation is in force and that the capstone's
training, which is chaotic, agrees between the two kinds of kernel far below anything a lesson prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

# A short capstone: pretraining, then RL on the proxy with a fixed β, as lesson 6 does, in a fresh process.
SHORT_RUN = """
import json, sys, torch
from kl_lessons.controllers import FixedKLController
from kl_lessons.reward_models import default_judge
from kl_lessons.rlhf import train
from kl_lessons.tinylm import pretrain, set_determinism
import kl_lessons.tinylm as tinylm

tinylm_init = tinylm.TinyLM.__init__
metrics = {}
for name in sys.argv[1:]:  # one process per kind of kernel, every dtype in it: torch is imported once
    dtype = getattr(torch, name)
    tinylm.TinyLM.__init__ = lambda self, v, *a, dtype=dtype, **k: tinylm_init(self, v, *a, **{**k, "dtype": dtype})
    set_determinism(3, threads=1)
    # cache=False: each process trains its own reference, so pretraining is compared across kernels too.
    reference, vocab, _ = pretrain(steps=40, batch_size=16, window=24, seed=3, cache=False)
    run = train(reference, vocab, FixedKLController(0.1), default_judge(vocab.chars), steps=15, batch_size=16,
                length=24, seed=3, progress=False)
    metrics[name] = run.metrics
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(), "metrics": metrics}))
"""


def short_runs(generic: bool, dtypes: tuple[str, ...] = ("float64", "float32")) -> dict:
    """The short capstone in a fresh process with generic or vector kernels, once per dtype."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if generic:
        env["ATEN_CPU_CAPABILITY"] = "default"
    out = subprocess.run([sys.executable, "-c", SHORT_RUN, *dtypes], env=env, capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def largest_relative_gap(a: dict, b: dict) -> float:
    """Largest gap between two runs' metrics, relative to the size of the value (absolute below 1)."""
    gaps = [abs(x - y) / max(abs(x), abs(y), 1.0) for key in a for x, y in zip(a[key], b[key])]
    return max(gaps)


def test_every_test_run_simulates_another_machine() -> None:
    """Tests, notebook kernels and JupyterLab all inherit generic kernels and one thread from conftest.py."""
    assert os.environ["ATEN_CPU_CAPABILITY"] == "default" and os.environ["OMP_NUM_THREADS"] == "1"
    assert torch.backends.cpu.get_cpu_capability() == "DEFAULT"
    child = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "DEFAULT"


def test_the_capstone_trains_to_the_same_numbers_with_generic_and_vector_kernels() -> None:
    """In float64 (the capstone's dtype) the two kinds of kernel agree to 1e-9 after 55 chaotic steps.

    Lessons print at most 4 significant digits, so 1e-9 leaves five orders of magnitude to spare. The
    float32 contrast shows why the model is float64: there the same runs differ far above 1e-9 (on a CPU
    whose vector kernels differ from the generic ones at all).
    """
    native, generic = short_runs(generic=False), short_runs(generic=True)
    assert generic["capability"] == "DEFAULT"
    gap64 = largest_relative_gap(native["metrics"]["float64"], generic["metrics"]["float64"])
    assert gap64 < 1e-9
    if native["capability"] == "DEFAULT":
        pytest.skip("this CPU has no vector kernels to compare with: the float32 contrast needs them")
    gap32 = largest_relative_gap(native["metrics"]["float32"], generic["metrics"]["float32"])
    assert gap32 > 1e-8 and gap32 > 1000 * gap64
