"""Update time of every control of every lesson's explorer (its ES module) in headless Chromium.

Usage: ``python benchmarks/web_latency.py [--moves N] [--lessons 4 5]``. Needs Debian's ``/usr/bin/chromium``.

Each module is loaded the way the browser test loads it (a local page, a shadow root, a stub
model whose ``save_changes`` throws). Every control the widget shows is found in its DOM (each
``input[type=range]`` and each radio ``fieldset`` with a ``data-key``) and timed two ways:

- **value**: set the slider's value (or check a radio button) and fire its event, as a drag or a
  click does, through the widget's handler, to a forced layout of the page; ``N`` moves spread over
  the whole range (swept back and forth when the slider has fewer positions than that);
- **keyboard**: a real key press on the focused control (ArrowRight, back with ArrowLeft at the
  end), from the ``keydown`` to the widget's update, laid out (the page records each one).

The baseline rebuilds the widget from scratch (stop its listeners, empty the element, call
``render`` again, lay out), which is what redrawing the figure from nothing would cost. Prints a
table (p50 and p90 per control and input method) and writes ``benchmarks/results/web_latency.json``.
``--check`` exits with 1 when any p50 is over one frame (16 ms).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("web_browser_test", ROOT / "tests" / "test_web_browser.py")
web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web)  # the test page, server and model set-up, shared rather than copied

FRAME_MS = 16.0

# The baseline: throw the widget away and render it again for the model as it stands.
REBUILD = """() => {
  const start = performance.now();
  window.cleanup();
  window.widgetEl.replaceChildren();
  window.cleanup = window.module.default.render({ model: window.model, el: window.widgetEl });
  document.body.getBoundingClientRect();
  return performance.now() - start;
}"""

# Every control the widget offers, in the order it shows them.
CONTROLS = """() => Array.from(window.widgetEl.querySelectorAll("input[type=range][data-key], fieldset[data-key]"), (n) =>
  n.tagName === "INPUT"
    ? { key: n.dataset.key, kind: "slider", min: Number(n.min), max: Number(n.max), step: Number(n.step) }
    : { key: n.dataset.key, kind: "choice", options: Array.from(n.querySelectorAll("input[type=radio]"), (r) => r.value) })"""

# One click on a radio button, timed like the test page's `move` times a slider.
CHOOSE = """([key, option]) => {
  const input = window.widgetEl.querySelector(`fieldset[data-key="${key}"] input[value="${option}"]`);
  const start = performance.now();
  input.checked = true;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  document.body.getBoundingClientRect();
  return performance.now() - start;
}"""


def sweep(positions: list[Any], moves: int) -> list[Any]:
    """``moves`` positions covering all of ``positions``, each different from the one before."""
    if len(positions) >= moves:
        return [positions[i] for i in np.round(np.linspace(0, len(positions) - 1, moves)).astype(int)]
    back_and_forth = positions + positions[-2:0:-1]
    return [back_and_forth[i % len(back_and_forth)] for i in range(moves)]


def summary(times: list[float]) -> dict[str, float]:
    return {"n": len(times), "p50_ms": statistics.median(times), "p90_ms": float(np.quantile(times, 0.9))}


def bench_web(moves: int = 200, lessons: list[int] | None = None) -> dict[str, Any]:
    """Per module: its rebuild time and, per control, p50/p90 update time (ms) by value and by keyboard."""
    from playwright.sync_api import sync_playwright

    if not web.CHROMIUM.exists():
        raise SystemExit(f"{web.CHROMIUM} is missing: apt-get install chromium")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        site, server = web.serve_site(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(web.CHROMIUM), args=web.LAUNCH_ARGS)
                for lesson in sorted(lessons or web.MODULES):
                    results[web.MODULES[lesson]] = {"lesson": lesson, **_bench_module(browser, site, lesson, moves)}
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    return results


def _bench_module(browser: Any, site: dict, lesson: int, moves: int) -> dict:
    page, errors = web.open_widget(browser, site, lesson, web.start_model(lesson))
    try:
        controls = {}
        for control in page.evaluate(CONTROLS):
            key = control["key"]
            if control["kind"] == "slider":
                count = round((control["max"] - control["min"]) / control["step"]) + 1
                positions = [control["min"] + i * control["step"] for i in range(count)]
                timed = "([k, v]) => move(k, v)"
                selector = f"input[type=range][data-key='{key}']"
            else:
                positions = control["options"]
                timed = CHOOSE
                selector = f"fieldset[data-key='{key}'] input:checked"
            page.evaluate(timed, [key, positions[-1]])  # warm-up
            by_value = [page.evaluate(timed, [key, v]) for v in sweep(positions, moves)]
            controls[key] = {"kind": control["kind"], "positions": len(positions),
                             "value": summary(by_value), "keyboard": summary(_keyboard(page, selector, len(positions), moves))}
        rebuilt = [page.evaluate(REBUILD) for _ in range(max(10, moves // 4))]
        if errors:
            raise RuntimeError(f"{web.MODULES[lesson]}: {errors}")
        return {"controls": controls, "rebuild_p50_ms": statistics.median(rebuilt)}
    finally:
        page.close()


def _keyboard(page: Any, selector: str, positions: int, moves: int) -> list[float]:
    """Key presses on the focused control, ArrowRight to its end and ArrowLeft back, timed in the page."""
    page.focus(selector)
    page.keyboard.press("Home")  # a radio group ignores Home; a slider starts from its minimum
    page.evaluate("() => { window.keyTimes = []; }")
    presses = max(moves // 2, 2)
    at, direction = 0, 1
    for _ in range(presses):
        if positions > 1 and not 0 <= at + direction < positions:
            direction = -direction  # a radio group wraps around, but turning back keeps the count simple
        page.keyboard.press("ArrowRight" if direction > 0 else "ArrowLeft")
        at += direction
    return page.evaluate("keyTimes")


def table(results: dict[str, Any]) -> str:
    """A Markdown table: one row per control, p50 and p90 by value and by keyboard."""
    lines = ["| Lesson | module | control | positions | value p50 ms | value p90 ms | keyboard p50 ms | keyboard p90 ms | rebuild p50 ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for key, c in r["controls"].items():
            lines.append(f"| {r['lesson']:02d} | `{name}` | `{key}` | {c['positions']} | {c['value']['p50_ms']:.1f} | "
                         f"{c['value']['p90_ms']:.1f} | {c['keyboard']['p50_ms']:.1f} | {c['keyboard']['p90_ms']:.1f} | "
                         f"{r['rebuild_p50_ms']:.1f} |")
    return "\n".join(lines)


def over_budget(results: dict[str, Any]) -> list[str]:
    return [f"{name} {key} by {how}: {c[how]['p50_ms']:.1f} ms" for name, r in results.items()
            for key, c in r["controls"].items() for how in ("value", "keyboard") if c[how]["p50_ms"] > FRAME_MS]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200, help="moves by value per control (default 200; half as many key presses)")
    parser.add_argument("--lessons", type=int, nargs="*", help="only these lessons (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any p50 is over 16 ms")
    args = parser.parse_args(argv)
    results = bench_web(args.moves, args.lessons)
    machine = f"{platform.machine()}, {platform.processor() or platform.system()}, {len(__import__('os').sched_getaffinity(0))} cores"
    print(f"\nexplorer updates in headless Chromium, {time.strftime('%Y-%m-%d', time.gmtime())}, {machine}")
    print(table(results))
    slow = over_budget(results)
    print("over one frame (16 ms p50): " + ("; ".join(slow) if slow else "none"))
    out = ROOT / "benchmarks" / "results" / "web_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if args.check and slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
