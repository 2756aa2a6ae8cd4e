"""Write the practice map table, rendered by ``kl_lessons.practice_map``, into every page that shows it.

Each page holds the table between two MyST comment lines (``% practice-map: start …`` and
``% practice-map: end``); everything between them is replaced, everything else is left as it is.
The table is written in one place, the library, so the pages cannot drift apart.

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

from kl_lessons.practice_map import render_table  # noqa: E402

#: The pages that show the table.
PAGES = ("practice.md", "cheatsheet.md")
START = "% practice-map: start (written by scripts/practice_map.py from kl_lessons/practice_map.py; edit it there)"
END = "% practice-map: end"
BLOCK = re.compile(r"^% practice-map: start[^\n]*\n.*?^% practice-map: end$", re.MULTILINE | re.DOTALL)


def updated(text: str, page: str = "page") -> str:
    """``text`` with the block between the markers replaced by the current table; ``ValueError`` if no one block."""
    blocks = BLOCK.findall(text)
    if len(blocks) != 1:
        raise ValueError(f"{page} must hold exactly one practice-map block, found {len(blocks)}")
    # Blank lines around the table keep it a block of its own after the comment lines.
    return BLOCK.sub(lambda _: f"{START}\n\n{render_table()}\n{END}", text)


def stale(root: Path = ROOT) -> list[str]:
    """The pages whose table differs from what the library renders."""
    return [page for page in PAGES if updated((root / page).read_text(), page) != (root / page).read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report out-of-date pages and exit 1, writing nothing")
    args = parser.parse_args(argv)
    out_of_date = stale()
    if args.check:
        for page in out_of_date:
            print(f"{page}: the practice map is out of date; run python scripts/practice_map.py")
        return 1 if out_of_date else 0
    for page in out_of_date:
        path = ROOT / page
        path.write_text(updated(path.read_text(), page))
        print(f"{page}: practice map written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
