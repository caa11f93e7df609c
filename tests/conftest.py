"""Shared test fixtures: paths to the repository, its specs and the real data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
# Real data lives beside the checkout (never committed, except cirrhosis.csv if vendored).
DATA = Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
# The weights cache (and the weights-hash cache) of a test session lives in a folder of its
# own, never in the user's ~/.cache: a model test then also exercises the cold load. Child
# processes (the resume test's `synspec run`) inherit it.
os.environ["SYNSPEC_CACHE_DIR"] = tempfile.mkdtemp(prefix="synspec-test-cache-")
atexit.register(shutil.rmtree, os.environ["SYNSPEC_CACHE_DIR"], True)


def real_csv(name: str) -> Path:
    path = DATA / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"real data {path} not present")
    return path


@pytest.fixture(autouse=True)
def _model_only_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the real model fails in a test not marked `model`, so `-m "not model"` stays quick
    and a test that should fail before the model loads (a usage error) proves that it does."""
    if request.node.get_closest_marker("model") is not None:
        return
    from synspec.generate import model

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("this test loads the model: mark it `model`, or make it fail earlier")

    monkeypatch.setattr(model, "load", refuse)


@pytest.fixture
def repo_root() -> Path:
    return ROOT
