"""Page weight: the bytes each page of the built site transfers on a first load, as GitHub Pages serves them.

Builds the site as the deploy does (``scripts/site_check.py``: real book theme, ``BASE_URL`` sub-path),
or reads an existing build (``--html DIR``), opens every page once in headless Chromium (Debian's
``/usr/bin/chromium``) with an empty cache, scrolls it through (live figures load as they come into view)
and records every response from the site. Each body is gzip-compressed (level 6, as Pages compresses text;
PNG and other already-compressed files are counted as they are) and split into:

- theme: files the book theme ships (its ``public/`` folder: scripts, styles, fonts);
- course: everything else (the page's HTML and JSON, figures, widget modules and their data).

Usage: ``python benchmarks/page_weight.py [--html DIR] [--json OUT]``. Prints a table; no assertion.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import importlib.util
import json
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_check", ROOT / "scripts" / "site_check.py")
site_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_check)
BASE = site_check.BASE_URL
COMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".ico")


def gzip_size(name: str, body: bytes) -> int:
    return len(body) if name.lower().endswith(COMPRESSED) else len(gzip.compress(body, compresslevel=6))


def theme_files(html: Path) -> set[str]:
    """Paths (relative to the site root) that come from the theme rather than from the course."""
    public = site_check.THEME / "public"
    names = {str(p.relative_to(public)) for p in public.rglob("*") if p.is_file()} if public.is_dir() else set()
    names |= {"myst-theme.css", "favicon.ico"}
    # The theme's own client bundles (Remix entry, root, routes, shared chunks, assets).
    build = html / "build"
    for path in build.rglob("*"):
        rel = path.relative_to(build)
        if path.is_file() and (rel.parts[0] in {"_assets", "_shared", "routes"}
                               or rel.name.split("-")[0] in {"entry.client", "root", "manifest"}):
            names.add(str(path.relative_to(html)))
    return names


class _SubPath(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if not route.startswith(BASE):
            return str(Path(self.directory) / "\0outside")
        return super().translate_path(path[len(BASE):] or "/")

    def log_message(self, *args: object) -> None:
        pass


def measure(html: Path) -> dict[str, dict[str, int]]:
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_SubPath, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    project = json.loads((html / "config.json").read_text())["projects"][0]
    slugs = [""] + [p["slug"] for p in project["pages"] if p.get("slug")]
    theme = theme_files(html)
    results = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            for slug in slugs:
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(origin) else r.abort())
                seen: dict[str, bytes] = {}
                page.on("response", lambda resp: seen.setdefault(resp.url, resp) if resp.url.startswith(origin) else None)
                page.goto(f"{origin}{BASE}/{slug}", wait_until="networkidle")
                page.evaluate("""async () => { for (let y = 0; y < document.documentElement.scrollHeight; y += 700) {
                                   window.scrollTo(0, y); await new Promise((r) => setTimeout(r, 40)); } }""")
                page.wait_for_load_state("networkidle")
                row = {"theme_gz": 0, "course_gz": 0, "raw": 0, "files": 0}
                for url, resp in list(seen.items()):
                    try:
                        body = resp.body()
                    except Exception:  # noqa: BLE001 - a redirect has no body
                        continue
                    rel = urlsplit(url).path[len(BASE):].lstrip("/")
                    size = gzip_size(rel or "index.html", body)
                    row["theme_gz" if rel in theme else "course_gz"] += size
                    row["raw"] += len(body)
                    row["files"] += 1
                results["/" + slug] = row
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, help="an existing build (_build/html built with BASE_URL=/kl-lessons)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        html = args.html
        if html is None:
            code, output, _ = site_check.build(site_check.stage(Path(tmp)))
            if code:
                raise SystemExit(output)
            html = Path(tmp) / "_build" / "html"
        results = measure(html)
    print(f"{'page':24s} {'total gz kB':>11s} {'theme gz kB':>11s} {'course gz kB':>12s} {'raw kB':>8s} files")
    for page, r in results.items():
        total = r["theme_gz"] + r["course_gz"]
        print(f"{page:24s} {total / 1e3:11.0f} {r['theme_gz'] / 1e3:11.0f} {r['course_gz'] / 1e3:12.0f} "
              f"{r['raw'] / 1e3:8.0f} {r['files']:5d}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
