"""Build the MyST site offline and report every warning.

``myst build --site --strict`` exits 0 even when a citation or cross-reference does
not resolve, so this reads the output too. The real theme (``book-theme``) needs a
download, so the build runs on a staged copy whose template is a local stand-in.

Usage: ``python scripts/site_check.py [extra.ipynb ...]`` (extra pages are appended
to the toc, handy while drafting a lesson). Exits 1 on any warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = ROOT / "tests" / "site_template"
CONTENT = ["myst.yml", "index.md", "cheatsheet.md", "references.bib", "notebooks", "kl_lessons/web"]
WARNING = re.compile(r"⚠️|⛔|\berror\b", re.IGNORECASE)


def stage(where: Path, extra_pages: list[str] = ()) -> Path:
    """Copy the site's sources into ``where``, pointing the template at the stand-in."""
    for name in CONTENT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, where / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        elif src.exists():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, where / name)
    config = (where / "myst.yml").read_text()
    if "template: book-theme" not in config:
        raise SystemExit("myst.yml must keep `site.template: book-theme` for published builds")
    config = config.replace("template: book-theme", f"template: {STAND_IN}")
    for page in extra_pages:
        if f"- file: {page}" in config:
            continue  # already in the toc
        config = config.replace("  toc:\n", f"  toc:\n    - file: {page}\n", 1)
    (where / "myst.yml").write_text(config)
    return where


def build(where: Path) -> tuple[int, str, list[str]]:
    """Run the strict content build in ``where``; return (exit code, output, warning lines)."""
    myst = shutil.which("myst") or str(Path(sys.executable).parent / "myst")
    done = subprocess.run(
        [myst, "build", "--site", "--strict"], cwd=where, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    output = done.stdout + done.stderr
    return done.returncode, output, [line for line in output.splitlines() if WARNING.search(line)]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        code, output, warnings = build(stage(Path(tmp), argv))
    print(output)
    if code or warnings:
        print(f"FAILED: exit code {code}, {len(warnings)} warning line(s)")
        return 1
    print("site builds offline with no warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
