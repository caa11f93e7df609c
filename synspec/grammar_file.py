"""Finding grammar/synspec.lark, the one grammar of the language.

From a checkout (editable install) it is `<repo>/grammar/synspec.lark`; in a wheel
the build copies it to `synspec/_grammar/synspec.lark`. This module is the only
place that knows both.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (
    _PACKAGE_DIR / "_grammar" / "synspec.lark",       # installed wheel
    _PACKAGE_DIR.parent / "grammar" / "synspec.lark",  # checkout / editable install
)


def grammar_path() -> Path:
    """Path of the language grammar; raises FileNotFoundError naming where it looked."""
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in _CANDIDATES)
    raise FileNotFoundError(f"synspec.lark not found (looked in: {looked}); reinstall synspec")


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
