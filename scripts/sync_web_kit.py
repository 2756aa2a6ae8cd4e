"""Copy the shared widget kit (``kl_lessons/web/kit.js``) into every widget module.

MyST copies each widget module alone under a hashed name, so a module cannot import a
sibling file. The helpers they share therefore live once in ``kit.js`` and are pasted
into each module between two marker comments; this script rewrites that region.

Usage::

    python scripts/sync_web_kit.py          # rewrite every stale copy
    python scripts/sync_web_kit.py --check  # only report stale copies (exit 1 if any)

The copied text is all of ``kit.js`` after its opening comment (the leading ``//`` lines
up to the first blank line), which explains the file and is not copied.
"""

from __future__ import annotations

import sys
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[1] / "kl_lessons" / "web"
KIT = WEB_DIR / "kit.js"
BEGIN = "// ---- kit.js (generated copy: edit kit.js, then run python scripts/sync_web_kit.py) ----"
END = "// ---- end of the kit.js copy ----"


def kit_body(kit_text: str) -> str:
    """The part of ``kit.js`` that is copied: everything after its opening comment block."""
    lines = kit_text.splitlines()
    at = 0
    while at < len(lines) and lines[at].startswith("//"):
        at += 1
    if at == 0 or at == len(lines) or lines[at].strip():
        raise ValueError("kit.js must open with a // comment block followed by a blank line")
    body = "\n".join(lines[at + 1 :]).strip("\n")
    if BEGIN in body or END in body:
        raise ValueError("kit.js must not contain the copy markers itself")
    return body


def kit_block(kit_text: str) -> str:
    """The whole marked region as it must stand in a module, markers included."""
    return f"{BEGIN}\n\n{kit_body(kit_text)}\n\n{END}"


def marked_region(module_text: str, name: str = "module") -> tuple[int, int]:
    """Start and end offsets of the marked region (from the begin marker to the end of the end marker)."""
    if module_text.count(BEGIN) != 1 or module_text.count(END) != 1:
        raise ValueError(f"{name} must hold the kit begin and end markers exactly once each")
    start = module_text.index(BEGIN)
    end = module_text.index(END) + len(END)
    if end < start:
        raise ValueError(f"{name}: the kit end marker comes before the begin marker")
    return start, end


def synced(module_text: str, kit_text: str, name: str = "module") -> str:
    """``module_text`` with its marked region replaced by the current kit."""
    start, end = marked_region(module_text, name)
    return module_text[:start] + kit_block(kit_text) + module_text[end:]


def widget_modules() -> list[Path]:
    """Every ``.js`` file in the folder except ``kit.js`` itself."""
    return sorted(path for path in WEB_DIR.glob("*.js") if path != KIT)


def main(argv: list[str]) -> int:
    check_only = argv == ["--check"]
    if argv and not check_only:
        print(__doc__)
        return 2
    kit_text = KIT.read_text(encoding="utf-8")
    stale = []
    for path in widget_modules():
        text = path.read_text(encoding="utf-8")
        new = synced(text, kit_text, path.name)
        if new != text:
            stale.append(path.name)
            if not check_only:
                path.write_text(new, encoding="utf-8")
    if check_only:
        print(f"stale kit copies: {', '.join(stale)}" if stale else "every kit copy is up to date")
        return 1 if stale else 0
    print(f"rewrote the kit in: {', '.join(stale)}" if stale else "every kit copy was already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
