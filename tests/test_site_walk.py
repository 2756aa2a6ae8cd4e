"""The published site, built as the deploy workflow builds it and read in Chromium as a learner reads it.

One build per test session (module fixture): ``myst build --html --strict`` with the real book theme and
``BASE_URL=/kl-lessons`` (``scripts/site_check.py``), served from 127.0.0.1 under that sub-path, so a link
or asset that forgets the prefix answers 404. Then, at a laptop width (1366×900) and a phone width
(390×844), every page is opened in headless Chromium and checked:

- no page error, and no failed load except the theme's own CDN stylesheets (KaTeX 0.15.2's is served from
  the shared copy beside the repository, so math is laid out as an online reader sees it);
- no "kernel connection is required" box;
- each lesson's live figure redraws when its first slider moves with the keyboard;
- no display equation, widget or page wider than its column (nothing cut off, no sideways scroll);
- every text label inside a live figure's shadow root at least 8 px tall as rendered, and inside its figure;
- every figure's image has alt text, on a lesson its cell's ``#| alt:`` text (never matplotlib's
  ``<Figure size …>``); every exercise's solution is closed, no two references read the same;
- every internal link and every download (each lesson's ``.ipynb``) answers 200 under the sub-path;
- lesson 10's log reader, with no kernel, shows for each casebook trace the monitor's flags (Python's
  ``check_run`` on the same trace), at both widths.

Screenshots of every page at both widths go to a folder whose path is printed (``pytest -s``); look at
them. Debian's ``/usr/bin/chromium`` through Playwright; no browser is downloaded. Without Chromium, or
without the theme and no way to download it, the tests skip (on CI, where both exist, they fail).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin, urlsplit

import pytest

from kl_lessons.lessons import LESSONS as REGISTRY
from kl_lessons.style import alt_text

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_check", ROOT / "scripts" / "site_check.py")
site_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_check)

BASE = site_check.BASE_URL
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
WIDTHS = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
#: The stylesheet the theme loads from a CDN, and the same files beside the repository.
KATEX_CDN = "https://cdn.jsdelivr.net/npm/katex@0.15.2/dist/"
KATEX_DIR = ROOT.parent / "shared" / "katex" / "dist"
#: Other assets the theme itself links from CDNs (unreachable here; an online reader gets them).
THEME_CDN = ("https://cdn.jsdelivr.net/npm/jupyter-matplotlib@", "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/")
WAIT_MS = 30_000


def _on_ci() -> bool:
    return os.environ.get("CI") == "true"


# --------------------------------------------------------------------------- the build, served
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("site_html")
    start = time.perf_counter()
    code, output, warnings = site_check.build(site_check.stage(where))
    seconds = time.perf_counter() - start
    reason = site_check.theme_missing_reason(output) if code else None
    if reason:
        (pytest.fail if _on_ci() else pytest.skip)(reason)
    print(f"\nsite built with the book theme in {seconds:.1f} s (BASE_URL={BASE})")
    return {"dir": where / "_build", "code": code, "output": output, "warnings": warnings, "seconds": seconds}


class _SubPath(http.server.SimpleHTTPRequestHandler):
    """Serves the built site under BASE only, as GitHub Pages serves a project site."""

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if route != BASE and not route.startswith(BASE + "/"):
            return str(Path(self.directory) / "\0outside-the-sub-path")
        return super().translate_path(path[len(BASE):] or "/")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(built: dict[str, Any]) -> Iterator[dict[str, Any]]:
    assert built["code"] == 0, built["output"]
    html = built["dir"] / "html"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_SubPath, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    project = json.loads((html / "config.json").read_text())["projects"][0]
    pages = [{"slug": "", "location": "/index.md"}]
    for page in project["pages"]:
        if page.get("slug"):
            data = json.loads((html / f"{page['slug']}.json").read_text())
            pages.append({"slug": page["slug"], "location": data.get("location", "")})
    yield {"origin": origin, "base": origin + BASE, "html": html, "pages": pages}
    server.shutdown()
    server.server_close()


def _content(built: dict[str, Any]) -> dict[str, dict]:
    """location (e.g. /notebooks/01_x.ipynb) → the page's built JSON."""
    pages = [json.loads(p.read_text()) for p in (built["dir"] / "site" / "content").glob("*.json")]
    return {p.get("location", ""): p for p in pages}


