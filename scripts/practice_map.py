"""Write the tables rendered by ``kl_lessons.practice_map`` into every page that shows them.

Each page holds a table between two MyST comment lines (``% practice-map: start …`` and ``% practice-map: end``;
likewise ``trainer-table`` and ``logged-keys`` on "β in practice"); everything between them is replaced,
everything else is left as it is. The tables are written in one place, the library, so the pages cannot drift
apart, and their trainer facts are the ones tests/test_trainers.py checks in the trainers' code.

Usage: ``python scripts/practice_map.py`` rewrites the pages; ``--check`` only reports the pages
that are out of date and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(ROOT / "scripts"))

import page_blocks  # noqa: E402
from kl_lessons.practice_map import render_keys_table, render_table, render_trainer_table  # noqa: E402

#: Each block's name -> (how it is rendered, the pages that show it).
BLOCKS = {
    "practice-map": (render_table, ("practice.md", "cheatsheet.md")),
    "trainer-table": (render_trainer_table, ("practice.md",)),
    "logged-keys": (render_keys_table, ("practice.md",)),
}
#: The pages that show a block.
PAGES = tuple(dict.fromkeys(page for _, pages in BLOCKS.values() for page in pages))


def start(name: str) -> str:
    return f"% {name}: start (written by scripts/practice_map.py from kl_lessons/practice_map.py; edit it there)"


START = start("practice-map")
END = "% practice-map: end"


def _block(name: str) -> re.Pattern:
    return re.compile(rf"^% {name}: start[^\n]*\n.*?^% {name}: end$", re.MULTILINE | re.DOTALL)


def updated(text: str, page: str = "page", name: str = "practice-map") -> str:
    """``text`` with block ``name`` replaced by the current table; ``ValueError`` if the page has not one such block."""
    pattern = _block(name)
    blocks = pattern.findall(text)
    if len(blocks) != 1:
        raise ValueError(f"{page} must hold exactly one {name} block, found {len(blocks)}")
    # Blank lines around the table keep it a block of its own after the comment lines.
    return pattern.sub(lambda _: f"{start(name)}\n\n{BLOCKS[name][0]()}\n% {name}: end", text)


def rewritten(text: str, page: str) -> str:
    """``text`` with every block the page shows brought up to date."""
    for name, (_, pages) in BLOCKS.items():
        if page in pages:
            text = updated(text, page, name)
    return text


def stale(root: Path = ROOT) -> list[str]:
    """The pages with a table that differs from what the library renders."""
    return page_blocks.stale(root, PAGES, rewritten)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report out-of-date pages and exit 1, writing nothing")
    args = parser.parse_args(argv)
    return page_blocks.write_or_check(ROOT, PAGES, rewritten, "tables are", "scripts/practice_map.py", args.check)


if __name__ == "__main__":
    sys.exit(main())
