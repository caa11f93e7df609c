"""The `server` engine: rows from an OpenAI-compatible server (llama.cpp, vLLM, SGLang).

One chat-completion request per row, carrying that row's grammar, so seeding works as on the
local engine; at most `concurrency` requests are in flight. Each server kind takes the grammar
in its own field and dialect (`SERVER_KINDS`): llama.cpp's `grammar` (GBNF), vLLM's
`structured_outputs.grammar` (Lark, for its guidance backend) and SGLang's `ebnf` (GBNF, which
its xgrammar backend reads). `kind="auto"` asks the server which it is (`detect_kind`).

Failures: a connection error, a timeout, HTTP 429 or 5xx is retried with exponential backoff;
when the retries run out the run stops with exit 2 (`ServerError`), and what was committed
before stays committed, so `synspec run --resume` continues once the server is back. A 4xx
answer (a grammar the server rejects, an unknown model) stops at once with the server's own
message. The API key is read from the environment variable the user names and is never
written anywhere (the manifest records the URL, without credentials, and the model name).
Every text that comes back is checked by the pipeline like any other row.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from synspec.errors import UserError
from synspec.generate.engines.base import ModelInfo, RowText, Sampling

DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT_S = 120.0
RETRIES = 4  # after the first try; waits of 0.5, 1, 2, 4 s (`BACKOFF_S` doubling)
BACKOFF_S = 0.5


@dataclass(frozen=True)
class ServerKind:
    """How one kind of server takes a grammar: the dialect and where it goes in the request."""

    name: str
    dialect: str  # one of synspec.targets.grammar.DIALECTS
    grammar_field: Callable[[str], dict[str, Any]]  # grammar text -> extra request fields
    summary: str


SERVER_KINDS: dict[str, ServerKind] = {kind.name: kind for kind in (
    ServerKind("llamacpp", "gbnf", lambda text: {"grammar": text},
               "llama.cpp's llama-server or llama-cpp-python's server: GBNF in `grammar`"),
    ServerKind("vllm", "lark", lambda text: {"structured_outputs": {"grammar": text}},
               "vLLM: Lark in `structured_outputs.grammar` (start vLLM with the guidance backend)"),
    ServerKind("sglang", "gbnf", lambda text: {"ebnf": text},
               "SGLang: GBNF in `ebnf` (its xgrammar backend)"),
)}
KIND_NAMES = ("auto", *SERVER_KINDS)


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and how to talk to it (`synspec run --engine server ...`)."""

    base_url: str  # e.g. http://127.0.0.1:8080 (with or without a trailing /v1)
    kind: str = "auto"  # one of KIND_NAMES
    api_key_env: str | None = None  # the environment variable holding the API key
    concurrency: int = DEFAULT_CONCURRENCY
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check(self) -> None:
        """Every settings error as a UserError (exit 2), before anything is written."""
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UserError(f"--base-url must be an http(s) URL, got {self.base_url!r}", where="--base-url",
                            hint="e.g. --base-url http://127.0.0.1:8080")
        if self.kind not in KIND_NAMES:
            raise UserError(f"unknown server kind {self.kind!r}", where="--server-kind",
                            hint="one of " + ", ".join(KIND_NAMES))
        if self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1 (got {self.concurrency})",
                            where="--concurrency", hint="the server's parallel slots, e.g. --concurrency 8")
        if not self.timeout_s > 0:
            raise UserError(f"--timeout must be more than 0 s (got {self.timeout_s})", where="--timeout")
        if self.api_key_env is not None and not os.environ.get(self.api_key_env):
            raise UserError(f"environment variable {self.api_key_env} is not set or empty",
                            where="--api-key-env",
                            hint=f"export {self.api_key_env}=... (the key itself is never written anywhere)")

    @property
    def root(self) -> str:
        """The URL up to, without, `/v1`."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    @property
    def public_url(self) -> str:
        """The URL without user name or password (what the manifest records)."""
        parts = urllib.parse.urlsplit(self.root)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class ServerError(UserError):
    """The server could not be reached, or refused a request (exit 2)."""


class _Client:
    """JSON over HTTP with retries; one per engine, shared by its worker threads."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
        self._headers = {"Content-Type": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"

    def request(self, path: str, body: dict[str, Any] | None = None, *, retries: int = RETRIES) -> Any:
        """The decoded JSON answer to GET (body None) or POST `path`; ServerError when the
        server stays unreachable through the retries, or answers 4xx."""
        url = self.settings.root + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(retries + 1):
            try:
                req = urllib.request.Request(url, data=data, headers=self._headers,
                                             method="GET" if data is None else "POST")
                with urllib.request.urlopen(req, timeout=self.settings.timeout_s) as answer:
                    return json.loads(answer.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = _error_text(exc)
                if exc.code != 429 and exc.code < 500:
                    raise ServerError(f"the server refused the request: HTTP {exc.code}: {detail}",
                                      where=self.settings.public_url + path,
                                      hint=_hint_for(exc.code, detail)) from None
                problem = f"HTTP {exc.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"{type(reason).__name__}: {reason}"
            except json.JSONDecodeError as exc:
                raise ServerError(f"the server's answer is not JSON ({exc})",
                                  where=self.settings.public_url + path,
                                  hint="is --base-url an OpenAI-compatible server?") from None
            if attempt < retries:
                time.sleep(BACKOFF_S * 2**attempt)
        raise ServerError(f"the server is unreachable after {retries + 1} tries ({problem})",
                          where=self.settings.public_url + path,
                          hint="start the server, or check --base-url; then rerun with --resume "
                               "to keep the rows already written")


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:
        return exc.reason or ""
    try:
        message = json.loads(raw)
        if isinstance(message, dict):
            error = message.get("error", message.get("detail", message))
            if isinstance(error, dict):
                error = error.get("message", error)
            return str(error)[:500]
    except json.JSONDecodeError:
        pass
    return raw[:500]


def _hint_for(code: int, detail: str) -> str:
    if code in (401, 403):
        return "pass the key with --api-key-env VAR (VAR holding the key)"
    if code == 404:
        return "check --base-url (the server's OpenAI routes are under /v1) and --model"
    if "grammar" in detail.lower() or "ebnf" in detail.lower() or "structured" in detail.lower():
        return "the server could not use the row grammar; check --server-kind (synspec compile --emit " \
               "grammar --dialect gbnf|lark prints it)"
    return "check --model and the server's log"


def detect_kind(client: _Client) -> str:
    """The server's kind from what it answers: vLLM serves /version, SGLang /get_server_info,
    llama.cpp's servers neither (they are the fallback)."""
    for path, kind in (("/version", "vllm"), ("/get_server_info", "sglang")):
        try:
            answer = client.request(path, retries=0)
        except ServerError:
            continue
        if isinstance(answer, dict) and (kind == "sglang" or "version" in answer):
            return kind
    return "llamacpp"


class ServerEngine:
    """Rows from an OpenAI-compatible server; see the module docstring."""

    per_row_grammars: ClassVar[bool] = True

    def __init__(self, model: str = "default", loaded: Any = None, dtype: str = "auto",
                 server: ServerSettings | None = None) -> None:
        if server is None:
            raise UserError("--engine server needs --base-url", where="--engine server",
                            hint="e.g. --engine server --base-url http://127.0.0.1:8080 --model NAME")
        if model == "default":
            raise UserError("--engine server needs --model NAME, the model the server serves",
                            where="--model", hint="the name the server lists at /v1/models")
        server.check()
        self.settings = server
        self.model = model
        self.client = _Client(server)
        self.kind: ServerKind | None = None if server.kind == "auto" else SERVER_KINDS[server.kind]
        self._prompt_tokens: int | None = None
        self._checked = False  # the server answered and serves the model (`load`)

    def grammar_dialect(self) -> str:
        """The dialect this server's grammars are sent in (asks the server its kind if needed)."""
        return self._kind().dialect

    @property
    def loaded(self) -> bool:
        return self._checked

    def model_info(self) -> ModelInfo:
        device = "server" if self.kind is None else f"server ({self.kind.name})"
        return ModelInfo(name=self.model, path=self.settings.public_url, weights_hash=None,
                         device=device, dtype="server")

    def load(self) -> float:
        """Reach the server, learn its kind, and check it serves the model; the seconds taken."""
        if self.loaded:
            return 0.0
        began = time.perf_counter()
        self._kind()
        answer = self.client.request("/v1/models")
        served = [str(m.get("id")) for m in answer.get("data", [])] if isinstance(answer, dict) else []
        if served and self.model not in served:
            raise ServerError(f"the server does not serve model {self.model!r}",
                              where=self.settings.public_url, hint="--model one of: " + ", ".join(served))
        self._checked = True
        return time.perf_counter() - began

    def _kind(self) -> ServerKind:
        if self.kind is None:
            self.kind = SERVER_KINDS[detect_kind(self.client)]
        return self.kind

    def prompt_tokens(self, prompt: str) -> int | None:
        return self._prompt_tokens  # from the server's usage figures, once a row came back

    def generate(self, prompt: str, grammars: Sequence[str], sampling: Sampling) -> list[RowText]:
        kind = self._kind()
        done = 0
        lock = threading.Lock()

        def one(index: int) -> RowText:
            nonlocal done
            body: dict[str, Any] = {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": sampling.max_new_tokens,
                "temperature": sampling.temperature,
                # A seed per row: the same (batch seed, row) asks for the same noise.
                "seed": (sampling.seed + index) % 2**31,
                **kind.grammar_field(grammars[index]),
            }
            answer = self.client.request("/v1/chat/completions", body)
            row = _row_text(answer)
            with lock:
                done += 1
                usage = answer.get("usage") or {}
                if self._prompt_tokens is None and usage.get("prompt_tokens"):
                    self._prompt_tokens = int(usage["prompt_tokens"])
                if sampling.on_row is not None:
                    sampling.on_row(done)
            return row

        pool = ThreadPoolExecutor(max_workers=min(self.settings.concurrency, max(len(grammars), 1)),
                                  thread_name_prefix="synspec-server")
        try:
            return list(pool.map(one, range(len(grammars))))
        finally:
            # On an error or Ctrl-C, report it now: requests not started are dropped, and
            # the batch is not committed, so `--resume` redoes it whole.
            pool.shutdown(wait=False, cancel_futures=True)


def _row_text(answer: Any) -> RowText:
    """A chat completion's text, or None when it stopped at the token limit."""
    try:
        choice = answer["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ServerError("the server's answer has no choices[0].message.content",
                          hint="is --base-url an OpenAI-compatible chat-completions server?") from None
    usage = answer.get("usage") or {}
    tokens = int(usage.get("completion_tokens") or 0)
    complete = choice.get("finish_reason") != "length"
    return RowText(text if complete and isinstance(text, str) else None, tokens)
