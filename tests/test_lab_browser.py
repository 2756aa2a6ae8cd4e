"""Lessons 1 and 6 in a real browser: JupyterLab runs them, their explorers follow mouse and keys.

JupyterLab is started on a free local port with a random token, from a temporary
folder holding copies of the lessons with their outputs stripped, so everything the
page shows was made by a live kernel (and the committed notebooks are never touched).
Each lesson's explorer (an anywidget) must redraw when a slider is dragged with the
mouse and when it is moved with the arrow keys, and the keys must not move the
notebook's cell selection.
Debian's Chromium (never a browser downloaded by playwright) drives it headless.
Screenshots land in a temporary folder whose path is printed (see it with ``-s``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import nbformat
import psutil
import pytest

from kl_lessons.lessons import lesson

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
# Lesson 6 carries every kind of thing a learner meets in JupyterLab: training with progress bars, a live
# explorer, exercises with solutions. (Every lesson also runs in full under strict nbval.)
LESSONS = {6: ROOT / lesson(6).notebook}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Generous waits for a slow CI machine. They bound how long a broken run hangs; the
# test never asserts on how long anything took.
SERVER_START_S = 120
WAIT_MS = 90_000
# Run All, for lesson 6 with its training shortened (see _capstone_for_the_lab).
RUN_ALL_MS = int(os.environ.get("KL_LAB_RUN_ALL_MS", 300_000))

# User settings for the temporary JupyterLab: every cell attached to the page (so all
# prompts and outputs can be read), no autosave, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False,
    },
}

# True once the notebook is connected to a kernel that is idle. (Before the kernel is
# connected the toolbar already says "idle", next to "No Kernel".)
KERNEL_READY = """() => {
  const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const name = document.querySelector('.jp-Toolbar-kernelName');
  return status !== null && status.dataset.status === 'idle'
    && name !== null && name.textContent.trim() !== '' && !name.textContent.includes('No Kernel');
}"""

# True once Run All has finished (every code cell numbered) or has failed (an error or
# stderr shown: the cells after an error are never run, so waiting longer is pointless).
RUN_ALL_FINISHED = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  const failed = document.querySelector('.jp-Notebook [data-mime-type="application/vnd.jupyter.stderr"]');
  const done = prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
  return prompts.length > 0 && (failed !== null || done);
}"""


def _chromium() -> Path:
    """Debian's Chromium, or a skip (a failure on CI, where `.ci/run` installs it)."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: install Debian's chromium package (`apt-get install chromium`)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Lesson 6 in the lab: its own cells from the imports to the scrubber, with training shortened, and its exercises
# and solutions (markdown only). The full lesson trains for a minute (strict nbval runs all of it); the explorer in
# JupyterLab is the same with 25 steps.
CAPSTONE_CELLS = ("find_spec(\"kl_lessons\")", "pretrain(steps=", "n_params = ", "ref_texts = ", "judge = default_judge", "STEPS, SHOW_AT",
                  "TrainingScrubber(", "training_scrubber.js", "{exercise}", "{solution}")
CAPSTONE_SHORTER = {"pretrain(steps=600": "pretrain(steps=60", "STEPS, SHOW_AT = 150, (0, 20, 149)":
                    "STEPS, SHOW_AT = 25, (0, 20, 24)", "scrubber = TrainingScrubber(state)":
                    "state = training_scrubber_state(runs, step=5)\nscrubber = TrainingScrubber(state)"}  # thumb left of the click


def _capstone_for_the_lab(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Lesson 6's title, imports, pretraining, judge, training and scrubber cells, with short training, and its exercises.

    The lesson's asserts are about the full run, so their lines are left out here; nbval checks them.
    """
    keep = [notebook.cells[0]] + [c for c in notebook.cells if any(m in c.source for m in CAPSTONE_CELLS)]
    for cell in keep:
        for old, new in CAPSTONE_SHORTER.items():
            cell.source = cell.source.replace(old, new)
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n") if not line.startswith("assert "))
    assert sum("TrainingScrubber(" in c.source for c in keep) == 1 and "steps=60" in "".join(c.source for c in keep)
    notebook.cells = keep
    return notebook