def _node_types(node: dict, counts: Counter) -> Counter:
    counts[node.get("type")] += 1
    for child in node.get("children", []):
        _node_types(child, counts)
    return counts


def _source_counts(notebook: Path) -> Counter:
    cells = json.loads(notebook.read_text())["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return Counter(
        exercise=len(re.findall(r"^`{3,}\{exercise\}", markdown, re.M)),
        solution=len(re.findall(r"^`{3,}\{solution\}", markdown, re.M)),
        figure=len(re.findall(r"^#\| label: fig-", code, re.M)),
    )


#: matplotlib's plain-text form of a figure, which the theme would otherwise show as its alt text.
MATPLOTLIB_REPR = re.compile(r"^<Figure size [\d.]+x[\d.]+ with \d+ Axes>$")


def _figure_alts(notebook: Path) -> dict[str, str]:
    """Each figure cell's label → its ``#| alt:`` text (what a screen reader should read on the site)."""
    alts = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        label = re.search(r"^#\| label: (fig-\S+)", source, re.M)
        if cell["cell_type"] == "code" and label:
            alts[label.group(1)] = alt_text(source)
    return alts


#: The lessons the site publishes, from the lesson registry (test_lessons.py checks myst.yml's toc lists exactly these).
LESSONS = [ROOT / entry.notebook for entry in REGISTRY]


# --------------------------------------------------------------------------- the build itself
def test_site_builds_with_the_book_theme_and_no_warning(built: dict[str, Any]) -> None:
    # `--strict` alone exits 0 on an unresolved citation or label, so read the output too.
    assert built["code"] == 0, built["output"]
    assert not built["warnings"], "the site build warned:\n" + "\n".join(built["warnings"])
    assert (built["dir"] / "html" / "index.html").exists()


def test_every_exercise_solution_and_figure_renders(built: dict[str, Any]) -> None:
    # A malformed directive can fall back to a plain code block without any warning.
    content = _content(built)
    for notebook in LESSONS:
        location = f"/notebooks/{notebook.name}"
        assert location in content, f"{location} was not built"
        expected = _source_counts(notebook)
        found = _node_types(content[location]["mdast"], Counter())
        assert found["exercise"] == expected["exercise"], location
        assert found["solution"] == expected["solution"], location
        assert found["container"] >= expected["figure"], location


def test_every_lesson_carries_a_kernel_free_live_figure(built: dict[str, Any]) -> None:
    # The static site runs no kernel; each lesson's explorer must also exist as an {anywidget}.
    content = _content(built)
    missing = [nb.name for nb in LESSONS if _node_types(content[f"/notebooks/{nb.name}"]["mdast"], Counter())["anywidget"] < 1]
    assert not missing, f"lessons without an {{anywidget}} figure: {missing}"


def test_lessons_are_downloadable_and_no_live_kernel_band(built: dict[str, Any]) -> None:
    content = _content(built)
    for notebook in LESSONS:
        exports = content[f"/notebooks/{notebook.name}"]["frontmatter"].get("exports", [])
        assert any(e.get("format") == "ipynb" for e in exports), f"{notebook.name} has no .ipynb download"
    project = json.loads((built["dir"] / "site" / "config.json").read_text())["projects"][0]
    # `jupyter: true` (thebe) adds a blank band with a connect button under every notebook's authors.
    assert not project.get("thebe"), "thebe is on: the static pages would show an empty live-kernel band"


# --------------------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        (pytest.fail if _on_ci() else pytest.skip)(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SITE_SCREENSHOTS") or tmp_path_factory.mktemp("site-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nsite screenshots: {folder}")
    return folder


# Bring each live figure into view (the theme may mount an {anywidget} figure only when it is seen) and wait until
# it has drawn something; the number of figures that never drew comes back. Images need no scrolling: the theme
# loads them eagerly, and a failed one is caught as a failed load.
SHOW_LIVE_FIGURES = """async () => {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  await document.fonts.ready;  // equations are measured next: KaTeX's fonts must be in
  let blank = 0;
  for (const host of document.querySelectorAll(".myst-anywidget")) {
    host.scrollIntoView({ block: "center" });
    let i = 0;
    for (; i < 100 && !(host.shadowRoot && host.shadowRoot.childElementCount); i++) await pause(50);
    if (i === 100) blank += 1;
  }
  window.scrollTo(0, 0);
  return blank;
}"""

