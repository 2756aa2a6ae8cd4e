"""Lesson 10's log reader: a 100,000-step log read and checked by the page's JavaScript, in node and in Chromium.

Usage: ``python benchmarks/log_reader_browser.py [--steps N] [--repeats R] [--no-browser]``. The logs are the ones
``benchmarks/run_logs.py`` writes (TRL's keys as trainer_state.json, JSON lines and CSV; verl's file logger and
console lines; OpenRLHF's console lines), read
with the bundle's ``readAndCheck`` (kl_lessons/web/log_reader.js) under the page's limits, as the widget reads a
pasted or dropped file; the median wall time of R reads is printed beside Python's ``read_log`` + ``check_run``
on the same file. Target: ≤ 2 s each on the 2-core machine. Chromium is Debian's ``/usr/bin/chromium`` on the
test page of ``tests/test_web_browser.py``. No test asserts on these numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kl_lessons.explorer_state import log_reader_state  # noqa: E402
from kl_lessons.run_logs import check_run, read_log  # noqa: E402


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


logs_bench = _load("run_logs_bench", ROOT / "benchmarks" / "run_logs.py")  # the same logs, written once
web = _load("web_browser_test", ROOT / "tests" / "test_web_browser.py")  # the same page and server

# Read each file `repeats` times; returns the median ms, the number of rows and the flags of the last read.
TIMED = """
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
function timeReads(m, text, input, repeats) {
  const times = [];
  let run = null;
  for (let r = 0; r < repeats; r += 1) {
    const start = performance.now();
    run = m.readAndCheck(text, input.key_table, input.thresholds, { name: "bench", limits: input.limits });
    times.push(performance.now() - start);
  }
  if (run.error) throw new Error(run.error);
  return { ms: median(times), rows: run.steps.length, flags: run.flags.map((f) => f.check) };
}
"""


def bench_node(paths: dict[str, Path], inputs: dict[str, Any], repeats: int) -> dict[str, dict]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "log_reader-0123abcd.mjs"
        shutil.copy(ROOT / "kl_lessons" / "web" / "log_reader.js", module)
        (Path(tmp) / "input.json").write_text(json.dumps(inputs))
        runner = Path(tmp) / "runner.mjs"
        runner.write_text(
            f"import * as m from {json.dumps(module.as_uri())};\nimport {{ readFileSync }} from 'node:fs';\n"
            f"import {{ performance }} from 'node:perf_hooks';\n{TIMED}\n"
            f"const input = JSON.parse(readFileSync({json.dumps(str(Path(tmp) / 'input.json'))}, 'utf8'));\n"
            "const out = {};\n"
            "for (const [name, path] of Object.entries(input.paths)) "
            "out[name] = timeReads(m, readFileSync(path, 'utf8'), input, input.repeats);\n"
            "process.stdout.write(JSON.stringify(out));\n")
        (Path(tmp) / "input.json").write_text(json.dumps({**inputs, "repeats": repeats,
                                                          "paths": {k: str(v) for k, v in paths.items()}}))
        done = subprocess.run([node, "--max-old-space-size=8192", str(runner)], capture_output=True, text=True,
                              timeout=1200)
        if done.returncode:
            raise SystemExit(done.stderr)
        return json.loads(done.stdout)


def bench_chromium(paths: dict[str, Path], inputs: dict[str, Any], repeats: int) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    if not web.CHROMIUM.exists():
        raise SystemExit(f"{web.CHROMIUM} is missing: apt-get install chromium")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        site, server = web.serve_site(Path(tmp))
        for name, path in paths.items():
            shutil.copy(path, Path(tmp) / f"log-{list(paths).index(name)}.txt")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(web.CHROMIUM), args=web.LAUNCH_ARGS)
                page = browser.new_page()
                page.goto(site["base"])
                page.evaluate(f"async (url) => {{ window.lr = await import(url); {TIMED} window.timeReads = timeReads; }}",
                              site["modules"][10])
                for i, name in enumerate(paths):
                    # The text is fetched first (a dropped file's FileReader has it in memory too): only the read is timed.
                    out[name] = page.evaluate(
                        "async ([file, input, repeats]) => window.timeReads(window.lr, await (await fetch(file)).text(), "
                        "input, repeats)", [f"./log-{i}.txt", inputs, repeats])
                page.close()
                out["step moves"] = _step_moves(browser, site, "./log-1.txt")
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    return out


def _step_moves(browser: Any, site: dict, file: str, moves: int = 100) -> dict[str, float]:
    """The widget opened on the reader's own 100,000-row log: p50 and p90 ms of a step slider move (no re-read)."""
    page, errors = web.open_widget(browser, site, 10, web.start_model(10))
    try:
        page.evaluate("""async (file) => {
          const text = await (await fetch(file)).text();
          window.cleanup();
          window.widgetEl.replaceChildren();
          window.model.state.own_log = { name: "bench.jsonl", text };
          window.model.state.case = "own";
          window.cleanup = window.module.default.render({ model: window.model, el: window.widgetEl });
        }""", file)
        n = int(page.evaluate("slider('step').max"))
        times = sorted(page.evaluate("(v) => move('step', v)", 1 + (k * 997) % n) for k in range(moves))
        if errors:
            raise RuntimeError(errors)
        return {"rows": n, "p50": times[len(times) // 2], "p90": times[int(0.9 * len(times))]}
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="node only")
    args = parser.parse_args()
    state = log_reader_state()
    inputs = {"key_table": state["key_table"], "thresholds": state["thresholds"], "limits": state["limits"]}
    with tempfile.TemporaryDirectory() as tmp:
        paths = logs_bench.write_logs(Path(tmp), args.steps)
        python = {name: logs_bench.median_s(lambda p=path: check_run(read_log(p)), args.repeats)[0] for name, path in paths.items()}
        node = bench_node(paths, inputs, args.repeats)
        chromium = {} if args.no_browser else bench_chromium(paths, inputs, args.repeats)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.steps:,} steps, "
              f"median of {args.repeats}\n")
        print("| log | MB | Python read_log + check_run, s | node readAndCheck, s | Chromium readAndCheck, s |\n"
              "|---|---|---|---|---|")
        for name, path in paths.items():
            assert node[name]["rows"] == args.steps, node[name]
            shown = f"{chromium[name]['ms'] / 1e3:.2f}" if name in chromium else "–"
            print(f"| {name} | {path.stat().st_size / 1e6:.0f} | {python[name]:.2f} | {node[name]['ms'] / 1e3:.2f} | "
                  f"{shown} |")
        if chromium:
            moves = chromium["step moves"]
            print(f"\nStep slider on the widget holding the {moves['rows']:,}-row trl.jsonl: p50 {moves['p50']:.1f} ms, "
                  f"p90 {moves['p90']:.1f} ms a move (one frame is 16 ms).")


if __name__ == "__main__":
    main()