def _stage(where: Path) -> dict[int, Path]:
    """Copy the lessons into ``where/notebooks`` without outputs or saved widget state."""
    staged = {}
    for lesson, path in LESSONS.items():
        assert path.exists(), f"lesson {lesson} is missing: {path.relative_to(ROOT)}"
        notebook = nbformat.read(path, as_version=4)
        if lesson == 6:
            notebook = _capstone_for_the_lab(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("widgets", None)
        target = where / "notebooks" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        staged[lesson] = target
    for name, values in LAB_SETTINGS.items():
        path = where / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return staged


def _wait_until_serving(server: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen, url: str, token: str) -> None:
    """Shut the server down cleanly, then kill whatever is left of it and its kernels."""
    try:
        # Kernels run in sessions of their own, so note them before the server goes.
        leftovers = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        leftovers = []
    try:
        request = urllib.request.Request(
            f"{url}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        urllib.request.urlopen(request, timeout=30).close()
        server.wait(timeout=30)
    except (urllib.error.URLError, ConnectionError, TimeoutError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait(timeout=30)
    for process in leftovers:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(leftovers, timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[int, str]]]:
    """A JupyterLab server on a free port: yields (base url, token, lesson → notebook path in the lab)."""
    _chromium()
    where = tmp_path_factory.mktemp("lab")
    lessons = _stage(where)
    port, token = _free_port(), secrets.token_hex(24)
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # Keep the server's settings, workspaces, secrets and runtime files in the temp folder.
        "JUPYTERLAB_SETTINGS_DIR": str(where / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(where / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(where / "runtime"),
        "JUPYTER_DATA_DIR": str(where / "data"),
        "JUPYTER_CONFIG_DIR": str(where / "config"),
    }
    log = where / "lab.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter", "lab", "--no-browser",
                f"--IdentityProvider.token={token}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={where}", "--ServerApp.allow_root=True",
                "--LabApp.extension_manager=readonly",
            ],
            stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=where, start_new_session=True,
        )
    try:
        _wait_until_serving(server, url, token, log)
        yield url, token, {k: p.relative_to(where).as_posix() for k, p in lessons.items()}
    finally:
        _stop(server, url, token)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lab-screenshots")
    print(f"\nscreenshots of the JupyterLab run: {folder}")
    return folder


@pytest.fixture(scope="module", params=sorted(LESSONS), ids=lambda k: f"lesson{k}")
def page(request: pytest.FixtureRequest, lab: tuple[str, str, dict[int, str]], shots: Path) -> Iterator[Page]:
    """A lesson open in JupyterLab, all cells run once in a fresh kernel."""
    from playwright.sync_api import sync_playwright

    url, token, lessons = lab
    lesson = lessons[request.param]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            # reset: a fresh workspace, so the previous lesson is not reopened beside this one (its unrun cells
            # would otherwise count as unfinished).
            page.goto(f"{url}/lab/tree/{lesson}?token={token}&reset")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.wait_for_function(KERNEL_READY)
            page.screenshot(path=shots / f"{request.param}-1-opened.png")
            page.lesson = request.param  # type: ignore[attr-defined]

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
            try:
                page.wait_for_function(RUN_ALL_FINISHED, timeout=RUN_ALL_MS)
            except Exception:
                page.screenshot(path=shots / f"{request.param}-run-all-unfinished.png", full_page=True)
                prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
                raise AssertionError(f"Run All did not finish; the code cells' prompts read {prompts}") from None
            page.wait_for_function(KERNEL_READY)
            yield page
        finally:
            browser.close()


def test_run_all_cells_in_a_fresh_kernel(page: Page, shots: Path) -> None:
    errors = page.locator('.jp-Notebook [data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, "a cell wrote to stderr or raised:\n" + "\n".join(errors.all_inner_texts())
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
    counts = [int(m.group(1)) for m in (re.search(r"\[(\d+)\]", p) for p in prompts) if m]
    assert counts == list(range(1, len(prompts) + 1)), f"execution counts {prompts}"
    page.screenshot(path=shots / f"{page.lesson}-2-ran-all-cells.png")


ACTIVE_CELL = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
  .findIndex((cell) => cell.classList.contains('jp-mod-active'))"""


def test_explorer_follows_the_mouse_and_the_keyboard(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    explorer = page.locator(".jp-OutputArea-output .kl-widget").first
    expect(explorer, "the explorer (an anywidget) did not render").to_be_visible()
    explorer.scroll_into_view_if_needed()
    figure = explorer.locator("svg").first
    slider = explorer.locator("input[type=range]").first
    explorer.screenshot(path=shots / f"{page.lesson}-3-explorer-before.png")

    # The mouse: a click at three quarters of the track moves the thumb there.
    markup, value = figure.evaluate("(s) => s.outerHTML"), slider.input_value()
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + box["height"] / 2)
    expect(slider).not_to_have_value(value)
    assert figure.evaluate("(s) => s.outerHTML") != markup, "the figure did not change after a mouse move"
    explorer.screenshot(path=shots / f"{page.lesson}-4-explorer-mouse.png")

    # The keyboard: the slider has focus now; arrow keys move it, and not the notebook's cell selection.
    active = page.evaluate(ACTIVE_CELL)
    for key in ("ArrowLeft", "ArrowLeft", "ArrowDown"):
        markup, value = figure.evaluate("(s) => s.outerHTML"), slider.input_value()
        page.keyboard.press(key)
        expect(slider).not_to_have_value(value)
        assert figure.evaluate("(s) => s.outerHTML") != markup, f"the figure did not change after {key}"
    assert page.evaluate(ACTIVE_CELL) == active, "an arrow key on the slider moved the notebook's cell selection"
    assert page.evaluate("() => document.activeElement.type") == "range"
    explorer.screenshot(path=shots / f"{page.lesson}-5-explorer-keyboard.png")

    # The figure cell under it: jupyterlab-myst draws no {anywidget}, so only its caption shows, as the
    # caption of the live explorer just above (never the directive's raw text).
    caption = page.locator(".jp-MarkdownCell figure", has_text=re.compile(r"Notice")).first
    caption.scroll_into_view_if_needed()
    expect(caption).not_to_contain_text("anywidget")
    caption.screenshot(path=shots / f"{page.lesson}-6-figure-cell.png")


def test_exercise_directives_are_rendered_by_jupyterlab_myst(page: Page, shots: Path) -> None:
    from playwright.sync_api import expect

    rendered = page.locator(".jp-MarkdownCell .myst")
    expect(rendered.first, "no markdown cell was rendered by jupyterlab-myst").to_be_attached()
    raw = [text for text in rendered.all_inner_texts() if re.search(r"\{(exercise|solution)\}|```", text)]
    assert not raw, f"directives shown as raw text: {raw}"

    exercise = page.locator(".jp-MarkdownCell aside.myst-exercise").first
    expect(exercise, "no exercise directive was rendered").to_be_attached()
    exercise.scroll_into_view_if_needed()
    expect(exercise.locator(".myst-exercise-title")).to_contain_text("Exercise")
    solution = page.locator(".jp-MarkdownCell details.myst-exercise").first
    expect(solution).to_have_js_property("open", False)
    solution.locator("summary").click()
    expect(solution).to_have_js_property("open", True)
    solution.scroll_into_view_if_needed()
    page.screenshot(path=shots / f"{page.lesson}-7-exercise-rendered.png")
