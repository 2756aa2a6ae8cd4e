"""Lesson 10's casebook, rerun on seeds the stored traces do not use (they were made from seed 0).

Each test file (test_casebook_seed_1.py, test_casebook_seed_2.py) reruns every case on its seed, in a
subprocess on torch's generic kernels and one thread (``scripts/make_casebook.py --diagnose``), and checks what
the lesson says of each case: the check that tells its fault fires (``Case.sign``), and the healthy runs draw no
warning at all. Other checks may fire too on another seed (a collapsing run may also spike); the lesson claims
only the sign.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

from kl_lessons.casebook import CASES

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=None)
def diagnoses(seed: int) -> dict[str, list[str]]:
    """Each case's checks on ``seed``, as ``scripts/make_casebook.py --diagnose`` prints them."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_casebook.py"), "--diagnose", "--seed",
                           str(seed)], capture_output=True, text=True, cwd=ROOT, env={**os.environ}, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_seed(seed: int) -> None:
    found = diagnoses(seed)
    assert sorted(found) == sorted(c.name for c in CASES)
    for entry in CASES:
        if entry.sign:
            assert entry.sign in found[entry.name], (entry.name, seed, found[entry.name])
        else:
            assert found[entry.name] == [], (entry.name, seed, found[entry.name])
