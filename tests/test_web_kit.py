"""The widget modules' copies of the shared kit must match ``kl_lessons/web/kit.js``.

Each module in ``kl_lessons/web`` has to be self-contained (MyST copies it alone, under a
hashed name), so the helpers they share are kept once in ``kit.js`` and pasted into every
module by ``scripts/sync_web_kit.py``. These tests catch a copy edited by hand or a kit
edit that was never synced.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kl_lessons.web_widgets import MODULES, WEB_DIR

ROOT = Path(__file__).resolve().parents[1]
SYNC_SCRIPT = ROOT / "scripts" / "sync_web_kit.py"
FIX = "run `python scripts/sync_web_kit.py` to copy kit.js into the modules"


def _load_sync():
    spec = importlib.util.spec_from_file_location("sync_web_kit", SYNC_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_sync()
KIT_TEXT = (WEB_DIR / "kit.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(MODULES.values()))
def test_module_carries_the_current_kit(name: str) -> None:
    text = (WEB_DIR / name).read_text(encoding="utf-8")
    assert text.count(sync.BEGIN) == 1 and text.count(sync.END) == 1, f"{name} lacks the kit markers; {FIX}"
    start, end = sync.marked_region(text, name)
    assert text[start:end] == sync.kit_block(KIT_TEXT), f"the kit copy in {name} differs from kit.js; {FIX}"


def test_the_sync_script_and_the_widgets_agree_on_the_modules() -> None:
    # kit.js is the only .js file here that is not a widget, and no page embeds it.
    assert [p.name for p in sync.widget_modules()] == sorted(MODULES.values())
    assert "kit.js" not in MODULES.values()
    assert "kit.js" not in (WEB_DIR / "EMBED.md").read_text(encoding="utf-8")


def test_kit_body_leaves_out_the_opening_comment_and_keeps_the_code() -> None:
    body = sync.kit_body(KIT_TEXT)
    assert not body.startswith("//") and body == body.strip("\n")
    for helper in ("const SVG_NS", "const OKABE_ITO", "const KIT_CSS", "function bindSlider", "function readModel"):
        assert helper in body


def test_syncing_restores_a_hand_edited_copy_and_is_idempotent() -> None:
    original = (WEB_DIR / MODULES[1]).read_text(encoding="utf-8")
    tampered = original.replace('const SVG_NS = "http://www.w3.org/2000/svg";', "const SVG_NS = null;")
    assert tampered != original
    restored = sync.synced(tampered, KIT_TEXT)
    assert restored == original
    assert sync.synced(restored, KIT_TEXT) == restored


@pytest.mark.parametrize(
    "text",
    [
        "export default {};\n",  # no markers at all
        f"{sync.BEGIN}\n{sync.BEGIN}\n{sync.END}\n",  # a marker twice
        f"{sync.END}\n{sync.BEGIN}\n",  # markers swapped
    ],
)
def test_badly_marked_modules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        sync.synced(text, KIT_TEXT, "broken.js")


def test_a_kit_without_its_opening_comment_is_refused() -> None:
    with pytest.raises(ValueError, match="comment block"):
        sync.kit_body("const SVG_NS = 1;\n")
