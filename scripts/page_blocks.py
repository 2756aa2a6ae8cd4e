"""Pages that hold a generated block: find the out-of-date ones, rewrite them, or only report them.

Shared by the scripts that render a block from one source in the library into the pages that show it
(``scripts/syllabus.py``, ``scripts/practice_map.py``). Everything outside a page's block is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable


def stale(root: Path, pages: Iterable[str], updated: Callable[[str, str], str]) -> list[str]:
    """The pages whose text differs from ``updated(text, page)``."""
    return [page for page in pages if updated((root / page).read_text(), page) != (root / page).read_text()]


def write_or_check(root: Path, pages: Iterable[str], updated: Callable[[str, str], str], what: str, script: str,
                   check: bool) -> int:
    """Rewrite the stale pages (``check`` False) or report them and return 1 if there are any (``check`` True).

    ``what`` names the block in the messages, with its verb: "syllabus is", "tables are".
    """
    out_of_date = stale(root, pages, updated)
    if check:
        for page in out_of_date:
            print(f"{page}: the {what} out of date; run python {script}")
        return 1 if out_of_date else 0
    for page in out_of_date:
        path = root / page
        path.write_text(updated(path.read_text(), page))
        print(f"{page}: {what.rsplit(' ', 1)[0]} written")
    return 0
