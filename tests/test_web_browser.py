"""Each web widget, loaded in headless Chromium the way the static site loads it.

A minimal local page imports the module under a hashed name (as MyST copies it), renders it
into a shadow root with a stub model whose ``save_changes`` throws (as the static site's does),
moves sliders with the keyboard and by setting their value, and checks the numbers shown
against :mod:`kl_lessons`. How long an update takes is measured by ``benchmarks/web_latency.py``
on this same page, not here.

Runs Debian's ``/usr/bin/chromium`` through Playwright; no browser is downloaded. Without
Chromium the tests are skipped, unless ``CI=true``, where they fail.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch

from kl_lessons import (
    AdaptiveKLController,
    ThresholdKLController,
    cross_entropy,
    entropy,
    kl_divergence,
    kl_estimate,
    kl_penalized_rewards,
    kl_reward_frontier,
    regularised_policy,
    tilted_policy,
)
from kl_lessons.casebook import trace_text
from kl_lessons.explorer_state import STATE_FUNCTIONS, log_reader_state, training_scrubber_state, trl_log_state
from kl_lessons.lessons import LESSONS, lesson as registered
from kl_lessons.style import OKABE_ITO
from kl_lessons.web_widgets import WEB_DIR

#: Lesson → its explorer's bundled module, from the lesson registry. Every per-lesson table below
#: (EXPECTED_READOUTS, MOVES, KERNEL_MOVES) must have an entry for each: tests/test_lessons.py names a missing one,
#: and the tests here fail on it (a KeyError), never fall through to another lesson's expectations.
MODULES = {entry.number: entry.module for entry in LESSONS}

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>widget test page</title><link rel="icon" href="data:,"></head>
<body><main id="host"></main>
<script>
// The static site's model: get/set/on work, save_changes (and off/send) throw.
class StubModel {
  constructor(state, saveThrows) {
    this.state = { ...state }; this.target = new EventTarget();
    this.sets = []; this.saves = 0; this.saveThrows = saveThrows;
  }
  get(key) { return this.state[key]; }
  set(key, value) {
    this.state[key] = value; this.sets.push([key, value]);
    this.target.dispatchEvent(new CustomEvent(`change:${key}`));
    this.target.dispatchEvent(new CustomEvent("change"));
  }
  on(name, callback) { this.target.addEventListener(name, callback); }
  off() { throw new Error("off is not implemented on a static page"); }
  send() { throw new Error("send is not implemented on a static page"); }
  save_changes() {
    this.saves += 1;
    if (this.saveThrows) throw new Error("save_changes is not implemented on a static page");
  }
}
window.keyTimes = [];
// Keys that escape the widget would reach JupyterLab's shortcuts (which listen on the document).
window.escapedKeys = [];
document.addEventListener("keydown", (e) => window.escapedKeys.push(e.key));
window.mount = async (url, state, saveThrows) => {
  window.module = await import(url);
  const host = document.getElementById("host");
  const el = document.createElement("div");
  host.attachShadow({ mode: "open" }).appendChild(el);
  window.model = new StubModel(state, saveThrows);
  window.cleanup = window.module.default.render({ model: window.model, el });
  window.widgetEl = el;
  // Keyboard moves: from the key press to the widget's update, laid out.
  let start = 0;
  el.addEventListener("keydown", () => { start = performance.now(); }, true);
  const done = () => { document.body.getBoundingClientRect(); window.keyTimes.push(performance.now() - start); };
  el.addEventListener("input", done);
  el.addEventListener("change", (e) => { if (e.target.type === "radio") done(); });
};
window.readouts = () => Object.fromEntries(
  Array.from(window.widgetEl.querySelectorAll("[data-readout]"), (n) => [n.dataset.readout, n.textContent]));
window.slider = (key) => window.widgetEl.querySelector(`input[type=range][data-key="${key}"]`);
// One programmatic move, timed: set the value, fire "input" (the widget redraws), force layout.
window.move = (key, value) => {
  const input = window.slider(key);
  const start = performance.now();
  input.value = String(value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  document.body.getBoundingClientRect();
  return performance.now() - start;
};
window.svgState = () => {
  const svg = window.widgetEl.querySelector("svg");
  return { markup: svg.outerHTML, count: svg.querySelectorAll("*").length };
};
window.tagNodes = () => { window.tagged = Array.from(window.widgetEl.querySelector("svg").querySelectorAll("*")); };
window.taggedStillThere = () => window.tagged.every((n) => n.isConnected);
</script></body></html>
"""