# Everything the walk reads from one page, at the current width.
INSPECT = r"""() => {
  const text = (el) => (el.textContent || "").replace(/\s+/g, " ").trim();
  const doc = document.documentElement;
  const out = { sideways: doc.scrollWidth - doc.clientWidth, wideMath: [], wideWidgets: [], noAlt: [], alts: [],
                openSolutions: [], solutions: 0, refs: [], cites: [], links: [] };
  // Display math: the theme puts each equation in a horizontally scrolling box beside its number.
  for (const eq of document.querySelectorAll(".katex-display")) {
    const box = eq.parentElement;
    if (box.scrollWidth > box.clientWidth + 1) {
      const row = box.parentElement;
      out.wideMath.push({ id: row.id, number: text(row).match(/\((\d+)\)\s*$/)?.[1] || "",
                          over: box.scrollWidth - box.clientWidth, tex: text(eq.querySelector("annotation") || eq).slice(0, 90) });
    }
  }
  for (const w of document.querySelectorAll(".myst-anywidget")) {
    const column = w.closest("figure") || w.parentElement;
    const inner = w.shadowRoot ? w.shadowRoot.firstElementChild : w.firstElementChild;
    const over = Math.max(w.getBoundingClientRect().width - column.clientWidth,
                          inner ? inner.scrollWidth - inner.clientWidth : 0, w.scrollWidth - w.clientWidth);
    if (over > 1) out.wideWidgets.push({ id: w.closest("[id]")?.id, over });
  }
  for (const img of document.querySelectorAll("article img")) {
    const alt = (img.getAttribute("alt") || "").trim();
    if (!alt) out.noAlt.push(img.getAttribute("src"));
    out.alts.push({ figure: img.closest("figure[id]")?.id || "", alt });
  }
  for (const d of document.querySelectorAll("article details.myst-exercise")) {
    out.solutions += 1;
    if (d.open) out.openSolutions.push(text(d.querySelector("summary")).slice(0, 80));
  }
  for (const li of document.querySelectorAll(".myst-bibliography-item")) out.refs.push(text(li));
  for (const c of document.querySelectorAll("cite")) {
    const a = c.querySelector("a"); out.cites.push({ text: text(c), href: a ? a.getAttribute("href") : "" });
  }
  for (const a of document.querySelectorAll("a[href]")) out.links.push(a.href);
  out.kernelBox = /kernel connection is required/i.test(document.body.innerText);
  return out;
}"""

#: The smallest rendered height (CSS px) of a text label in a live figure, at either width.
MIN_LABEL_PX = 8

# Every text label drawn inside each live figure's shadow root: its rendered height (the glyph box times the
# figure's scale on screen, so a figure shrunk to a phone's column counts) and how far it sticks out of its svg.
WIDGET_LABELS = r"""() => {
  const out = [];
  for (const host of document.querySelectorAll(".myst-anywidget")) {
    const root = host.shadowRoot || host;
    for (const t of root.querySelectorAll("svg text")) {
      if (!t.textContent.trim() || t.closest("[visibility=hidden]") || getComputedStyle(t).visibility === "hidden") continue;
      const m = t.getScreenCTM(), box = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
      out.push({ text: t.textContent.trim().slice(0, 40), height: t.getBBox().height * Math.hypot(m.a, m.b),
                 over: Math.max(0, r.right - box.right, box.left - r.left, r.bottom - box.bottom, box.top - r.top) });
    }
  }
  return out;
}"""

# The live figure's picture: the largest svg/canvas/img inside the widget (not its sliders or readouts).
MARK_PICTURE = """(host) => {
  const root = host.shadowRoot || host;
  let best = null, area = 0;
  for (const el of root.querySelectorAll("svg, canvas, img")) {
    if (el.parentElement && el.parentElement.closest("svg")) continue;
    const r = el.getBoundingClientRect();
    if (r.width * r.height > area) { area = r.width * r.height; best = el; }
  }
  if (!best) return false;
  root.querySelectorAll("[data-walk-picture]").forEach((e) => e.removeAttribute("data-walk-picture"));
  best.setAttribute("data-walk-picture", "1");
  return true;
}"""


#: What a live figure's picture is drawn from: a canvas's pixels, an image's source, or an svg's markup.
PICTURE_CONTENT = """(el) => el.tagName === 'CANVAS' ? el.toDataURL() : el.tagName === 'IMG' ? el.src : el.outerHTML"""


