"""`synspec run --engine server` on a real llama.cpp server (llama-cpp-python's, bundled GGUF).

Every row is written by the server (`--seeding marginals` leaves every row's numbers to the
model, so none is drawn whole), under the GBNF grammar synspec sends, and the output must
pass `synspec validate` on each of the three specs. The second test kills the server (SIGKILL)
while a run is going, restarts it on another port, and resumes: exactly N rows, and the rows
committed before the kill are kept as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synspec.cli import main
from tests.conftest import ROOT, SPECS
from tests.llama_support import LlamaServer

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    server = LlamaServer(log=tmp_path_factory.mktemp("llama") / "server.log").start()
    yield server
    server.stop()


def _run_args(spec: Path, out: Path, url: str, n: int) -> list[str]:
    return ["run", str(spec), "-n", str(n), "-o", str(out), "--engine", "server", "--base-url", url,
            "--model", LlamaServer.MODEL, "--seeding", "marginals", "--batch-size", "4", "--seed", "3",
            "--concurrency", "2"]


@pytest.mark.parametrize("name", ["diabetes", "stroke", "cirrhosis"])
def test_every_server_row_is_valid(name: str, llama_server: LlamaServer, tmp_path: Path) -> None:
    spec = SPECS / f"{name}.synspec"
    out = tmp_path / f"{name}.csv"
    assert main(_run_args(spec, out, llama_server.url, 4)) == 0
    assert main(["validate", str(out), "--spec", str(spec)]) == 0
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["model"]["device"] == "server (llamacpp)"
    assert manifest["counts"]["drawn_rows"] == 0  # the server wrote every row
    # The grammar held on the server: no row came back unparseable or cut off.
    assert not any(count and ("incomplete" in reason or ".type" in reason or ".range" in reason)
                   for reason, count in manifest["counts"]["rejected_per_rule"].items())


def test_killed_server_then_resume_gives_exactly_n_rows(tmp_path: Path) -> None:
    spec = SPECS / "diabetes.synspec"
    out = tmp_path / "rows.csv"
    manifest_path = tmp_path / "rows.csv.manifest.json"
    server = LlamaServer(log=tmp_path / "server1.log").start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen([sys.executable, "-m", "synspec", *_run_args(spec, out, server.url, 12)],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if manifest_path.exists() and json.loads(manifest_path.read_text())["progress"]["rows"] > 0:
                break
            assert run.poll() is None, run.communicate()
            time.sleep(0.2)
        server.stop()  # SIGKILL, mid-run
        _, err = run.communicate(timeout=120)
    finally:
        server.stop()
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, err
    assert "unreachable" in err and "Traceback" not in err
    kept = json.loads(manifest_path.read_text())["progress"]["rows"]
    assert 0 < kept < 12
    before = (tmp_path / "rows.csv.partial.csv").read_text().splitlines()[: kept + 1]

    server = LlamaServer(log=tmp_path / "server2.log").start()  # another port: the URL may change
    try:
        assert main([*_run_args(spec, out, server.url, 12), "--resume"]) == 0
    finally:
        server.stop()
    lines = out.read_text().splitlines()
    assert len(lines) == 13 and lines[: kept + 1] == before
    assert main(["validate", str(out), "--spec", str(spec)]) == 0
