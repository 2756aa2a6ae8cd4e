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