def _route_cdn(external: list[str]):
    """Serve KaTeX's CDN stylesheet from the local copy; abort (and note) any other load from outside the site."""

    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(KATEX_CDN) and not KATEX_DIR.is_dir():
            return route.continue_()  # no local copy (e.g. a hosted CI runner): the CDN itself
        if url.startswith(KATEX_CDN):
            path = (KATEX_DIR / urlsplit(url).path.split("/dist/", 1)[1]).resolve()
            if KATEX_DIR.resolve() in path.parents and path.is_file():
                return route.fulfill(path=str(path))
        external.append(url)
        return route.abort()

    return handle


def _move_live_figure(page: Any) -> str | None:
    """Move the first slider of the page's first live figure with the keyboard; None if the picture changed."""
    host = page.locator(".myst-anywidget").first
    if host.count() == 0:
        return "no live figure ({anywidget}) on the page"
    # Scroll by script: Playwright's own scroll waits for the element to stop moving, and a long lesson keeps
    # shifting while its images load above the figure (seen as a 30 s time-out on a busy machine).
    host.evaluate("(el) => el.scrollIntoView({ block: 'center' })")
    slider = host.locator("input[type=range]").first
    try:
        slider.wait_for(state="visible", timeout=WAIT_MS)
    except Exception:  # noqa: BLE001 - report, do not crash the walk
        return "the live figure shows no slider"
    if not host.evaluate(MARK_PICTURE):
        return "the live figure has no picture (svg, canvas or img)"
    picture = host.locator("[data-walk-picture]")
    # Compare what the picture is drawn from, not screenshots of it: an element screenshot waits for the element
    # to stop moving, and a long lesson may still be shifting while its images load (a 30 s time-out, seen twice).
    before = picture.evaluate(PICTURE_CONTENT)
    value = slider.input_value()
    slider.focus()
    page.keyboard.press("ArrowRight")
    if slider.input_value() == value:  # already at its maximum
        page.keyboard.press("ArrowLeft")
    if slider.input_value() == value:
        return "the first slider did not move with the arrow keys"
    page.wait_for_timeout(150)
    if picture.evaluate(PICTURE_CONTENT) == before:
        return f"the picture did not change when the slider moved ({value} → {slider.input_value()})"
    return None


def _screenshots(page: Any, folder: Path, stem: str, problems_too: list[str]) -> None:
    """The first screen of the page and the screen around its live figure, as JPEGs for a person to look at.

    Viewport shots, not full-page ones: a whole lesson is tens of thousands of pixels tall, and on a busy 2-core
    machine a tall capture once hung for two minutes waiting for a frame. The pictures are for reading, not for
    the verdict, so a shot the browser cannot paint in time is noted and the walk goes on; every check above has
    already run on the page.
    """
    spots = {"top": "() => window.scrollTo(0, 0)",
             "figure": "() => document.querySelector('.myst-anywidget')?.scrollIntoView({ block: 'center' })"}
    for label, scroll in spots.items():
        if label == "figure" and not page.evaluate("() => !!document.querySelector('.myst-anywidget')"):
            continue
        page.evaluate(scroll)
        try:
            page.screenshot(path=str(folder / f"{stem}-{label}.jpg"), type="jpeg", quality=70, timeout=30_000)
        except Exception:  # noqa: BLE001 - a picture the browser could not paint is not a page fault
            problems_too.append(f"{stem}-{label}")


