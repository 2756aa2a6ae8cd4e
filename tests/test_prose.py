"""The prose a reader sees: no unfilled format placeholders, and author–year citations that agree with the bibliography.

A format call that never ran leaves ``{}`` or ``{name}`` in the text, as in "upbeat words ({})". Markdown legitimately
holds braces too: MyST directives (```{exercise}), roles ({math}`x`), LaTeX (\\frac{a}{b}, inside $…$), heading
anchors ({#label}), and the JSON body of an ``{anywidget}`` block. :func:`placeholders` strips all of those and
reports the braces that are left; the tests below run it on planted examples first, then on every lesson's Markdown
cells and every Markdown page.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "node_modules", "_build", ".git", ".ipynb_checkpoints", ".pytest_cache"}

#: Format placeholders: ``{}``, ``{0}``, ``{name}``, ``{x.y}``, ``{x[0]}``, ``{x!r}``, ``{value:.3f}``.
PLACEHOLDER = re.compile(r"\{(?:[A-Za-z_][\w.]*(?:\[[^\]{}]*\])?|\d+)?(?:![rsa])?(?::[^{}\s]*)?\}")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*([^\s`]*)")
ROLE = re.compile(r"\{[A-Za-z][\w:-]*\}(?=`)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\])+?\$")
PAREN_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
ANCHOR = re.compile(r"\{[#.][\w-]+\}")


def _prose_lines(text: str) -> list[str]:
    """The lines a reader sees as prose: code and JSON bodies dropped, directive headers and options dropped.

    A directive's body (an exercise, a solution, a figure caption) is prose and stays; a fence with a language
    (python, json, md …) or a directive that holds data or code ({anywidget}, {code-cell}) is dropped whole.
    """
    kept: list[str] = []
    stack: list[tuple[str, bool]] = []  # (fence, is prose)
    for line in text.splitlines():
        m = FENCE.match(line)
        if m and stack and m.group(2).startswith(stack[-1][0][0]) and len(m.group(2)) >= len(stack[-1][0]) \
                and not m.group(3) and not m.group(4):
            stack.pop()  # a closing fence
            continue
        if m and (not stack or stack[-1][1]):
            directive = m.group(3)  # after a directive comes its argument (a title); otherwise a language
            prose = directive is not None and directive not in ("{anywidget}", "{code-cell}", "{code}", "{math}")
            stack.append((m.group(2), prose))
            continue
        if stack and not stack[-1][1]:
            continue
        if stack and re.match(r"^\s*:[\w-]+:", line):
            continue  # a directive option such as ":label: ex-01-bits"
        kept.append(line)
    return kept


def placeholders(text: str) -> list[str]:
    """Unfilled format placeholders left in Markdown ``text``, as they appear."""
    prose = "\n".join(_prose_lines(text))
    for pattern in (ROLE, INLINE_CODE, DISPLAY_MATH, PAREN_MATH, INLINE_MATH, ANCHOR):
        prose = pattern.sub(" ", prose)
    return PLACEHOLDER.findall(prose)


def _markdown_sources() -> list[tuple[str, str]]:
    """(where, text) for every Markdown cell of every lesson and every Markdown page of the repository."""
    found = []
    for path in sorted(ROOT.rglob("*.md")):
        if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
            found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                found.append((f"{path.relative_to(ROOT)} cell {i}", cell.source))
    return found


SOURCES = _markdown_sources()

# ---- the detector, tested on planted examples first


@pytest.mark.parametrize("planted", [
    "upbeat words ({}) earn a point", "the reward is {reward:.2f} points", "KL = {kl} nats", "item {0} of {1}",
    "shown as {value!r}", "```{exercise} Title\n:label: ex-x\nSolve for {beta}.\n```",
    "````{solution} ex-x\n:class: dropdown\nThe answer is {answer}.\n```python\nx = 1\n```\n````",
])
def test_a_planted_placeholder_is_found(planted: str) -> None:
    assert placeholders(planted), planted


@pytest.mark.parametrize("legitimate", [
    "```{exercise} Which mode?\n:label: ex-01-which-mode\nA task.\n```",
    "The value {math}`x^{2}` and the {ref}`sec-x` section.",
    r"$\frac{a}{b} + e^{r/\beta}$ and $$\sum_{t} \ell_{t}$$",
    r"where \(\mathrm{KL}_{t}\) is small",
    "```python\nprint(f\"{kl:.3f}\")\n```",
    "`````{figure}\n:label: fig-x\n\n```{anywidget} ../x.js\n{\n  \"beta\": 0.1,\n  \"labels\": {\"a\": 1}\n}\n```\n\n"
    "A caption.\n`````",
    "## A heading {#my-anchor}",
    "Inline code `f\"{x}\"` is code, not prose.",
    "````md\n```{exercise} Short title\n:label: ex-01-bits\nThe task {x}\n```\n````",
])
def test_legitimate_braces_are_not_flagged(legitimate: str) -> None:
    assert placeholders(legitimate) == [], legitimate


def test_the_detector_sees_prose_after_a_code_block_and_inside_a_directive() -> None:
    text = "```python\nx = 1\n```\nThen {} appears.\n```{note}\nAnd {name} here.\n```"
    assert placeholders(text) == ["{}", "{name}"]


# ---- the course


@pytest.mark.parametrize(("where", "text"), SOURCES, ids=[w for w, _ in SOURCES])
def test_no_unfilled_placeholder_in_prose(where: str, text: str) -> None:
    assert not placeholders(text), f"{where}: unfilled placeholder(s) {placeholders(text)}"


# ---- author–year citations written out in prose agree with references.bib

CITED = re.compile(r"\b([A-Z][a-zà-ÿ'-]+) et al\.?,? \(?(\d{4})\)?")


def _bib_years() -> dict[str, set[str]]:
    """First author's surname → the years of their entries in references.bib."""
    years: dict[str, set[str]] = {}
    for entry in re.split(r"\n@", (ROOT / "references.bib").read_text(encoding="utf-8")):
        author, year = re.search(r"author\s*=\s*\{+([^,}]+)", entry), re.search(r"year\s*=\s*\{?(\d{4})", entry)
        if author and year:
            years.setdefault(author.group(1).strip(), set()).add(year.group(1))
    return years


def _captions() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code":
                lines = [ln for ln in cell.source.splitlines() if ln.startswith("#| caption:")]
                found += [(f"{path.relative_to(ROOT)} cell {i} caption", ln) for ln in lines]
    return found


def test_written_out_citation_years_agree_with_the_bibliography() -> None:
    years = _bib_years()
    assert years["Gao"] == {"2023"}  # the case that prompted this test: a caption said "Gao et al. (2022)"
    wrong = [f"{where}: {name} et al. ({year}), bibliography has {sorted(years[name])}"
             for where, text in SOURCES + _captions()
             for name, year in CITED.findall(text) if name in years and year not in years[name]]
    assert not wrong, "\n".join(wrong)


def test_the_citation_check_catches_a_planted_wrong_year() -> None:
    years = _bib_years()
    hits = CITED.findall("as in Gao et al. (2022), and Gao et al. 2023")
    assert hits == [("Gao", "2022"), ("Gao", "2023")]
    assert [year for name, year in hits if year not in years[name]] == ["2022"]
