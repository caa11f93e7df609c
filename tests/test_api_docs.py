"""docs/api.md's examples run, and the API's public names are pinned.

The examples run without a model (the autouse fixture in conftest refuses to load one), so
they stay fast; `synspec.__all__` is the public API, and docs/api.md names no other
`synspec.` attribute.
"""

from __future__ import annotations

import doctest
import importlib
import re

import pytest
from conftest import ROOT

import synspec

PUBLIC = ["Diagnostic", "EvaluationResult", "RunSummary", "ServerSettings", "Spec", "SpecError", "UserError",
          "ValidationReport", "__version__", "evaluate", "format_spec", "infer"]


def test_docs_api_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS, raise_on_error=False, report=True)
    assert result.attempted > 10
    assert result.failed == 0


def test_public_names_are_pinned() -> None:
    assert sorted(synspec.__all__) == sorted(PUBLIC)
    for name in synspec.__all__:
        assert getattr(synspec, name) is not None
    with pytest.raises(AttributeError):
        synspec.not_a_name  # noqa: B018
    # Loading the namesake subpackages leaves the functions in place.
    importlib.import_module("synspec.evaluate.pipeline")
    importlib.import_module("synspec.infer.read")

    assert callable(synspec.evaluate) and callable(synspec.infer)


def test_docs_mention_only_public_names() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\bsynspec\.([A-Za-z_]\w*)", text))
    assert named <= {*PUBLIC, "__all__"}, named - set(PUBLIC)
    for name in PUBLIC:
        assert f"synspec.{name}" in text, name


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, synspec; synspec.Spec; synspec.SpecError; "
            "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