def _walk(browser: Any, site: dict[str, Any], width: str, folder: Path) -> tuple[list[str], set[str]]:
    problems: list[str] = []
    spent: Counter = Counter()

    def lap(step: str, since: list[float]) -> None:
        now = time.perf_counter()
        spent[step] += now - since[0]
        since[0] = now

    links: set[str] = set()
    shots_missed: list[str] = []
    context = browser.new_context(viewport=WIDTHS[width])
    try:
        for info in site["pages"]:
            url = f"{site['base']}/{info['slug']}"
            name = info["slug"] or "index"
            page = context.new_page()
            errors: list[str] = []
            external: list[str] = []
            failed: list[str] = []
            page.on("pageerror", lambda err, errors=errors: errors.append(str(err)))
            # Loads from the site itself that failed or answered an error (the CDN ones are aborted above).
            page.on("requestfailed", lambda req, failed=failed: failed.append(req.url) if req.url.startswith(
                site["origin"]) else None)
            page.on("response", lambda r, failed=failed: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            # Only loads from elsewhere are routed (each routed load is a round trip through this process).
            page.route(re.compile(rf"^(?!{re.escape(site['origin'])}/|data:|blob:)"), _route_cdn(external))
            clock = [time.perf_counter()]
            response = page.goto(url, wait_until="networkidle")
            lap("load", clock)
            where = f"[{width}] /{info['slug']}"
            if response is None or response.status != 200:
                problems.append(f"{where}: the page answered {response and response.status}")
            if info["location"].endswith(".ipynb"):
                # A lesson's live figure is added by the theme's scripts, which on a busy machine can be after
                # the network has gone quiet.
                try:
                    page.locator(".myst-anywidget").first.wait_for(state="attached", timeout=WAIT_MS)
                except Exception:  # noqa: BLE001 - reported by _move_live_figure below
                    pass
            blank = page.evaluate(SHOW_LIVE_FIGURES)
            if blank:
                problems.append(f"{where}: {blank} live figure(s) drew nothing in 5 s")
            found = page.evaluate(INSPECT)
            labels = page.evaluate(WIDGET_LABELS)
            lap("inspect", clock)
            if info["location"].endswith(".ipynb"):
                trouble = _move_live_figure(page)
                if trouble:
                    problems.append(f"{where}: {trouble}")
            lap("slider", clock)
            _screenshots(page, folder, f"{width}-{name}", problems_too=shots_missed)
            lap("screenshot", clock)

            problems += [f"{where}: page error: {e}" for e in errors]
            problems += [f"{where}: failed load: {u}" for u in failed]
            problems += [f"{where}: load from outside the theme's CDN assets: {u}"
                         for u in external if not u.startswith(THEME_CDN)]
            if found["kernelBox"]:
                problems.append(f"{where}: shows a 'kernel connection is required' box")
            if found["sideways"] > 1:
                problems.append(f"{where}: the page scrolls sideways by {found['sideways']} px")
            problems += [f"{where}: equation ({m['number']}) #{m['id']} is {m['over']} px wider than its column: "
                         f"{m['tex']}" for m in found["wideMath"]]
            problems += [f"{where}: widget #{w['id']} is {w['over']:.0f} px wider than its column"
                         for w in found["wideWidgets"]]
            lesson = info["location"].rsplit("/", 1)[-1]
            problems += [f"{where} ({lesson}): live figure label '{lab['text']}' is {lab['height']:.1f} px tall "
                         f"(under {MIN_LABEL_PX} px)" for lab in labels if lab["height"] < MIN_LABEL_PX]
            problems += [f"{where} ({lesson}): live figure label '{lab['text']}' sticks out of its figure by "
                         f"{lab['over']:.0f} px" for lab in labels if lab["over"] > 1]
            problems += [f"{where}: image without alt text: {src}" for src in found["noAlt"]]
            problems += [f"{where}: figure {a['figure'] or '(unlabelled)'} has matplotlib's placeholder for alt text: "
                         f"{a['alt']}" for a in found["alts"] if MATPLOTLIB_REPR.match(a["alt"])]
            if info["location"].endswith(".ipynb"):
                alts = _figure_alts(ROOT / info["location"].lstrip("/"))
                shown = {a["figure"]: a["alt"] for a in found["alts"]}
                problems += [f"{where}: figure {label} has no #| alt: line" for label, alt in alts.items() if not alt]
                problems += [f"{where}: figure {label} reads '{shown.get(label)}' to a screen reader, not its #| alt: text"
                             for label, alt in alts.items() if alt and shown.get(label) != alt]
            problems += [f"{where}: solution open by default: {s}" for s in found["openSolutions"]]
            if info["location"].endswith(".ipynb"):
                expected = _source_counts(ROOT / info["location"].lstrip("/"))["solution"]
                if found["solutions"] != expected:
                    problems.append(f"{where}: {found['solutions']} solution dropdowns, the notebook has {expected}")
            problems += [f"{where}: two references read the same: {r}"
                         for r, n in Counter(found["refs"]).items() if n > 1]
            heads = Counter(re.split(r"\)\.", r, maxsplit=1)[0] + ")" for r in found["refs"])
            problems += [f"{where}: two references start with the same authors and year: {h}"
                         for h, n in heads.items() if n > 1]
            targets: dict[str, set[str]] = {}
            for cite in found["cites"]:
                targets.setdefault(cite["text"], set()).add(cite["href"])
            problems += [f"{where}: the citation '{t}' stands for {len(h)} different sources"
                         for t, h in targets.items() if len(h) > 1]
            links |= {link.split("#")[0] for link in found["links"] if link.startswith(site["origin"])}
            page.close()
    finally:
        context.close()
    print(f"\n{width}: seconds spent " + ", ".join(f"{k} {v:.1f}" for k, v in spent.items()))
    if shots_missed:
        print(f"\n{width}: screenshots not taken (the browser did not paint in time): {shots_missed}")
    return problems, links


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_learner_walks_every_page(browser: Any, site: dict[str, Any], screenshots: Path, width: str) -> None:
    start = time.perf_counter()
    problems, links = _walk(browser, site, width, screenshots)
    # Every internal link, followed as a learner would (a link that lost the sub-path answers 404).
    bad = {link: code for link in sorted(links) if (code := _status(link)) != 200}
    problems += [f"[{width}] internal link answers {code}: {link}" for link, code in bad.items()]
    print(f"\n{width}: walked {len(site['pages'])} pages and {len(links)} internal links in "
          f"{time.perf_counter() - start:.1f} s; screenshots in {screenshots}")
    assert not problems, "\n".join(problems)


def test_every_download_resolves_under_the_sub_path(site: dict[str, Any]) -> None:
    # The pages' JSON as the browser fetches it (the download menu is built from it).
    by_location = {p["location"]: p["slug"] for p in site["pages"]}
    for notebook in LESSONS:
        slug = by_location[f"/notebooks/{notebook.name}"]
        data = json.loads((site["html"] / f"{slug}.json").read_text())
        (ipynb,) = [e for e in data["frontmatter"].get("exports", []) if e.get("format") == "ipynb"]
        assert ipynb["url"].startswith(BASE + "/"), f"{notebook.name}: download link {ipynb['url']} lacks {BASE}"
        with urllib.request.urlopen(urljoin(site["origin"], ipynb["url"]), timeout=30) as answer:
            assert answer.status == 200
            downloaded = json.loads(answer.read())
        source = json.loads(notebook.read_text())
        assert len(downloaded["cells"]) == len(source["cells"]), f"{notebook.name}: the download is another notebook"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_published_log_reader_flags_each_casebook_trace(browser: Any, site: dict[str, Any], width: str) -> None:
    """Lesson 10's reader on the built site, no kernel: pick each casebook trace, read the flags it shows.

    The flags must be the monitor's (Python's ``check_run`` on the same trace), in order, with their trainer steps;
    the widget must stay inside its column at this width.
    """
    from kl_lessons.casebook import CASES, read_case
    from kl_lessons.run_logs import check_run

    entry = next(e for e in REGISTRY if e.module == "log_reader.js")
    info = next(p for p in site["pages"] if p["location"].endswith(Path(entry.notebook).name))
    context = browser.new_context(viewport=WIDTHS[width])
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.route(re.compile(rf"^(?!{re.escape(site['origin'])}/|data:|blob:)"), _route_cdn([]))
        page.goto(f"{site['base']}/{info['slug']}", wait_until="networkidle")
        host = page.locator(".myst-anywidget").first
        host.wait_for(state="attached", timeout=WAIT_MS)
        host.evaluate("(el) => el.scrollIntoView({ block: 'center' })")
        select = host.locator("select[data-key='case']")
        select.wait_for(state="visible", timeout=WAIT_MS)
        for case in CASES:
            run = read_case(case.name)
            want = [f"{i + 1}. {w.check}, trainer step {run.steps[w.step]:g}" for i, w in enumerate(check_run(run))]
            select.select_option(case.name)
            shown = host.locator(".kl-flags li").all_inner_texts()
            got = [text.split(" (line")[0] for text in shown] if want else shown
            assert got == (want or ["No flag: every check that could run passed."]), (width, case.name, shown)
        wider = host.evaluate("(el) => el.scrollWidth - el.clientWidth")
        assert wider <= 1, f"[{width}] the log reader is {wider} px wider than its column"
        assert errors == []
    finally:
        context.close()
