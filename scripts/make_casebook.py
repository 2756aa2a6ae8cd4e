"""Write lesson 10's casebook traces (``kl_lessons/data/casebook/``) by running each case, or check them.

    python scripts/make_casebook.py                 # rerun every case on seed 0 and write its trace
    python scripts/make_casebook.py --check         # rerun and compare with the stored traces (exit 1 if not)
    python scripts/make_casebook.py --seed 2 --diagnose   # rerun on seed 2: each case's checks and share of
                                                          # steps with a KL below 0 (JSON)

It runs torch on its generic kernels and one thread (set before torch is imported), so the traces are the
same on every CPU: TRL's runs are chaotic enough that a vector kernel's rounding shows in the printed digits.
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ["ATEN_CPU_CAPABILITY"], os.environ["OMP_NUM_THREADS"] = "default", "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Writing traces: pretrain the cases' models afresh in an empty cache, on the generic kernels, as a test run does
# (its cache is empty too). A model cached earlier under a CPU's own kernels differs in its last bits, and TRL's
# runs grow that into other traces. Checking or diagnosing uses the cache it is given (a test run's).
if not {"--check", "--diagnose"} & set(sys.argv[1:]) and "KL_LESSONS_CACHE" not in os.environ:
    os.environ["KL_LESSONS_CACHE"] = tempfile.mkdtemp(prefix="kl-lessons-casebook-")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

from kl_lessons import casebook  # noqa: E402

#: The traces as the log reader's module bundles them (file name → text).
BUNDLED = Path(casebook.__file__).resolve().parent / "web" / "src" / "casebook_traces.json"
#: Relative and absolute tolerance between a rerun's numbers and the stored trace's.
RTOL, ATOL = 1e-6, 1e-9


def bundled_traces() -> str:
    """The stored traces as one JSON object, file name → text, for the log reader's bundle."""
    traces = {c.file: casebook.trace_text(c.name) for c in casebook.CASES}
    return json.dumps(traces, indent=0, ensure_ascii=False, sort_keys=True) + "\n"


def _same_numbers(stored, rerun) -> bool:
    """Whether two run logs hold the same series (to RTOL/ATOL) under the same names."""
    if stored.metrics.keys() != rerun.metrics.keys() or stored.steps.size != rerun.steps.size:
        return False
    for key, a in stored.metrics.items():
        for x, y in zip(a.tolist(), rerun.metrics[key].tolist()):
            if not (math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL) or (math.isnan(x) and math.isnan(y))):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare reruns with the stored traces, write nothing")
    parser.add_argument("--diagnose", action="store_true", help="print each case's checks as JSON, write nothing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("names", nargs="*", help="cases (default: all)")
    args = parser.parse_args(argv)
    names = args.names or [c.name for c in casebook.CASES]
    folder = casebook.TRACE_DIR
    failed, found = [], {}
    for name in names:
        text = casebook.make_trace(name, args.seed)
        if args.diagnose:
            run = casebook.read_case(name, text)
            below = float((run.metrics["kl_mean"] < 0).mean()) if "kl_mean" in run.metrics else None
            found[name] = {"checks": casebook.diagnose(name, text), "kl_below_zero": below}
        elif args.check:
            stored = casebook.read_case(name)
            if not _same_numbers(stored, casebook.read_case(name, text)):
                failed.append(name)
        else:
            (folder / casebook.case(name).file).write_text(text, encoding="utf-8")
            print(f"{name}: {casebook.diagnose(name)}")
    if not (args.check or args.diagnose):
        BUNDLED.write_text(bundled_traces(), encoding="utf-8")
    if args.diagnose:
        print(json.dumps(found))
    if failed:
        print(f"reruns differ from the stored traces: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
