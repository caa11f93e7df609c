"""One local Spark session for the whole test run (the JVM takes seconds to start).

Tests marked `spark` take the `spark` fixture; the engine then finds this session active and
uses it. Skipped, with the reason, where pyspark is not installed, and failed in CI instead
(`.ci/setup-tests` installs it; tests/required.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.required import require_module


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    require_module("pyspark", "pyspark (pip install 'synspec[spark]')")
    import pyspark.sql as pyspark_sql

    session = (pyspark_sql.SparkSession.builder.master("local[2]").appName("synspec tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()
