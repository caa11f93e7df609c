"""The peer for `bench_validate --engines`: the diabetes spec's checks written in pandera.

What a user would write instead of a spec: a `DataFrameSchema` with the same column constraints
(types, ranges, levels, declared values, never missing) and the same seven rules (the three soft
ones as shares, as `mostly` declares them), run on the CSV read in 100,000-row chunks by pandas
(`lazy=True`, so every failure is collected, as `synspec validate` counts every one). Decimal
places are not checked: pandas has parsed the text to floats before pandera sees it.

Usage: python -m benchmarks.pandera_peer DATA.csv   (needs `pip install pandera`; not a dependency)
"""

from __future__ import annotations

import sys
import time

import pandas as pd
import pandera.pandas as pa

HBA1C = [3.5, 4, 4.5, 4.8, 5, 5.7, 5.8, 6, 6.1, 6.2, 6.5, 6.6, 6.8, 7, 7.5, 8.2, 8.8, 9]
GLUCOSE = [80, 85, 90, 100, 126, 130, 140, 145, 155, 158, 159, 160, 200, 220, 240, 260, 280, 300]


def _share_at_least(condition, consequence, mostly: float):
    def check(df: pd.DataFrame) -> bool:
        applies = condition(df)
        n = int(applies.sum())
        return n == 0 or float(consequence(df)[applies].mean()) >= mostly
    return check


SCHEMA = pa.DataFrameSchema(
    {
        "gender": pa.Column(str, pa.Check.isin(["Female", "Male", "Other"])),
        "age": pa.Column(float, pa.Check.in_range(0.08, 80)),
        "hypertension": pa.Column(int, pa.Check.isin([0, 1])),
        "heart_disease": pa.Column(int, pa.Check.isin([0, 1])),
        "smoking_history": pa.Column(str, pa.Check.isin(["No Info", "never", "former", "current",
                                                         "not current", "ever"])),
        "bmi": pa.Column(float, pa.Check.in_range(10.01, 95.69)),
        "HbA1c_level": pa.Column(float, [pa.Check.in_range(3.5, 9), pa.Check.isin(HBA1C)]),
        "blood_glucose_level": pa.Column(int, [pa.Check.in_range(80, 300), pa.Check.isin(GLUCOSE)]),
        "diabetes": pa.Column(int, pa.Check.isin([0, 1])),
    },
    checks=[
        pa.Check(lambda df: ~(df["HbA1c_level"] > 6.6) | (df["diabetes"] == 1), name="hba1c_means_diabetes"),
        pa.Check(lambda df: ~(df["blood_glucose_level"] > 200) | (df["diabetes"] == 1),
                 name="glucose_means_diabetes"),
        pa.Check(lambda df: (df["diabetes"] != 1) | (df["HbA1c_level"] >= 5.7),
                 name="diabetes_has_raised_hba1c"),
        pa.Check(lambda df: (df["diabetes"] != 1) | (df["blood_glucose_level"] >= 126),
                 name="diabetes_has_raised_glucose"),
        pa.Check(_share_at_least(lambda df: df["age"] < 18, lambda df: df["hypertension"] != 1, 0.99),
                 name="children_rarely_hypertensive"),
        pa.Check(_share_at_least(lambda df: df["heart_disease"] == 1, lambda df: df["age"] >= 30, 0.99),
                 name="heart_disease_mostly_adults"),
        pa.Check(_share_at_least(lambda df: df["age"] < 10,
                                 lambda df: df["smoking_history"].isin(["No Info", "never"]), 0.97),
                 name="young_children_not_smokers"),
    ],
    strict=True,
)


def main(path: str) -> int:
    start = time.perf_counter()
    rows = failures = 0
    for chunk in pd.read_csv(path, chunksize=100_000):
        rows += len(chunk)
        try:
            SCHEMA.validate(chunk, lazy=True)
        except pa.errors.SchemaErrors as err:
            failures += len(err.failure_cases)
    print(f"pandera: {rows:,} rows, {failures:,} failure cases, {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