# --------------------------------------------------------------------------- fixtures
def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing and CI=true: install Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests skipped")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # Cross-origin isolation gives performance.now() its finest resolution (5 µs, not 100 µs).
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


def serve_site(root: Path) -> tuple[dict[str, Any], http.server.ThreadingHTTPServer]:
    """Serve the test page and each module, copied under a hashed name as MyST does, from ``root``."""
    (root / "index.html").write_text(PAGE)
    urls = {}
    for lesson, name in MODULES.items():
        text = (WEB_DIR / name).read_text()
        hashed = f"{name[:-3]}-{hashlib.md5(text.encode()).hexdigest()[:12]}.js"
        (root / hashed).write_text(text)
        urls[lesson] = f"./{hashed}"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return {"base": f"http://127.0.0.1:{server.server_port}/index.html", "modules": urls}, server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _require_chromium()
    info, server = serve_site(tmp_path_factory.mktemp("web_site"))
    yield info
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def open_widget(browser: Any, site: dict[str, Any], lesson: int, model: dict[str, Any], save_throws: bool = True):
    """A fresh page with lesson ``lesson``'s widget mounted; returns (page, list of page errors)."""
    page = browser.new_page(viewport={"width": 900, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(site["base"])
    page.evaluate("([url, state, throws]) => mount(url, state, throws)", [site["modules"][lesson], model, save_throws])
    return page, errors


# --------------------------------------------------------------------------- numbers shown vs Python
def assert_shown(shown: dict[str, str], expected: dict[str, float]) -> None:
    """Each readout shows its Python value to the digits it prints (half a unit in the last place)."""
    for key, value in expected.items():
        text = shown[key].replace("%", "").strip()
        number = float(text.replace("∞", "inf"))
        digits = len(text.split(".")[1]) if "." in text else 0
        if np.isinf(value):
            assert number == value, (key, text, value)
            continue
        assert abs(number - value) <= 0.5 * 10.0**-digits + 1e-9 * max(1.0, abs(value)), (key, text, value)


def expected_readouts(lesson: int, state: dict[str, Any], page: Any = None) -> dict[str, float]:
    """What lesson ``lesson``'s readouts should show for the model ``state``, from kl_lessons."""
    return EXPECTED_READOUTS[lesson](state, page)


def _readouts_01(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 1: two forecasts' KL both ways."""
    a, b = [state["p_rain"], 1 - state["p_rain"]], [state["q_rain"], 1 - state["q_rain"]]
    return {"p_rain": state["p_rain"], "q_rain": state["q_rain"],
            "kl_ab": float(kl_divergence(a, b)), "kl_ba": float(kl_divergence(b, a))}


def _readouts_02(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 2: exact KL and each estimator's batch-mean spread, on the module's own draws."""
    ref = torch.tensor(state["ref_probs"], dtype=torch.float64)
    drift = state["drift"]
    pi = ref.clone() if drift == 0 else tilted_policy(ref, state["direction"], 1.0 / drift)
    max_size = 2 ** state["max_log2_size"]
    # The draws come from the module's own seeded generator; everything after them is Python's.
    # Each trial's batch is the first sample_size of its max_size draws.
    tokens = page.evaluate(
        """([ref, dir, drift, seed, trials, size, n]) => {
             const policy = module.driftedPolicy(ref, dir, drift);
             const all = module.sampleTokens(policy, module.uniforms(seed, trials * size));
             return Array.from({ length: trials }, (_, t) => Array.from(all.subarray(t * size, t * size + n)));
           }""",
        [state["ref_probs"], state["direction"], drift, state["seed"], state["trials"], max_size,
         state["sample_size"]],
    )
    tokens = torch.tensor(tokens)
    out = {"kl_exact": float(kl_divergence(pi, ref)), "batch_size": state["sample_size"], "drift": drift}
    for name in ("k1", "k2", "k3"):
        means = kl_estimate(pi.log()[tokens], ref.log()[tokens], name).mean(-1)
        out |= {f"{name}_mean": float(means.mean()), f"{name}_sd": float(means.std()),
                f"{name}_negative": 100 * float((means < 0).double().mean())}
    return out


def _readouts_03(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 3: each review's shaped reward and KL sums."""
    rewards, kl = kl_penalized_rewards(state["scores"], state["logprobs"], state["ref_logprobs"], state["beta"],
                                       state["mask"], state["estimator"])
    out = {"beta": state["beta"]}
    for b, (r, k) in enumerate(zip(rewards.sum(-1).tolist(), kl.sum(-1).tolist())):
        out |= {f"reward_sum_{b}": r, f"total_{b}": r, f"kl_sum_{b}": k}
    return out


def _readouts_04(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 4: the optimum's KL, expected proxy and gold, top probability."""
    ref = np.array(state["ref_probs"]) / sum(state["ref_probs"])  # the state keeps 6 significant digits
    pi = tilted_policy(ref, state["rewards"], state["beta"])
    expected, kl = kl_reward_frontier(ref, state["rewards"], [state["beta"]])
    return {"beta": state["beta"], "kl": float(kl[0]), "expected_reward": float(expected[0]),
            "expected_gold": float(pi @ torch.tensor(state["gold"], dtype=torch.float64)),
            "top_prob": float(pi.max())}


def _readouts_05(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 5: both controllers' last β and their tail KL and RMS error on the plant."""
    from kl_lessons.plant import KLPlant, simulate_control

    out = {"target": state["target"], "horizon": round(state["horizon"])}
    controllers = {
        "adaptive": AdaptiveKLController(state["init_beta"], state["target"], state["horizon"]),
        "threshold": ThresholdKLController(state["init_beta"], state["target"], state["threshold_factor"],
                                           tuple(state["threshold_bounds"])),
    }
    for name, ctl in controllers.items():
        plant = KLPlant(state["plant_betas"], state["plant_kls"], lag=state["lag"], noise=state["noise"],
                        batch_size=state["batch_size"], seed=state["seed"], kl0=state["kl0"])
        run = simulate_control(ctl, plant, state["n_steps"])
        tail = run["kl_measured"][state["n_steps"] // 2 :]
        out |= {f"{name}_beta": float(run["beta"][-1]), f"{name}_kl": float(tail.mean()),
                f"{name}_rms": float(np.sqrt(((tail - state["target"]) ** 2).mean()))}
    return out


def _readouts_06(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 6: every run's metrics at the step shown."""
    t = round(state["step"])
    return {f"{run['name']}:{key}": (run["metrics"][key][t]) for run in state["runs"]
            for key in ("kl_mean", "kl_max", "proxy", "gold", "entropy", "distinct2", "ref_loglik", "beta")}


def _readouts_07(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 7: the recipe's update against the exact one at the chosen drift."""
    from kl_lessons.kl_gradients import bias_metrics

    i = int(np.argmin(np.abs(np.array(state["drifts"]) - state["drift"])))
    reward = torch.tensor(state["reward_grad"][i], dtype=torch.float64)
    update = lambda g: reward - state["beta"] * torch.tensor(g, dtype=torch.float64)  # noqa: E731
    m = bias_metrics(update(state["expected"][state["recipe"]][state["mode"]][i]), update(state["exact"][i]))
    return {"rel_error": m["rel_error"], "cosine": m["cosine"], "kl_to_old": state["kl_to_old"][i],
            "kl_to_ref": state["kl_to_ref"][i]}


def _readouts_08(state: dict[str, Any], page: Any) -> dict[str, float]:
    """Lesson 8: the regularised optimum's readouts."""
    ref = np.array(state["ref_probs"]) / sum(state["ref_probs"])  # the state keeps 6 significant digits
    pi = regularised_policy(ref, state["proxy"], state["beta"], state["alpha"])
    shouty = torch.tensor(state["marks"]) >= state["shout_threshold"]
    values = {"expected_proxy": pi @ torch.tensor(state["proxy"], dtype=torch.float64),
              "expected_gold": pi @ torch.tensor(state["gold"], dtype=torch.float64), "entropy": entropy(pi),
              "cross_entropy": cross_entropy(pi, ref), "kl": kl_divergence(pi, ref), "shout_share": pi[shouty].sum()}
    return {"beta": state["beta"], "alpha": state["alpha"],
            **{r["key"]: r["scale"] * float(values[r["key"]]) for r in state["readouts"]}}


#: Lesson → what its readouts should show for a model state (and the page, for lesson 2's browser draws).
EXPECTED_READOUTS = {
    1: _readouts_01,
    2: _readouts_02,
    3: _readouts_03,
    4: _readouts_04,
    5: _readouts_05,
    6: _readouts_06,
    7: _readouts_07,
    8: _readouts_08,
    9: lambda state, page: _readouts_09(state),
    10: lambda state, page: _readouts_10(state),
}


def recorded_runs(steps: int = 150) -> dict[str, Any]:
    """A made-up history with lesson 6's shape (three runs, a few kept samples), for tests and benchmarks."""
    from types import SimpleNamespace

    t = np.arange(steps, dtype=np.float64)
    hack = 1.0 / (1.0 + np.exp(-(t - 32.0) / 5.0))
    settle = 1.0 - np.exp(-t / 12.0)
    runs = {}
    for name, beta, kl in (("β = 0", 0.0, 2.0 * settle + 300.0 * hack), ("β = 0.3", 0.3, 3.0 * settle),
                           ("adaptive", 0.2, 3.2 * settle)):
        metrics = {"kl_mean": kl, "kl_max": 2.5 * kl, "proxy": 0.3 + 1.5 * settle + (24.0 * hack if beta == 0 else 0),
                   "gold": -0.24 + 0.4 * settle - (2.3 * hack if beta == 0 else 0), "entropy": 0.34 - 0.1 * settle,
                   "distinct2": 0.48 - 0.2 * settle, "ref_loglik": -0.36 - 0.05 * settle, "beta": np.full(steps, beta)}
        samples = {0: ["the cat sleeps.", "a boy reads."], 20: [f"we had fun ({name})!"], steps - 1: ["it was a good day."]}
        runs[name] = SimpleNamespace(metrics={k: v.tolist() for k, v in metrics.items()}, samples=samples)
    return runs


def grpo_logs(steps: int = 12) -> dict[float, Any]:
    """A made-up TRL log with lesson 9's shape (three β, every key, four completions a step), no training."""
    from types import SimpleNamespace

    t = np.arange(1, steps + 1, dtype=np.float64)
    runs = {}
    for beta in (0.0, 0.04, 0.3):
        rows = [{"step": int(s), "entropy": 1.2 - 0.05 * s * (beta < 0.1), "rewards/proxy/mean": 0.2 + s * (beta < 0.1),
                 "rewards/gold/mean": -2.0 - 0.1 * s, "reward_std": 0.5 + 0.1 * s, "frac_reward_zero_std": 0.125,
                 "completions/mean_length": 20 + s / 2, "completions/clipped_ratio": s / steps,
                 **({"kl": (0.2 + 0.3 * s) / (1 + 5 * beta)} if beta else {})} for s in t]
        completions = {int(s): [f"step {int(s)} text {i}!\n" for i in range(8)] for s in t}
        runs[beta] = SimpleNamespace(log=rows, completions=completions)
    return runs


def _readouts_09(state: dict[str, Any]) -> dict[str, float]:
    """Lesson 9: every logged key of the chosen β at the step shown (a key that β did not log shows no number)."""
    run = next(r for r in state["runs"] if r["beta"] == state["beta"])
    values = {k["key"]: run["series"][k["key"]][round(state["step"]) - 1] for k in state["log_keys"]}
    return {key: value for key, value in values.items() if value is not None}


def _readouts_10(state: dict[str, Any]) -> dict[str, float]:
    """Lesson 10: the log read by run_logs at the chosen row (finite values only), and the row itself."""
    from kl_lessons.run_logs import parse_log_text

    if state["case"] == "own":
        run = parse_log_text(state["own_log"]["text"], name=state["own_log"]["name"])
    else:
        case = next(c for c in state["cases"] if c["name"] == state["case"])
        run = parse_log_text(trace_text(case["name"]), case["trainer"], name=case["file"])
    row = min(int(round(state["step"])), run.steps.size) - 1
    values = {name: float(series[row]) for name, series in run.metrics.items()}
    return {"step": row + 1, **{name: v for name, v in values.items() if np.isfinite(v)}}


#: Lessons whose state function packs data the notebook makes (training runs): the state of a stand-in.
#: Lesson 10 opens on a case with flags, so its markers are drawn.
SAMPLE_STATES = {6: lambda: training_scrubber_state(recorded_runs()), 9: lambda: trl_log_state(grpo_logs(), step=3),
                 10: lambda: log_reader_state(case="reference_sync", step=3)}


def lesson_state(lesson: int) -> dict[str, Any]:
    """Lesson ``lesson``'s explorer state from its state function (or, for a lesson in SAMPLE_STATES, its stand-in)."""
    return SAMPLE_STATES[lesson]() if lesson in SAMPLE_STATES else STATE_FUNCTIONS[registered(lesson).module]()


def start_model(lesson: int) -> dict[str, Any]:
    model = lesson_state(lesson)
    if lesson == 5:
        # The browser's noise comes from its own generator, so compare the noise-free loop exactly.
        model["noise"] = 0.0
    return model


#: Per lesson: (slider moved by setting its value, value in slider units; slider moved by keyboard, key).
MOVES = {
    1: ("q_rain", 0.12, "p_rain", "ArrowLeft"),
    2: ("drift", 1.25, "sample_size", "ArrowRight"),
    3: ("beta", 0.23, "beta", "PageUp"),
    4: ("beta", -0.55, "beta", "ArrowRight"),
    5: ("target", 1.7, "horizon", "ArrowLeft"),
    6: ("step", 75, "step", "ArrowRight"),
    7: ("beta", 3, "drift", "ArrowRight"),  # lesson 7's sliders step through grids: their value is an index
    8: ("alpha", 0.5, "beta", "ArrowRight"),
    9: ("step", 7, "step", "ArrowRight"),
    10: ("step", 12, "step", "ArrowRight"),
}

#: Per lesson: the value Python sets on the first slider's key (on its grid), and the slider's position it must show.
KERNEL_MOVES = {
    1: lambda state: (0.2, 0.2),
    2: lambda state: (1.5, 1.5),
    3: lambda state: (0.3, 0.3),
    4: lambda state: (10**-1.7, -1.7),  # the slider is log10 β
    5: lambda state: (1.5, 1.5),
    6: lambda state: (100, 100),
    7: lambda state: (state["betas"][2], 2),  # the slider is an index into the β grid
    8: lambda state: (0.75, 0.75),
    9: lambda state: (5, 5),
    10: lambda state: (5, 5),
}


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("lesson", sorted(MODULES), ids=lambda n: f"lesson{n}")
def test_widget_shows_python_values_before_and_after_slider_moves(
    browser: Any, site: dict[str, Any], lesson: int
) -> None:
    page, errors = open_widget(browser, site, lesson, start_model(lesson))
    try:
        state = dict(start_model(lesson))
        assert_shown(page.evaluate("readouts()"), expected_readouts(lesson, state, page))

        # 1. Set a slider's value and fire "input", as a drag does.
        key, value, key2, press = MOVES[lesson]
        before = page.evaluate("svgState()")
        page.evaluate("tagNodes()")
        page.evaluate("([k, v]) => move(k, v)", [key, value])
        state = page.evaluate("model.state")
        assert state[key] != start_model(lesson)[key], "the move did not reach the model"
        assert_shown(page.evaluate("readouts()"), expected_readouts(lesson, state, page))
        after = page.evaluate("svgState()")
        assert after["markup"] != before["markup"], "the SVG did not change"
        # The figure was updated in place: same elements, none rebuilt.
        assert after["count"] == before["count"] and page.evaluate("taggedStillThere()")

        # 2. The keyboard: focus a slider and press a key.
        old = state[key2]
        page.focus(f"input[type=range][data-key='{key2}']")
        page.keyboard.press(press)
        state = page.evaluate("model.state")
        assert state[key2] != old, f"{press} did not move {key2}"
        assert_shown(page.evaluate("readouts()"), expected_readouts(lesson, state, page))
        # save_changes threw on every move (as on the static site) and nothing surfaced as an error.
        assert page.evaluate("model.saves") >= 2
        # The arrow key stayed inside the widget (in JupyterLab it must not move the cell selection).
        assert page.evaluate("escapedKeys") == [], "a control key escaped the widget"
        assert page.evaluate("widgetEl.firstChild.dataset.lmSuppressShortcuts") == "true"
        assert errors == []
    finally:
        page.close()


def test_estimator_choice_is_keyboard_operable(browser: Any, site: dict[str, Any]) -> None:
    page, errors = open_widget(browser, site, 3, start_model(3))
    try:
        page.focus("fieldset[data-key='estimator'] input[value='k1']")
        page.keyboard.press("ArrowRight")
        state = page.evaluate("model.state")
        assert state["estimator"] == "k2"
        assert_shown(page.evaluate("readouts()"), expected_readouts(3, state))
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("lesson", sorted(MODULES), ids=lambda n: f"lesson{n}")
def test_a_change_from_the_kernel_redraws(browser: Any, site: dict[str, Any], lesson: int) -> None:
    # In JupyterLab, Python can set a trait: the widget must follow, and save_changes must be called on moves.
    page, errors = open_widget(browser, site, lesson, start_model(lesson), save_throws=False)
    try:
        key = MOVES[lesson][0]
        new, shown_value = KERNEL_MOVES[lesson](start_model(lesson))
        page.evaluate("([k, v]) => model.set(k, v)", [key, new])
        state = page.evaluate("model.state")
        assert_shown(page.evaluate("readouts()"), expected_readouts(lesson, state, page))
        slider_value = float(page.evaluate("(k) => slider(k).value", key))
        assert abs(slider_value - shown_value) < 1e-9
        page.evaluate("([k, v]) => move(k, v)", [key, page.evaluate("(k) => slider(k).min", key)])
        assert page.evaluate("model.saves") == 1
        # Removing the view stops its listeners; the static site's model.off throws, which must not escape.
        page.evaluate("cleanup()")
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("lesson", sorted(MODULES), ids=lambda n: f"lesson{n}")
def test_widget_is_accessible(browser: Any, site: dict[str, Any], lesson: int) -> None:
    page, errors = open_widget(browser, site, lesson, start_model(lesson))
    try:
        report = page.evaluate("""() => {
          const el = window.widgetEl, svg = el.querySelector("svg");
          const ranges = Array.from(el.querySelectorAll("input[type=range]"));
          const named = (ids) => ids.split(" ").map((id) => el.getRootNode().getElementById(id)?.textContent || "");
          const colours = new Set();
          for (const node of svg.querySelectorAll("*")) for (const a of ["fill", "stroke"]) {
            const v = node.getAttribute(a); if (v && v.startsWith("#")) colours.add(v.toUpperCase());
          }
          return {
            ranges: ranges.map((r) => ({ label: Array.from(r.labels, (l) => l.textContent.trim()).join(" "),
                                         valuetext: r.getAttribute("aria-valuetext"), tabIndex: r.tabIndex,
                                         readout: el.querySelector(`output[for="${r.id}"]`)?.textContent })),
            role: svg.getAttribute("role"), names: named(svg.getAttribute("aria-labelledby")),
            colours: Array.from(colours), live: el.querySelectorAll("[aria-live]").length,
          };
        }""")
        assert report["ranges"], "no slider"
        for r in report["ranges"]:
            assert r["label"] and r["valuetext"] and r["readout"] and r["tabIndex"] >= 0, r
        assert report["role"] == "img" and all(report["names"]), report
        allowed = {c.upper() for c in OKABE_ITO.values()} | {"#444", "#222"}
        assert set(report["colours"]) <= allowed, set(report["colours"]) - allowed
        assert report["live"] >= 1
        assert errors == []
    finally:
        page.close()


# --------------------------------------------------------------------------- lesson 10's log sources
def test_log_reader_reads_a_case_a_paste_and_a_file(browser: Any, site: dict[str, Any], tmp_path: Path) -> None:
    """The case menu, the text box and the file input each give a log read and checked as Python reads it;
    bad text gives a message, not an error."""
    from kl_lessons.run_logs import check_run, parse_log_text

    model = lesson_state(10)
    page, errors = open_widget(browser, site, 10, model)
    try:
        def flags() -> list[str]:
            return page.evaluate("() => Array.from(widgetEl.querySelectorAll('.kl-flags li b'), (b) => b.textContent)")

        for case in model["cases"]:
            page.select_option("select[data-key='case']", case["name"])
            state = page.evaluate("model.state")
            assert state["case"] == case["name"]
            run = parse_log_text(trace_text(case["name"]), case["trainer"], name=case["file"])
            want = [f"{i + 1}. {w.check}, trainer step {run.steps[w.step]:g}" for i, w in enumerate(check_run(run))]
            assert [f.split(" (line")[0] for f in flags()] == want, case["name"]
            assert_shown(page.evaluate("readouts()"), expected_readouts(10, state))

        for bad in ("", '{"log_history": [{"kl": 0.1, "st', "\x00\x01\x02 junk \x03" * 200, '{"foo": 1}\n'):
            page.fill("textarea", bad)
            page.click("text=Read the pasted text")
            assert page.evaluate("widgetEl.querySelector('.kl-message').textContent").startswith("Cannot read this log")

        trace = next(c for c in model["cases"] if c["file"].endswith(".csv"))
        trace = {**trace, "text": trace_text(trace["name"])}
        own = tmp_path / "my_run.csv"
        own.write_text(trace["text"])
        page.set_input_files("input[type=file]", str(own))
        # The file's text stays in the page (it is not synced to the kernel): the message names the file read.
        page.wait_for_function("() => model.state.case === 'own' && "
                               "widgetEl.querySelector('.kl-message').textContent.startsWith('Read my_run.csv as csv')")
        run = parse_log_text(trace["text"], name="my_run.csv")
        assert [f.split(",")[0] for f in flags()] == [f"{i + 1}. {w.check}" for i, w in enumerate(check_run(run))]
        page.evaluate("([k, v]) => move(k, v)", ["step", 7])
        state = {**page.evaluate("model.state"), "own_log": {"name": "my_run.csv", "text": trace["text"]}}
        assert_shown(page.evaluate("readouts()"), expected_readouts(10, state))
        assert errors == []
    finally:
        page.close()
