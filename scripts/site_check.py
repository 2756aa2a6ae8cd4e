"""Build the course site the way the deploy workflow does, and report every warning.

``myst build --html --strict`` with ``BASE_URL`` set to a sub-path, on a staged copy of the
site's sources, with the real book theme. ``--strict`` alone exits 0 even when a citation or
cross-reference does not resolve, so this reads the output too.

The theme: when ``../shared/book-theme`` (a prebuilt copy of the theme) exists beside the
repository, it is copied, without its file modes, to ``_build/templates/site/myst/book-theme``
in the staged copy, where mystmd looks for ``site: template: book-theme`` and then downloads
nothing. Elsewhere mystmd downloads the theme as usual.

Usage: ``python scripts/site_check.py [--keep DIR] [extra.ipynb ...]`` (extra pages are appended
to the toc, handy while drafting a lesson; ``--keep DIR`` builds in DIR and leaves the site
in ``DIR/_build/html``). Exits 1 on any warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The prebuilt book theme that developers and CI have beside the repository (read-only on CI).
THEME = ROOT.parent / "shared" / "book-theme"
THEME_DIR = Path("_build") / "templates" / "site" / "myst" / "book-theme"
#: The sub-path the site is served from on GitHub Pages (https://<owner>.github.io/kl-lessons/).
BASE_URL = "/kl-lessons"
#: Everything the site reads besides its pages: config, bibliography, favicon, stylesheet, notebooks, widget modules.
ASSETS = ["myst.yml", "references.bib", "favicon.svg", "site.css", "notebooks", "kl_lessons/web"]
#: ... and every page in the table of contents (read from myst.yml, so a new page is staged without edits here).
CONTENT = ASSETS + sorted({f for f in re.findall(r"^\s*- file:\s*(\S+)", (ROOT / "myst.yml").read_text(), re.MULTILINE)
                           if not f.startswith("notebooks/")})
WARNING = re.compile(r"⚠️|⛔|\berror\b", re.IGNORECASE)
#: Lines of the theme's own local server while it renders the pages (request log, banner).
SERVER_LINE = re.compile(r"^\s*(💌\s*)?(GET|HEAD)\s+/|Update available|Run `pip install -U mystmd`")


def stage(where: Path, extra_pages: list[str] = (), only: list[str] | None = None) -> Path:
    """Copy the site's sources into ``where`` and put the prebuilt theme (if there is one) in place.

    ``extra_pages`` are added to the table of contents. With ``only``, the site is just those pages (the
    configuration and bibliography are the course's): a quick build for checking the build itself.
    """
    names = CONTENT if only is None else ["myst.yml", "references.bib", *only]
    for name in names:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, where / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        elif src.exists():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, where / name)
    config = (where / "myst.yml").read_text()
    if "template: book-theme" not in config:
        raise SystemExit("myst.yml must keep `site.template: book-theme` for published builds")
    if only is not None:
        entries = "".join(f"    - file: {page}\n" for page in only)
        config = re.sub(r"(?m)^  toc:\n(?:    - file: .*\n)+", lambda _: "  toc:\n" + entries, config)
    for page in extra_pages:
        if f"- file: {page}" in config:
            continue  # already in the toc
        config = config.replace("  toc:\n", f"  toc:\n    - file: {page}\n", 1)
    (where / "myst.yml").write_text(config)
    if THEME.is_dir():
        # Plain `cp -r --no-preserve=mode`: the shared copy is read-only on CI, the staged one must not be.
        (where / THEME_DIR).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-r", "--no-preserve=mode", str(THEME), str(where / THEME_DIR)], check=True)
    return where


def build(where: Path, html: bool = True, base_url: str = BASE_URL) -> tuple[int, str, list[str]]:
    """Run the strict build in ``where``; return (exit code, output, warning lines).

    ``html=True`` is the deploy build (``myst build --html``: static pages in ``_build/html``);
    ``html=False`` runs only the content transforms (``myst build --site``), which is quicker.
    """
    myst = shutil.which("myst") or str(Path(sys.executable).parent / "myst")
    done = subprocess.run(
        [myst, "build", "--html" if html else "--site", "--strict"], cwd=where, capture_output=True, text=True,
        timeout=600, env={**os.environ, "NO_COLOR": "1", "BASE_URL": base_url},
    )
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if not SERVER_LINE.search(line)]
    warnings = [line for line in lines if WARNING.search(line) or "failed" in line.lower()]
    return done.returncode, output, warnings


def theme_missing_reason(output: str) -> str | None:
    """Why the build could not get the theme (no prebuilt copy and no download), or None."""
    if THEME.is_dir():
        return None
    if re.search(r"template|book-theme", output, re.IGNORECASE) and re.search(
        r"fetch|download|network|ENOTFOUND|EAI_AGAIN|ECONNREFUSED", output, re.IGNORECASE
    ):
        return f"no prebuilt book theme at {THEME.name} beside the repository and mystmd could not download it"
    return None


def main(argv: list[str]) -> int:
    keep = None
    if argv[:1] == ["--keep"]:
        keep, argv = Path(argv[1]), argv[2:]
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        where = keep or Path(tmp)
        start = time.perf_counter()
        code, output, warnings = build(stage(where, argv))
        seconds = time.perf_counter() - start
    print(output)
    if code or warnings:
        print("\n".join(["warnings:", *warnings]))
        print(f"FAILED: exit code {code}, {len(warnings)} warning line(s)")
        return 1
    print(f"the site builds with the book theme and no warning in {seconds:.1f} s (BASE_URL={BASE_URL})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
