"""End-to-end `synspec run`: usage errors (no model), and a few rows per spec on the real model.

Tests that load the offline model are marked `model`, one by one; in the others loading fails
(conftest.py), so they prove that a usage error is reported before the model loads. The model
is loaded once per test process (`model.load_cached`); the resume test needs a second process
so that it can be killed with SIGKILL mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, real_csv

from synspec.cli import main
from synspec.passes import check_file

DIABETES = SPECS / "diabetes.synspec"


def run_cli(*args: str | Path) -> int:
    return main(["run", *[str(a) for a in args]])


def read_rows(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def assert_valid(spec_path: Path, out: Path, n: int) -> None:
    """Every row passes the spec's checker; keys are numbered 1..n; decimals have their places."""
    import numpy as np

    from synspec import data
    from synspec.targets.checker import compile_checker

    spec = check_file(spec_path).spec
    raw = data.read_raw(out, spec)
    assert list(raw.columns) == list(spec.column_names)
    assert len(raw) == n
    report = compile_checker(spec).run(data.to_typed(raw, spec))
    # Keys are numbered 1..n by synspec (checked below), not drawn from the real IDs' range.
    failing = [o.name for o in report.outcomes
               if o.hard and np.any(o.failed) and not set(o.columns) <= set(spec.keys)]
    assert not failing
    for column in spec.columns:
        cells = raw[column.name]
        if column.is_key:
            assert cells.tolist() == [str(i) for i in range(1, n + 1)]
        elif column.kind.value == "decimal":
            present = cells[cells != (column.missing_token or "\0")]
            assert all(len(c.split(".")[1]) == column.places for c in present), column.name


@pytest.mark.model
@pytest.mark.parametrize("name", ["diabetes", "cirrhosis", "stroke"])
def test_run_writes_valid_rows_and_manifest(tmp_path: Path, name: str) -> None:
    spec_path = SPECS / f"{name}.synspec"
    out = tmp_path / f"{name}.csv"
    # -n 5 with batch 4: the second batch, a top-up (`pipeline.batch_rows`), makes rows the
    # run does not need.
    assert run_cli(spec_path, "-n", 5, "-o", out, "--batch-size", 4, "--seed", 1) == 0
    assert_valid(spec_path, out, 5)
    manifest = json.loads((tmp_path / f"{name}.csv.manifest.json").read_text())
    assert manifest["status"] == "complete"
    counts = manifest["counts"]
    assert counts["accepted"] == 5
    assert 6 <= counts["generated"] <= 8
    assert manifest["style"] == "clin_rule" and manifest["seed"] == 1 and manifest["batch_size"] == 4
    assert manifest["model"]["weights_hash"].startswith("sha256:")
    assert manifest["spec"]["hash"].startswith("sha256:")
    assert manifest["prompt_hash"].startswith("sha256:")
    assert {"torch", "transformers", "llguidance"} <= set(manifest["libraries"])
    assert manifest["timings"]["time_to_first_row_s"] > 0
    # Yield counts rows that passed, not only the rows the run kept.
    passed = counts["generated"] - counts["rejected"]
    assert manifest["yield"] == round(passed / counts["generated"], 4)
    assert not (tmp_path / f"{name}.csv.partial.csv").exists()


