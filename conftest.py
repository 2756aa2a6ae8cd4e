"""Every test run simulates a machine other than the one that stored the notebooks' outputs.

The outputs are stored by ``make execute`` with torch's kernels for this CPU (AVX2, AVX-512, NEON…) and
its default thread count. Here, before torch is imported anywhere (tests, xdist workers, notebook
kernels, JupyterLab), torch is told to use its generic kernels and one thread. Strict nbval then checks
that re-executing every notebook on "another machine" prints exactly the stored text, which is what a
learner on a different laptop, or a CI runner with a different CPU, gets.
"""

import os

os.environ["ATEN_CPU_CAPABILITY"] = "default"
os.environ["OMP_NUM_THREADS"] = "1"

# A fresh, empty pretraining cache for the whole run, shared by the xdist workers (they inherit the controller's
# environment) and the notebook kernels they start: every reference model a test needs is trained once per run,
# on this run's kernels, and never loaded from an earlier run or a learner's own cache.
if "PYTEST_XDIST_WORKER" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["KL_LESSONS_CACHE"] = tempfile.mkdtemp(prefix="kl-lessons-test-cache-")
    atexit.register(shutil.rmtree, os.environ["KL_LESSONS_CACHE"], ignore_errors=True)


from kl_lessons.lessons import LESSONS  # noqa: E402  (after the environment above: it imports no torch, but stay safe)

#: The test tiers. `make test` (and CI) runs everything; `make test-fast` runs what is not marked slow: unit, property,
#: contract and parity tests, for the edit loop. Slow: anything that trains the tiny model, builds the site, drives a
#: browser or executes a notebook. Each training lesson's seed tests come from the lesson registry.
SLOW_FILES = {
    "tests/test_site_walk.py", "tests/test_web_browser.py", "tests/test_lab_browser.py", "tests/test_portable.py",
    "tests/test_pretrain_cache.py", "tests/test_lesson06_library.py",
    *(path for entry in LESSONS for path in entry.seed_tests),
}

# The slowest test files first, so that neither xdist worker is left running one of them alone at the end
# (pytest-xdist would otherwise start the files with the most tests first, and these have few). Measured
# seconds of one worker (2026-11-29, a 2-core machine, generic kernels) in the comments; the rest keep their order.
# A training lesson's seed files and notebook come in lesson order: a later lesson may reuse a reference an earlier
# one pretrained (lesson 8 reuses lesson 6's, seeds 1, 0 and 2), so it starts after the file that trains it, or
# one worker would wait on the other's lock.
_TRAINING = [entry for entry in LESSONS if entry.seed_tests]
SLOW_FIRST = (
    "tests/test_site_walk.py",          # ~85 s: the site built, 12 pages walked at two widths
    *_TRAINING[0].seed_tests[:1],       # ~70 s: a pretraining and three capstone runs
    _TRAINING[0].notebook,              # ~70 s: the capstone under strict nbval
    *_TRAINING[0].seed_tests[1:],       # ~60 s
    "tests/test_lab_browser.py",        # ~35 s: JupyterLab running a shortened lesson 6
    *(path for entry in _TRAINING[1:] for path in (entry.notebook, *entry.seed_tests)),
    "tests/test_casebook.py",           # ~50 s: every casebook case rerun against its stored trace
    "tests/test_web_browser.py",
    "tests/test_portable.py",
)


def pytest_collection_modifyitems(config, items: list) -> None:
    import pytest

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    for item in items:
        path = item.nodeid.split("::")[0]
        if path in SLOW_FILES or path.startswith("notebooks/"):
            item.add_marker(pytest.mark.slow)
    items.sort(key=rank)  # stable: within a file, and among the rest, the collected order stays
