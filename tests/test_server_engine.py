"""`synspec run --engine server` against a scripted OpenAI-compatible server (no model).

`FakeServer` answers /v1/models, /version (when it plays vLLM) and /v1/chat/completions with
rows sampled from the request's own Lark grammar (or, for GBNF kinds, from the spec's
unconstrained grammar), and can fail, refuse grammars or stop on cue. These tests cover the
protocol: which field carries which dialect, retries, exit 2 on an unreachable server or a
refused grammar, bounded concurrency, the API key kept out of every file, resume after the
server died. tests/test_server_llama.py runs the same engine on a real llama.cpp server.
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from synspec.cli import main
from synspec.generate.engines import server as server_engine
from synspec.passes import check_file
from synspec.targets import grammar as gm
from tests.conftest import SPECS
from tests.llama_support import free_port
from tests.test_grammar import sample

DIABETES = SPECS / "diabetes.synspec"
MODEL = "tiny-model"


class FakeServer:
    """A scripted OpenAI-compatible server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, kind: str = "vllm", *, fail_first: int = 0, refuse_grammar: bool = False,
                 models: tuple[str, ...] = (MODEL,), delay_s: float = 0.0, port: int | None = None) -> None:
        self.kind = kind
        self.fail_first = fail_first
        self.refuse_grammar = refuse_grammar
        self.models = models
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.answered = 0
        self.stop_after: int | None = None  # answer this many rows, then close connections
        self.lock = threading.Lock()
        self.rnd = random.Random(0)
        self.unconstrained = gm.row_grammar(check_file(DIABETES).spec).lark
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port or free_port()), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _row(self, body: dict[str, Any]) -> str:
        lark_text = (body.get("structured_outputs") or {}).get("grammar") or self.unconstrained
        with self.lock:
            return sample(lark_text, self.rnd)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": m} for m in fake.models]})
                elif self.path == "/version" and fake.kind == "vllm":
                    self._send(200, {"version": "0.0-fake"})
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    stopped = fake.stop_after is not None and fake.answered >= fake.stop_after
                    failing = fake.fail_first > 0
                    fake.fail_first -= failing
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                released = False

                def release() -> None:
                    # Before the answer is written: once the client has it, its next request
                    # may arrive before this thread would otherwise get to count this one out.
                    nonlocal released
                    if not released:
                        released = True
                        with fake.lock:
                            fake.in_flight -= 1

                def answer(code: int, payload: Any) -> None:
                    release()
                    self._send(code, payload)

                try:
                    if stopped:
                        release()
                        self.close_connection = True
                        self.connection.close()  # as a dead server: no answer at all
                        return
                    if failing:
                        answer(503, {"error": {"message": "loading"}})
                        return
                    if fake.refuse_grammar:
                        answer(400, {"error": {"message": "Failed to parse grammar: bad rule"}})
                        return
                    time.sleep(fake.delay_s)
                    row = fake._row(body)
                    with fake.lock:
                        fake.answered += 1
                    answer(200, {"choices": [{"message": {"role": "assistant", "content": row},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 321, "completion_tokens": 20}})
                finally:
                    release()

        return Handler


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_engine, "BACKOFF_S", 0.01)


def run_server(out: Path, url: str, *extra: str, n: int = 12) -> int:
    return main(["run", str(DIABETES), "-n", str(n), "-o", str(out), "--engine", "server", "--base-url", url,
                 "--model", MODEL, "--seeding", "marginals", "--batch-size", "4", *extra])


def test_rows_pass_and_the_key_stays_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNSPEC_TEST_KEY", "sk-secret-123")
    out = tmp_path / "rows.csv"
    with FakeServer("vllm", delay_s=0.05) as fake:
        assert run_server(out, fake.url + "/v1", "--api-key-env", "SYNSPEC_TEST_KEY",
                          "--concurrency", "3") == 0
    assert main(["validate", str(out), "--spec", str(DIABETES)]) == 0
    assert len(out.read_text().splitlines()) == 13
    # vLLM was recognised by /version: Lark grammars in structured_outputs, one row's grammar each
    grammars = [body["structured_outputs"]["grammar"] for body in fake.requests]
    assert all(g.startswith("// Row grammar of 'diabetes'") for g in grammars)
    assert len(set(grammars)) > 1  # seeded: rows have their own grammars
    assert all(h.get("Authorization") == "Bearer sk-secret-123" for h in fake.headers)
    assert 1 < fake.max_in_flight <= 3
    manifest_text = (tmp_path / "rows.csv.manifest.json").read_text()
    assert "sk-secret" not in manifest_text
    manifest = json.loads(manifest_text)
    assert manifest["engine"] == "server"
    assert manifest["model"]["path"] == fake.url and manifest["model"]["name"] == MODEL
    assert manifest["model"]["device"] == "server (vllm)"
    assert manifest["fingerprint"]["model_name"] == MODEL
    assert manifest["prompt_tokens"] == 321
    assert manifest["compute"]["threads"] is None  # nothing computed here