@pytest.mark.model
def test_batch_is_capped_at_the_row_count(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    assert run_cli(DIABETES, "-n", 2, "-o", out, "--batch-size", 64, "--seed", 3) == 0
    manifest = json.loads((tmp_path / "d.csv.manifest.json").read_text())
    assert manifest["batch_size"] == 2
    assert manifest["counts"]["generated"] % 2 == 0


@pytest.mark.model
def test_same_seed_same_bytes_other_seed_other_rows(tmp_path: Path) -> None:
    outs = [tmp_path / f"{i}.csv" for i in range(3)]
    for out, seed in zip(outs, (5, 5, 6), strict=True):
        assert run_cli(DIABETES, "-n", 6, "-o", out, "--batch-size", 4, "--seed", seed) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert outs[0].read_bytes() != outs[2].read_bytes()


@pytest.mark.model
def test_parquet_output_matches_csv_text(tmp_path: Path) -> None:
    import pandas as pd

    csv_out, pq_out = tmp_path / "a.csv", tmp_path / "a.parquet"
    for out in (csv_out, pq_out):
        assert run_cli(DIABETES, "-n", 3, "-o", out, "--batch-size", 3, "--seed", 2) == 0
    frame = pd.read_parquet(pq_out)
    assert frame.columns.tolist() == read_rows(csv_out)[0].split(",")
    as_csv = pd.read_csv(csv_out, dtype=str, keep_default_na=False)
    assert frame.equals(as_csv)


@pytest.mark.model
def test_refuses_to_overwrite_without_force(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.csv"
    out.write_text("precious\n")
    assert run_cli(DIABETES, "-n", 2, "-o", out) == 2
    assert out.read_text() == "precious\n"
    assert "--force" in capsys.readouterr().err
    assert run_cli(DIABETES, "-n", 2, "-o", out, "--batch-size", 2, "--force") == 0
    assert len(read_rows(out)) == 3


def test_ctrl_c_says_interrupted_and_how_to_resume(tmp_path: Path, capsys, monkeypatch) -> None:
    """typer turns Ctrl-C into a silent exit 130; synspec says what happened and what to do."""
    from synspec.generate import pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(pipeline, "run_batches", interrupted)
    assert run_cli(DIABETES, "-n", 2, "-o", tmp_path / "o.csv") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err


@pytest.mark.skipif(not metadata.version("torch").endswith("+cpu"),
                    reason="only a CPU-only torch build is known to have no GPU without importing it")
def test_a_run_the_joint_draw_writes_whole_never_imports_torch(tmp_path: Path) -> None:
    """The README's quick start: every diabetes column is drawn, no model is needed, and
    importing torch (1.7 s, most of the command's time) is skipped."""
    code = ("import sys; from synspec.cli import main; "
            f"code = main(['run', {str(DIABETES)!r}, '-n', '20', '-o', {str(tmp_path / 'o.csv')!r}]); "
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr


def test_missing_model_path_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code = run_cli(DIABETES, "-n", 2, "-o", tmp_path / "o.csv", "--model", tmp_path / "nope.gguf")
    err = capsys.readouterr().err
    assert code == 2
    assert "model not found" in err and "help:" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "-n must be at least 1"),
    (["-n", "2", "--style", "haiku"], "unknown style"),
    (["-n", "2", "--resume", "--force"], "contradict"),
    (["-n", "2", "--resume"], "no interrupted run"),
    (["-n", "2", "--threads", "0"], "--threads must be a positive integer"),
    (["-n", "2", "--threads", "two"], "--threads must be a positive integer"),
    (["-n", "2", "--dtype", "float16"], "unknown dtype"),
])
def test_bad_flags_exit_2(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    assert run_cli(DIABETES, "-o", tmp_path / "o.csv", *args) == 2
    assert message in capsys.readouterr().err


def test_missing_spec_exits_2(tmp_path: Path) -> None:
    assert run_cli(tmp_path / "none.synspec", "-n", 2, "-o", tmp_path / "o.csv") == 2


def test_bad_cell_in_examples_exits_2_naming_file_row_and_column(tmp_path: Path, capsys) -> None:
    header = ",".join(check_file(DIABETES).spec.column_names)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nFemale,80.0,0,1,never,25.19,6.6,140,0\nMale,old,0,0,never,27.32,5.7,158,0\n")
    out = tmp_path / "o.csv"
    code = run_cli(DIABETES, "-n", 2, "-o", out, "--style", "seed_ex", "--examples", bad)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "examples file data row 2, column age" in err and "'old'" in err and f"{bad}:3" in err
    assert "internal error" not in err and not out.exists()


@pytest.mark.model
def test_starved_run_stops_with_what_it_has(tmp_path: Path) -> None:
    """With no retry budget beyond two batches, a run asking for more rows stops, exit-1 style."""
    from synspec.generate import pipeline

    spec = check_file(DIABETES).spec
    out = tmp_path / "o.csv"
    config = pipeline.RunConfig(spec=spec, spec_path=DIABETES, n=50, out=out, batch_size=2,
                                budget_factor=0.0)
    result = pipeline.run(config)
    assert result.status == "starved" and result.generated == 4
    assert result.rows <= 4 and len(read_rows(out)) == result.rows + 1
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["status"] == "starved" and "starving_rule" in manifest


@pytest.mark.model
def test_seed_ex_with_examples(tmp_path: Path) -> None:
    examples = real_csv("diabetes")
    out = tmp_path / "o.csv"
    assert run_cli(DIABETES, "-n", 3, "-o", out, "--style", "seed_ex", "--examples", examples,
                   "--batch-size", 3) == 0
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["examples"]["rows"] == 5
    assert_valid(DIABETES, out, 3)


@pytest.mark.model
def test_resume_after_kill_reaches_exactly_n_identical_rows(tmp_path: Path) -> None:
    # `--seeding levels` leaves the numbers to the model, so the run is slow enough to be
    # killed between batches (joint seeding writes these 16 rows in a few milliseconds).
    n, batch = 16, 4
    reference = tmp_path / "ref.csv"
    assert run_cli(DIABETES, "-n", n, "-o", reference, "--batch-size", batch, "--seed", 9,
                   "--seeding", "levels") == 0

    out = tmp_path / "killed.csv"
    manifest_path = tmp_path / "killed.csv.manifest.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "synspec", "run", str(DIABETES), "-n", str(n), "-o",
                             str(out), "--batch-size", str(batch), "--seed", "9", "--seeding", "levels"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        rows = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                rows = json.loads(manifest_path.read_text())["progress"]["rows"]
            except (OSError, ValueError, KeyError):
                rows = 0
            if rows > 0:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed; raise n"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 0 < rows < n
    assert not out.exists()
    # A resume with other settings is refused: the rows on disk came from another run.
    assert run_cli(DIABETES, "-n", n, "-o", out, "--batch-size", batch, "--seed", 10, "--seeding", "levels",
                   "--resume") == 2
    assert run_cli(DIABETES, "-n", n, "-o", out, "--batch-size", batch, "--seed", 9, "--seeding", "levels",
                   "--resume") == 0
    # Exactly n rows, none lost or duplicated: the same bytes as the run never interrupted.
    assert len(read_rows(out)) == n + 1
    assert out.read_bytes() == reference.read_bytes()
    assert json.loads(manifest_path.read_text())["status"] == "complete"


@pytest.mark.model
@pytest.mark.parametrize("dtype", ["auto", "float32", "int8"])
def test_thread_count_changes_no_byte(tmp_path: Path, dtype: str, monkeypatch) -> None:
    """The model writes the numbers (`--seeding levels`), on one thread and on two: the same
    bytes, and each manifest says how many threads it used and why. Batches of 3 rows are
    two shards here: one thread decodes them in turn, two threads as two workers."""
    import torch

    from synspec.generate.engines import shards

    monkeypatch.setattr(shards, "SHARD_ROWS", 2)
    before = torch.get_num_threads()
    outs = {t: tmp_path / f"t{t}.csv" for t in (1, 2)}
    try:
        for t, out in outs.items():
            assert run_cli(DIABETES, "-n", 6, "-o", out, "--batch-size", 3, "--seed", 4,
                           "--seeding", "levels", "--threads", t, "--dtype", dtype) == 0
            compute = json.loads((tmp_path / f"t{t}.csv.manifest.json").read_text())["compute"]
            assert compute["threads"] == compute["workers"] == t
            assert compute["threads_reason"] == f"--threads {t}"
    finally:
        torch.set_num_threads(before)
    assert outs[1].read_bytes() == outs[2].read_bytes()
