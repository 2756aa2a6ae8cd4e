"""Write the syllabus, rendered from the lesson registry (``kl_lessons/lessons.py``), into the README and the home page.

``README.md`` holds a table and ``index.md`` a numbered list, each between a start and an end comment line;
everything between them is replaced, everything else is left as it is. A new lesson is one registry entry, and
this script (which ``scripts/execute_notebooks.py`` also runs) puts it on both pages.

Usage: ``python scripts/syllabus.py`` rewrites the pages; ``--check`` only reports the pages that are out of
date and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(ROOT / "scripts"))

import page_blocks  # noqa: E402
from kl_lessons.lessons import syllabus_list, syllabus_table  # noqa: E402

NOTE = "syllabus: {} (written by scripts/syllabus.py from kl_lessons/lessons.py; edit it there)"
#: Page → (how a comment line opens, how it closes, the renderer of what goes between).
PAGES: dict[str, tuple[str, str, Callable[[], str]]] = {
    "README.md": ("<!-- ", " -->", syllabus_table),   # an HTML comment: GitHub shows nothing
    "index.md": ("% ", "", syllabus_list),             # MyST's comment line
}


def updated(text: str, page: str) -> str:
    """``text`` with its syllabus block re-rendered; ``ValueError`` unless it holds exactly one block."""
    opens, closes, render = PAGES[page]
    start, end = opens + NOTE.format("start") + closes, opens + "syllabus: end" + closes
    block = re.compile("^" + re.escape(opens + "syllabus: start") + r"[^\n]*\n.*?^" + re.escape(end) + "$",
                       re.MULTILINE | re.DOTALL)
    if len(block.findall(text)) != 1:
        raise ValueError(f"{page} must hold exactly one syllabus block between {start!r} and {end!r}")
    return block.sub(lambda _: f"{start}\n\n{render()}\n\n{end}", text)


def stale(root: Path = ROOT) -> list[str]:
    """The pages whose syllabus differs from what the registry renders."""
    return page_blocks.stale(root, PAGES, updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report out-of-date pages and exit 1, writing nothing")
    args = parser.parse_args(argv)
    return page_blocks.write_or_check(ROOT, PAGES, updated, "syllabus is", "scripts/syllabus.py", args.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
