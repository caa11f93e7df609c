"""`synspec docs`: a static HTML data dictionary, one page per spec and an index.

`page.py` owns the HTML (and its escaping), `plots.py` the small plots of each column's declared
distribution; this module owns the files: their names (`NAME.html` after the dataset, unique,
and `index.html`), refusing to overwrite without `force`, and writing each atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

from synspec import ir
from synspec.atomic import write_text
from synspec.dictionary.page import render_index, render_spec
from synspec.errors import UserError

__all__ = ["render_index", "render_spec", "write_dictionary"]


def _file_name(spec: ir.Spec, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.name) or "spec"
    if stem.lower() == "index":
        stem = "index_spec"
    name, i = f"{stem}.html", 2
    while name in taken:
        name, i = f"{stem}_{i}.html", i + 1
    taken.add(name)
    return name


def write_dictionary(specs: list[ir.Spec], out: Path, *, force: bool = False) -> list[Path]:
    """Write a page per spec and `index.html` into the folder `out` (created if missing)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"output is not a folder: {out}", where=str(out),
                        hint="pass a folder to -o, e.g. site/")
    taken: set[str] = set()
    names = [_file_name(spec, taken) for spec in specs]
    paths = [out / name for name in names] + [out / "index.html"]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]} already exists", where=str(existing[0]),
                        hint="pass --force to overwrite the pages, or choose another -o folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create {out}: {err.strerror or err}", where=str(out),
                        hint="choose a folder you can write") from None
    pages = [(name, render_spec(spec)) for name, spec in zip(names, specs, strict=True)]
    for name, html in pages:
        write_text(out / name, html)
    write_text(out / "index.html", render_index([(name, spec.name, spec.description)
                                                 for name, spec in zip(names, specs, strict=True)]))
    return paths
