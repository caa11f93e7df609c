"""`synspec.format_spec`: spec text in the canonical layout, as `synspec fmt` writes it."""

from __future__ import annotations

__all__ = ["format_spec"]


def format_spec(text: str, *, path: str = "<string>") -> str:
    """The text laid out canonically (comments kept, meaning proved unchanged); a `SpecError`
    with the diagnostics when it has syntax errors (`path` names it in them)."""
    from synspec.api.errors import Diagnostic, SpecError
    from synspec.fmt import FormatError, format_text

    try:
        result = format_text(text, path)
    except FormatError as err:  # the formatter refuses to change a spec's meaning: a bug
        raise RuntimeError(f"{err}; the text was left unchanged") from err
    if result.text is None:
        found = tuple(Diagnostic._of(d) for d in result.diagnostics)
        first = found[0] if found else None
        raise SpecError(f"{path}: not formatted (syntax errors)", found,
                        where=first.location if first else path, hint=first.hint if first else None)
    return result.text
