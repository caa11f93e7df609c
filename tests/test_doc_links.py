"""Links in the documentation resolve: no page points at a file or heading that is gone.

Checks every relative Markdown link `[text](target#anchor)` in README.md and docs/*.md (the
file must exist; an anchor must name a heading of it, slugged as GitHub does), and every plain
mention of a documentation page (`docs/NAME.md`) in those files and in synspec's source, which
is how the docs and docstrings mostly refer to each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = sorted((ROOT / "synspec").rglob("*.py"))

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_DOC_MENTION = re.compile(r"\bdocs/[A-Za-z0-9_.-]+?\.md\b")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in _HEADING.findall(text):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # repeated headings get -1, -2, ...
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def links(page: Path) -> list[str]:
    """Relative link targets of a page, outside code blocks and code spans."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_slug_follows_github() -> None:
    assert slug("Missing values in rules") == "missing-values-in-rules"
    assert slug("Rules: three-valued (Kleene) logic") == "rules-three-valued-kleene-logic"
    assert slug("Hard rules, soft expectations, row_ok") == "hard-rules-soft-expectations-row_ok"
    assert slug("`synspec run`") == "synspec-run"


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_markdown_links_resolve(page: Path) -> None:
    assert broken_links(page) == [], page.relative_to(ROOT)


@pytest.mark.parametrize("files", [PAGES, SOURCES], ids=["docs", "sources"])
def test_mentioned_doc_pages_exist(files: list[Path]) -> None:
    missing = sorted({f"{path.relative_to(ROOT)}: {mention}"
                      for path in files
                      for mention in _DOC_MENTION.findall(path.read_text(encoding="utf-8"))
                      if not (ROOT / mention).is_file()})
    assert not missing


def test_the_checks_catch_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Part `two`\n")
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n[a](#top) [b](other.md#part-two) [c](gone.md) [d](other.md#nope) [e](#gone)\n"
                    "`[code](x.md)`\n\n```\n[fenced](y.md)\n```\n")
    assert links(page) == ["#top", "other.md#part-two", "gone.md", "other.md#nope", "#gone"]
    assert broken_links(page) == ["gone.md: no such file",
                                  "other.md#nope: no heading with anchor #nope in other.md",
                                  "#gone: no heading with anchor #gone in page.md"]
