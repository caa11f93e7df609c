"""Shared test fixtures: paths to the repository, its specs and the real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
# Real data lives beside the checkout (never committed, except cirrhosis.csv if vendored).
DATA = Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def real_csv(name: str) -> Path:
    path = DATA / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"real data {path} not present")
    return path


@pytest.fixture
def repo_root() -> Path:
    return ROOT
