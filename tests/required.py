"""Test tools that `.ci/setup-tests` installs (servers, engines, a browser): skip without them
while working locally, fail without them in CI.

`.ci/run` sets SYNSPEC_REQUIRE_TEST_TOOLS=1, so a missing tool can never let CI pass by
skipping the tests that need it.
"""

from __future__ import annotations

import importlib.util
import os
from typing import NoReturn

import pytest


def require_tool(message: str) -> NoReturn:
    """Skip with `message`, or fail with it under SYNSPEC_REQUIRE_TEST_TOOLS=1."""
    if os.environ.get("SYNSPEC_REQUIRE_TEST_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str, package: str) -> None:
    """`require_tool` when module `name` (from `package`) cannot be imported."""
    if importlib.util.find_spec(name) is None:
        require_tool(f"{package} is not installed (bash .ci/setup-tests installs it)")
