"""The typed run manifest: write and read back, versions, resume fingerprints, and its
documented schema (docs/generation.md lists every field)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

from synspec.errors import UserError
from synspec.generate import manifest

V1 = ROOT / "tests" / "fixtures" / "run" / "manifest_v1.json"


def sample_manifest() -> manifest.RunManifest:
    """A version 1 manifest written by the synspec of 2026-11 (diabetes, --no-seeding), upgraded."""
    return manifest.parse(json.loads(V1.read_text()), V1)


def test_a_version_1_manifest_reads_as_the_current_schema() -> None:
    saved = sample_manifest()
    assert saved.manifest_version == manifest.MANIFEST_VERSION
    assert saved.engine == saved.fingerprint.engine == "local"  # was "llguidance"
    assert saved.seeding == "none" and saved.fingerprint.seeding is None  # --no-seeding, not recorded
    assert saved.progress.rows == 5 and saved.counts.drawn_rows == 0 and saved.starving_rule is None
    assert saved.examples is None


def test_write_is_atomic_and_reads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    saved = sample_manifest()
    manifest.save(path, saved)
    text = path.read_text()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert json.loads(text)["yield"] == 1.0 and "yield_" not in text
    assert manifest.read(path) == saved
    path.write_text("{torn")
    assert manifest.read(path) is None
    assert manifest.read(tmp_path / "absent.json") is None


def test_mismatches_name_each_differing_field_and_skip_unrecorded_ones() -> None:
    saved = sample_manifest()
    now = saved.model_copy(deep=True)
    assert manifest.mismatches(saved, now) == []
    now.fingerprint.seed = 2
    now.fingerprint.seeding = "marginals"  # version 1 did not record it: not compared
    assert manifest.mismatches(saved, now) == ["seed: run on disk has 4, now 2"]
    saved.fingerprint.seeding = "none"
    assert len(manifest.mismatches(saved, now)) == 2


@pytest.mark.parametrize("version, message", [
    (3, "version 3; this synspec reads versions 1 to 2"),
    (None, "version None"),
])
def test_unknown_versions_are_user_errors(version, message: str) -> None:
    data = json.loads(V1.read_text())
    data["manifest_version"] = version
    with pytest.raises(UserError, match=re.escape(message)):
        manifest.parse(data, V1)


def test_a_damaged_manifest_is_a_user_error() -> None:
    data = json.loads(V1.read_text())
    del data["fingerprint"]["seed"]
    with pytest.raises(UserError, match="damaged: fingerprint.seed"):
        manifest.parse(data, V1)


def _documented_fields(section: str) -> set[str]:
    """Field names in the first column of the Markdown table under `section` in docs/generation.md."""
    text = (ROOT / "docs" / "generation.md").read_text()
    body = text.split(section, 1)[1]
    names = set()
    for line in body.splitlines()[1:]:
        if line.startswith("#"):
            break
        match = re.match(r"\|\s*`([^`]+)`", line)
        if match:
            names.add(match.group(1))
    return names


def test_every_manifest_field_is_documented() -> None:
    documented = _documented_fields("### The run manifest")
    records = {
        "": manifest.RunManifest, "spec.": manifest.SpecRecord, "model.": manifest.ModelRecord,
        "examples.": manifest.ExamplesRecord, "grammar.": manifest.GrammarRecord,
        "fingerprint.": manifest.Fingerprint, "progress.": manifest.ProgressRecord,
        "counts.": manifest.Counts, "timings.": manifest.Timings, "compute.": manifest.ComputeRecord,
    }
    fields = {prefix + (info.alias or name) for prefix, model in records.items()
              for name, info in model.model_fields.items()}
    assert fields - documented == set()
    assert documented - fields == set()
