"""Slider update time of each lesson's explorer (its ES module) in headless Chromium.

Usage: ``python benchmarks/web_latency.py [--moves N]``. Needs Debian's ``/usr/bin/chromium``.

Each module is loaded the way the browser test loads it (a local page, a shadow root, a stub
model whose ``save_changes`` throws). One update is timed from setting the slider's value,
through the widget's ``input`` handler, to a forced layout of the page. The baseline rebuilds
the widget from scratch (stop its listeners, empty the element, call ``render`` again, lay out),
which is what redrawing the figure from nothing would cost. Prints a table and writes
``benchmarks/results/web_latency.json``. Medians are reported; nothing asserts on them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("web_browser_test", ROOT / "tests" / "test_web_browser.py")
web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web)  # the test page, server and model set-up, shared rather than copied

# The baseline: throw the widget away and render it again for the model as it stands.
REBUILD = """() => {
  const start = performance.now();
  window.cleanup();
  window.widgetEl.replaceChildren();
  window.cleanup = window.module.default.render({ model: window.model, el: window.widgetEl });
  document.body.getBoundingClientRect();
  return performance.now() - start;
}"""


def bench_web(moves: int = 200) -> dict[str, dict[str, float]]:
    """p50/p90/p95 update time (ms) per module, in place and rebuilt, over ``moves`` slider values."""
    from playwright.sync_api import sync_playwright

    if not web.CHROMIUM.exists():
        raise SystemExit(f"{web.CHROMIUM} is missing: apt-get install chromium")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        site, server = web.serve_site(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(web.CHROMIUM), args=web.LAUNCH_ARGS)
                for lesson in sorted(web.MODULES):
                    results[web.MODULES[lesson]] = _bench_module(browser, site, lesson, moves)
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    return results


def _bench_module(browser, site: dict, lesson: int, moves: int) -> dict:
    page, errors = web.open_widget(browser, site, lesson, web.start_model(lesson))
    try:
        key = web.MOVES[lesson][0]
        lo, hi, step = (float(page.evaluate(f"(k) => slider(k).{a}", key)) for a in ("min", "max", "step"))
        values = [float(v) for v in np.round(np.linspace(lo, hi, moves) / step) * step]
        page.evaluate("([k, v]) => move(k, v)", [key, values[-1]])  # warm-up
        in_place = [page.evaluate("([k, v]) => move(k, v)", [key, v]) for v in values]
        rebuilt = [page.evaluate(REBUILD) for _ in range(max(10, moves // 4))]
        # The keyboard: from a key press to the widget's update, laid out (the page records each one).
        key2 = web.MOVES[lesson][2]
        lo2, hi2, step2 = (float(page.evaluate(f"(k) => slider(k).{a}", key2)) for a in ("min", "max", "step"))
        page.focus(f"input[type=range][data-key='{key2}']")
        page.keyboard.press("Home")
        page.evaluate("() => { window.keyTimes = []; }")
        for _ in range(min(moves // 4, round((hi2 - lo2) / step2))):
            page.keyboard.press("ArrowRight")
        keyboard = page.evaluate("keyTimes")
        if errors:
            raise RuntimeError(f"{web.MODULES[lesson]}: {errors}")
        return {
            "slider": key, "moves": len(in_place),
            "p50_ms": statistics.median(in_place), "p90_ms": float(np.quantile(in_place, 0.9)),
            "p95_ms": float(np.quantile(in_place, 0.95)),
            "rebuild_p50_ms": statistics.median(rebuilt),
            "keyboard_slider": key2, "keyboard_p50_ms": statistics.median(keyboard) if keyboard else float("nan"),
        }
    finally:
        page.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200, help="slider values per module (default 200)")
    args = parser.parse_args(argv)
    results = bench_web(args.moves)
    print(f"\nexplorer slider updates in headless Chromium ({args.moves} moves each)")
    print(f"{'module':24s} {'slider':12s} {'p50 ms':>8s} {'p90 ms':>8s} {'rebuild p50 ms':>15s} {'keyboard p50 ms':>16s}")
    for name, r in results.items():
        print(f"{name:24s} {r['slider']:12s} {r['p50_ms']:8.2f} {r['p90_ms']:8.2f} {r['rebuild_p50_ms']:15.2f} "
              f"{r['keyboard_p50_ms']:16.2f}")
    out = ROOT / "benchmarks" / "results" / "web_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