def test_llamacpp_kind_sends_gbnf(tmp_path: Path) -> None:
    with FakeServer("llamacpp") as fake:
        assert run_server(tmp_path / "rows.csv", fake.url, n=4) == 0
    body = fake.requests[0]
    assert "structured_outputs" not in body and body["grammar"].splitlines()[2].startswith("root ::= ")
    assert body["model"] == MODEL and body["messages"][0]["role"] == "user"
    assert len({b["seed"] for b in fake.requests}) == len(fake.requests)  # a seed per row


def test_sglang_kind_sends_ebnf(tmp_path: Path) -> None:
    with FakeServer("sglang") as fake:
        assert run_server(tmp_path / "rows.csv", fake.url, "--server-kind", "sglang", n=4) == 0
    assert all("root ::= " in body["ebnf"] for body in fake.requests)


def test_transient_failures_are_retried(tmp_path: Path) -> None:
    with FakeServer("vllm", fail_first=3) as fake:
        assert run_server(tmp_path / "rows.csv", fake.url, n=4) == 0
    assert len(fake.requests) >= 4 + 3


def test_unreachable_server_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert run_server(tmp_path / "rows.csv", url) == 2
    err = capsys.readouterr().err
    assert "unreachable" in err and url in err and "--resume" in err and "Traceback" not in err


def test_refused_grammar_is_exit_2_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer("llamacpp", refuse_grammar=True) as fake:
        assert run_server(tmp_path / "rows.csv", fake.url) == 2
    err = capsys.readouterr().err
    assert "HTTP 400" in err and "Failed to parse grammar" in err and "--server-kind" in err
    assert len(fake.requests) <= 4  # one batch's requests, none retried


def test_unknown_model_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer("vllm", models=("other-model",)) as fake:
        assert run_server(tmp_path / "rows.csv", fake.url) == 2
    assert "other-model" in capsys.readouterr().err
    assert not fake.requests


@pytest.mark.parametrize(("extra", "message"), [
    (["--base-url", "http://127.0.0.1:1"], "--base-url is for --engine server"),
    (["--engine", "server"], "needs --base-url"),
    (["--engine", "server", "--base-url", "ftp://x"], "http(s) URL"),
    (["--engine", "server", "--base-url", "http://h:1", "--concurrency", "0"], "--concurrency"),
    (["--engine", "server", "--base-url", "http://h:1", "--server-kind", "tgi"], "unknown server kind"),
    (["--engine", "server", "--base-url", "http://h:1", "--api-key-env", "SYNSPEC_UNSET_VAR_X"], "not set"),
    (["--engine", "server", "--base-url", "http://h:1", "--timeout", "0"], "--timeout"),
])
def test_bad_server_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                          message: str) -> None:
    out = tmp_path / "rows.csv"
    model = [] if "needs --base-url" in message else ["--model", MODEL]
    args = ["run", str(DIABETES), "-n", "4", "-o", str(out), "--seeding", "marginals", *model, *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_server_needs_a_model_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(DIABETES), "-n", "4", "-o", str(tmp_path / "r.csv"), "--engine", "server",
                 "--base-url", "http://127.0.0.1:1"]) == 2
    assert "--model NAME" in capsys.readouterr().err


def test_resume_after_the_server_died(tmp_path: Path) -> None:
    """The server stops answering after 6 rows: the run stops with exit 2 keeping the batch
    it committed; with the server back (on another port), --resume completes exactly N rows."""
    out = tmp_path / "rows.csv"
    with FakeServer("vllm") as fake:
        fake.stop_after = 6
        assert run_server(out, fake.url, "--concurrency", "1") == 2
    manifest = json.loads((tmp_path / "rows.csv.manifest.json").read_text())
    kept = manifest["progress"]["rows"]
    assert manifest["status"] == "running" and 0 < kept <= 4  # the first batch (a row may fail a rule)
    before = (tmp_path / "rows.csv.partial.csv").read_text().splitlines()[: kept + 1]
    with FakeServer("vllm") as fake:
        assert run_server(out, fake.url, "--resume") == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 13 and lines[: kept + 1] == before
    assert main(["validate", str(out), "--spec", str(DIABETES)]) == 0


def test_engine_kind_detection_and_public_url() -> None:
    settings = server_engine.ServerSettings(base_url="http://user:pw@example.org:8000/v1/")
    assert settings.root == "http://user:pw@example.org:8000"
    assert settings.public_url == "http://example.org:8000"
    with FakeServer("vllm") as fake:
        client = server_engine._Client(server_engine.ServerSettings(base_url=fake.url))
        assert server_engine.detect_kind(client) == "vllm"
    with FakeServer("llamacpp") as fake:
        client = server_engine._Client(server_engine.ServerSettings(base_url=fake.url))
        assert server_engine.detect_kind(client) == "llamacpp"
