"""`synspec infer`: kinds, encodings, missing tokens, statistics, privacy, errors, files."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from conftest import real_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import fmt, ir
from synspec.cli import main
from synspec.errors import UserError
from synspec.infer import InferOptions, default_name, infer_spec
from synspec.passes import check_text


def _write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _spec(path: Path, **options) -> ir.Spec:
    result = infer_spec(path, InferOptions(**options))
    checked = check_text(result.text)
    assert checked.diagnostics == (), [d.render() for d in checked.diagnostics]
    return checked.spec


# ---- the real files ---------------------------------------------------------------
@pytest.mark.parametrize("name, target, keys", [
    ("diabetes", "diabetes", []), ("cirrhosis", "Status", ["ID"]), ("stroke", "stroke", ["id"]),
])
def test_infer_real_csv_checks_clean_and_is_formatted(tmp_path, name, target, keys):
    out = tmp_path / f"{name}.synspec"
    argv = ["infer", str(real_csv(name)), "--target", target, "-o", str(out)]
    for key in keys:
        argv += ["--key", key]
    assert main(argv) == 0
    text = out.read_text()
    checked = check_text(text, str(out))
    assert checked.diagnostics == ()
    assert fmt.format_text(text).text == text
    assert main(["check", str(out)]) == 0
    spec = checked.spec
    assert spec.target == target and spec.keys == tuple(keys)
    # No stray temp file beside the output: the write was a rename.
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_infer_real_stroke_encodings(tmp_path):
    spec = _spec(real_csv("stroke"), target="stroke", keys=("id",), keep_rare=True)
    assert spec.column_names[0] == "id"  # the BOM is not part of the first name
    assert spec.column("bmi").missing_token == "N/A"
    assert spec.column("bmi").kind is ir.ColumnKind.DECIMAL and spec.column("bmi").places == 1
    married = spec.column("ever_married")
    assert (married.kind, married.true_token, married.false_token) == (ir.ColumnKind.BOOLEAN, "Yes", "No")
    assert set(spec.column("work_type").levels) == {
        "Private", "Self-employed", "children", "Govt_job", "Never_worked"}
    assert "Other" in spec.column("gender").levels  # kept: --keep-rare
    assert spec.column("id").mean is None  # an identifier gets no statistics


def test_infer_real_cirrhosis_missing_and_booleans():
    spec = _spec(real_csv("cirrhosis"), target="Status", keys=("ID",))
    assert spec.column("Drug").missing_token == "NA"
    assert spec.column("Drug").missing_rate == pytest.approx(106 / 418, abs=1e-4)
    ascites = spec.column("Ascites")
    assert (ascites.kind, ascites.true_token, ascites.false_token) == (ir.ColumnKind.BOOLEAN, "Y", "N")
    assert spec.column("Stage").kind is ir.ColumnKind.INTEGER
    assert spec.column("Age").kind is ir.ColumnKind.INTEGER


# ---- kinds, encodings, missing tokens -----------------------------------------------
ENCODINGS_CSV = """\
b01,yn,yesno,tf,count,dose,grade,empty_miss,na_miss,slash_miss
1,Y,Yes,True,3,1.5,low,4,2.25,x
0,N,No,False,10,12,high,,NA,N/A
1,Y,Yes,False,-2,0.125,low,7,1,y
0,N,No,True,8,3.0,mid,9,3,x
1,Y,No,True,5,2,mid,,4.5,x
"""


@pytest.mark.parametrize("bom, crlf", [(False, False), (True, False), (False, True), (True, True)])
def test_kinds_and_encodings_with_bom_and_crlf(tmp_path, bom, crlf):
    path = _write(tmp_path / "enc.csv", ENCODINGS_CSV, bom=bom, crlf=crlf)
    spec = _spec(path, keep_rare=True)
    col = spec.column
    assert spec.column_names[0] == "b01"
    for name, true, false in [("b01", "1", "0"), ("yn", "Y", "N"), ("yesno", "Yes", "No"),
                              ("tf", "True", "False")]:
        assert (col(name).kind, col(name).true_token, col(name).false_token) == \
            (ir.ColumnKind.BOOLEAN, true, false), name
    assert col("count").kind is ir.ColumnKind.INTEGER
    assert (col("count").low, col("count").high) == (-2, 10)
    assert col("dose").kind is ir.ColumnKind.DECIMAL and col("dose").places == 3
    assert col("grade").kind is ir.ColumnKind.CATEGORICAL
    assert col("grade").missing_token is None
    assert (col("empty_miss").missing_token, col("empty_miss").missing_rate) == ("", 0.4)
    assert col("empty_miss").kind is ir.ColumnKind.INTEGER
    assert (col("na_miss").missing_token, col("na_miss").missing_rate) == ("NA", 0.2)
    assert col("na_miss").kind is ir.ColumnKind.DECIMAL and col("na_miss").places == 2
    assert col("slash_miss").missing_token == "N/A"
    assert col("slash_miss").kind is ir.ColumnKind.CATEGORICAL


def test_statistics_match_numpy(tmp_path):
    values = [1.5, 2.25, 3.0, 7.75, 10.0, 4.5, 6.0, 2.0]
    rows = "\n".join(f"{v},{2 * v + (i % 3)}" for i, v in enumerate(values))
    # k = 2: eight rows give quartiles (two rows in each quarter), not deciles.
    spec = _spec(_write(tmp_path / "s.csv", "x,y\n" + rows + "\n"), corr_threshold=0.0, min_count=2)
    x = spec.column("x")
    assert x.mean == pytest.approx(statistics.mean(values), abs=1e-3)
    assert x.sd == pytest.approx(statistics.stdev(values), abs=1e-3)
    expected = np.quantile(values, [0.25, 0.5, 0.75])
    assert [p for p, _ in x.quantiles] == [25, 50, 75]
    assert [v for _, v in x.quantiles] == pytest.approx(expected, abs=1e-3)
    (corr,) = spec.correlations
    ys = [2 * v + (i % 3) for i, v in enumerate(values)]
    assert corr.value == pytest.approx(np.corrcoef(values, ys)[0, 1], abs=1e-3)


def test_correlation_threshold_drops_weak_pairs(tmp_path):
    rows = "\n".join(f"{i},{i * 2},{(i * 7919) % 13}" for i in range(40))
    path = _write(tmp_path / "c.csv", "a,b,noise\n" + rows + "\n")
    strong = _spec(path, corr_threshold=0.9)
    assert [(c.left, c.right) for c in strong.correlations] == [("a", "b")]
    assert len(_spec(path, corr_threshold=0.0).correlations) == 3


def test_constant_column_has_no_sd(tmp_path):
    spec = _spec(_write(tmp_path / "k.csv", "k,v\n5,1\n5,2\n5,3\n"))
    assert spec.column("k").sd is None and spec.column("k").mean == 5


def test_all_missing_column_still_checks(tmp_path):
    spec = _spec(_write(tmp_path / "m.csv", "a,b\n1,NA\n2,NA\n"))
    assert spec.column("b").missing_rate == 1 and spec.column("b").missing_token == "NA"


def test_default_name_and_options(tmp_path):
    assert default_name(Path("my data-2024.csv")) == "my_data_2024"
    assert default_name(Path("2024.csv")) == "d_2024"
    path = _write(tmp_path / "t.csv", "id,y\n1,Y\n2,N\n3,Y\n")
    spec = _spec(path, name="trial", target="y", keys=("id",))
    assert (spec.name, spec.target, spec.keys) == ("trial", "y", ("id",))


# ---- quantile resolution, values, statistics given the target ---------------------------
def _column_csv(tmp_path, name: str, cells: list[str]) -> Path:
    return _write(tmp_path / f"{name}.csv", name + "\n" + "\n".join(cells) + "\n")


@pytest.mark.parametrize("n_rows, percents", [
    (50, [10, 20, 30, 40, 50, 60, 70, 80, 90]),  # 50 >= 10 cells x 5 rows: deciles
    (49, [25, 50, 75]),                          # not every tenth holds 5 rows: quartiles
    (20, [25, 50, 75]),
    (19, [50]),                                  # the median, two halves of at least 5
    (10, [50]),
    (9, []),                                     # not even halves: no quantiles at all
])
def test_quantile_resolution_follows_the_k_rule(tmp_path, n_rows, percents):
    cells = [str(v) for v in range(1000, 1000 + 37 * n_rows, 37)]  # distinct: never `values`
    x = _spec(_column_csv(tmp_path, "x", cells)).column("x")
    assert [p for p, _ in x.quantiles] == percents
    expected = np.quantile([float(c) for c in cells], [p / 100 for p in percents]) if percents else []
    assert [v for _, v in x.quantiles] == pytest.approx(list(expected), abs=1e-9)
    assert x.values == ()


def test_few_distinct_values_are_listed_with_shares(tmp_path):
    cells = ["6.6"] * 10 + ["5.7"] * 6 + ["9"] * 5
    x = _spec(_column_csv(tmp_path, "x", cells)).column("x")
    assert x.values == ((5.7, 0.2857), (6.6, 0.4762), (9.0, 0.2381))  # ascending by value
    assert x.quantiles == ()
    assert "values 5.7 0.2857, 6.6 0.4762, 9 0.2381" in infer_spec(tmp_path / "x.csv", InferOptions()).text


def test_a_heavy_value_is_declared_as_a_jump_in_the_quantiles(tmp_path):
    # 30% of the rows hold 27.32 (an imputed value): the quantiles bound its jump exactly.
    cells = [f"{v:.2f}" for v in np.linspace(15, 40, 140)] + ["27.32"] * 60
    path = _column_csv(tmp_path, "bmi", cells)
    quantiles = dict(_spec(path).column("bmi").quantiles)
    below = sum(float(c) < 27.32 for c in cells) / len(cells)
    assert quantiles[round(below * 100, 2)] == 27.32
    assert quantiles[round((below + 0.3) * 100, 2)] == 27.32
    assert all(p % 10 == 0 or p in (5, 95) or v == 27.32 for p, v in quantiles.items())


def test_a_rare_value_means_quantiles_unless_kept(tmp_path):
    path = _column_csv(tmp_path, "x", ["1"] * 10 + ["2"] * 6 + ["3"] * 4)
    assert _spec(path).column("x").values == ()
    # Quartiles, replaced by the bounds of the two heavy values' jumps: P(x <= 1) = 0.5 (2
    # starts a hundredth of a point later: percentages must rise). P(x <= 2) = 0.8 is left
    # out: the cell above it would hold the 4 rows of x = 3, fewer than k = 5.
    assert _spec(path).column("x").quantiles == ((50, 1), (50.01, 2))
    assert _spec(path, keep_rare=True).column("x").values == ((1, 0.5), (2, 0.3), (3, 0.2))
    # More than 120 distinct values are never listed, however often each is seen.
    many = _column_csv(tmp_path, "y", [str(v) for v in range(121) for _ in range(5)])
    assert _spec(many).column("y").values == ()


# y: 30 true rows, 12 false, 3 with y missing. x is a values-column; z has many values; c is
# categorical with two levels rare among the false rows.
def _given_csv(tmp_path) -> Path:
    rows = []
    for i in range(30):
        rows.append(f"Y,{[1, 2, 3][i % 3]},{i * 1.5:.1f},{'a' if i % 2 else 'b'}")
    for i in range(12):
        level = "a" if i < 9 else "e" if i < 11 else "b"
        rows.append(f"N,{[1, 2][i % 2] if i < 10 else 3},{100 + i:.1f},{level}")
    rows += ["NA,1,5.0,a"] * 3
    return _write(tmp_path / "g.csv", "y,x,z,c\n" + "\n".join(rows) + "\n")


def test_statistics_given_the_target(tmp_path):
    spec = _spec(_given_csv(tmp_path), target="y", keep_rare=True)
    x, z, c = spec.column("x"), spec.column("z"), spec.column("c")
    # Among the 30 true rows x is 1, 2, 3 ten times each: values.
    assert x.conditional("y", "Y").values == ((1, 0.3333), (2, 0.3333), (3, 0.3333))
    # Among the 12 false rows x = 3 is seen twice: quantiles instead, the median for 12 rows.
    assert x.conditional("y", "N").values == ()
    # The median, replaced by the jumps of 1 and 2 (5 rows each): P(x <= 1) = 5/12; the end
    # of 2's jump is left out, since only the 2 rows of x = 3 lie above it (k = 5).
    assert x.conditional("y", "N").quantiles == ((41.67, 1), (41.68, 2))
    # z: 30 rows give quartiles (as numpy measures them; deciles need 50), 12 rows the median.
    true_z = [i * 1.5 for i in range(30)]
    measured = np.quantile(true_z, [0.25, 0.5, 0.75])
    assert z.conditional("y", "Y").quantiles == tuple(
        (p, pytest.approx(q)) for p, q in zip((25, 50, 75), measured, strict=True))
    assert z.conditional("y", "N").quantiles == ((50, 105.5),)
    # c among the false rows: a 9, e 2 (rare: left out), b 1 (rare: left out).
    assert c.conditional("y", "N").frequencies == (("a", 1.0),)
    assert dict(c.conditional("y", "Y").frequencies) == {"a": 0.5, "b": 0.5}
    assert spec.column("y").conditionals == ()  # not given itself
    # Stable order: the true token first, then the false one; the missing rows belong to neither.
    assert [cond.level for cond in z.conditionals] == ["Y", "N"]
    text = infer_spec(tmp_path / "g.csv", InferOptions(target="y", keep_rare=True)).text
    assert text.index("values given y == Y") < text.index("quantiles given y == N")


def test_a_target_level_with_fewer_than_k_rows_gets_no_statistics(tmp_path):
    path = _given_csv(tmp_path)
    spec = _spec(path, target="y", min_count=13)  # the 12 false rows are too few
    assert all(col.conditional("y", "N") is None for col in spec.columns)
    assert spec.column("z").conditional("y", "Y").quantiles != ()  # 30 rows: 2 halves of 15
    assert [p for p, _ in spec.column("z").conditional("y", "Y").quantiles] == [50]
    # No target, or a numeric one: statistics are given only the levels of a categorical
    # column another depends on strongly (infer/dependence.py), never a number's.
    for other in (_spec(path), _spec(path, target="z")):
        givens = {cond.given for col in other.columns for cond in col.conditionals}
        assert givens <= {"y", "c"} and "z" not in givens


def test_categorical_target_levels_in_declared_order(tmp_path):
    rows = ["low,1"] * 6 + ["high,2"] * 8 + ["mid,3"] * 5 + ["rare,4"] * 2
    path = _write(tmp_path / "t.csv", "t,x\n" + "\n".join(rows) + "\n")
    spec = _spec(path, target="t", keep_rare=True)
    assert spec.column("t").levels == ("high", "low", "mid", "rare")
    assert [cond.level for cond in spec.column("x").conditionals] == ["high", "low", "mid"]
    assert spec.column("x").conditional("t", "high").values == ((2.0, 1.0),)


def test_real_diabetes_lists_glucose_and_hba1c_values(tmp_path):
    spec = _spec(real_csv("diabetes"), target="diabetes", keep_rare=True)
    for name in ("HbA1c_level", "blood_glucose_level"):
        column = spec.column(name)
        assert len(column.values) == 18 and column.quantiles == (), name
        assert {c.level for c in column.conditionals} == {"1", "0"}
    # The rules of the hand-written spec hold in the data, so the statistics given diabetes agree.
    glucose = spec.column("blood_glucose_level")
    assert max(v for v, _ in glucose.conditional("diabetes", "0").values) <= 200
    assert min(v for v, _ in glucose.conditional("diabetes", "1").values) >= 126
    # Deciles with 1%/5%/95%/99% tails, and bmi's imputed 27.32 (a quarter of the rows) as a jump.
    quantiles = spec.column("bmi").quantiles
    assert [p for p, v in quantiles if v != 27.32] == [1, 5, 10, 20, 30, 40, 70, 80, 90, 95, 99]
    assert [v for p, v in quantiles if p in (40.74, 66.23)] == [27.32, 27.32]


# ---- privacy: rare levels -------------------------------------------------------------
RARE_CSV = "site\n" + "north\n" * 6 + "south\n" * 5 + "Zyx Hospital\n" * 2 + "\n"


def test_rare_levels_are_left_out_and_reported(tmp_path, capsys):
    path = _write(tmp_path / "r.csv", RARE_CSV)
    out = tmp_path / "r.synspec"
    assert main(["infer", str(path), "-o", str(out)]) == 0
    text = out.read_text()
    assert "Zyx" not in text  # the rare value itself never reaches the spec
    spec = check_text(text).spec
    assert spec.column("site").levels == ("north", "south")
    assert math.fsum(s for _, s in spec.column("site").frequencies) == pytest.approx(1, abs=1e-3)
    err = capsys.readouterr().err
    assert "Zyx Hospital" in err and "site" in err and "--keep-rare" in err


def test_keep_rare_and_min_count(tmp_path):
    path = _write(tmp_path / "r.csv", RARE_CSV)
    assert _spec(path, keep_rare=True).column("site").levels == ("north", "south", "Zyx Hospital")
    assert _spec(path, min_count=6).column("site").levels == ("north",)
    assert _spec(path, min_count=1).column("site").levels == ("north", "south", "Zyx Hospital")


def test_free_text_column_is_refused_with_a_hint(tmp_path):
    path = _write(tmp_path / "f.csv", "name\nAnn\nBob\nCyd\n")
    with pytest.raises(UserError) as info:
        infer_spec(path, InferOptions())
    assert "every level would be left out" in info.value.message
    assert "identifier or free text" in info.value.hint


# Levels are arbitrary text: every one must come back exactly from the emitted spec.
_level_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"),
                      min_size=1, max_size=12).filter(
    lambda s: s not in ("NA", "N/A", "NaN", "nan", "NULL", "null"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.lists(_level_text, min_size=3, max_size=5, unique=True))
def test_any_level_text_round_trips(tmp_path, levels):
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["v"])
    for level in levels:
        for _ in range(5):
            writer.writerow([level])
    path = tmp_path / "h.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    result = infer_spec(path, InferOptions())
    checked = check_text(result.text)
    assert checked.errors == ()
    col = checked.spec.column("v")
    if col.kind is ir.ColumnKind.CATEGORICAL:
        assert set(col.levels) == set(levels)
    else:  # numbers or a boolean pair: the file texts are still exactly what is declared
        assert col.kind in (ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL, ir.ColumnKind.BOOLEAN)


# ---- files and errors (exit 2) --------------------------------------------------------
def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = _write(tmp_path / "t.csv", "a\n1\n2\n")
    out = tmp_path / "t.synspec"
    out.write_text("keep me")
    assert main(["infer", str(path), "-o", str(out)]) == 2
    assert out.read_text() == "keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["infer", str(path), "-o", str(out), "--force"]) == 0
    assert out.read_text().startswith("# Inferred")


@pytest.mark.parametrize("content, argv_extra, needle", [
    ("a,b\n1,2\n3\n", [], "row 2 has 1 fields"),
    ("", [], "is empty"),
    ("a,b\n", [], "no data rows"),
    ("a,a\n1,2\n", [], "appears twice"),
    ("a,\n1,2\n", [], "has no name"),
    ("a\n1\nNA\n\n", [], None),  # a trailing blank line is fine
    ("a\n1\nNA\nN/A\n", [], "missing values in 2 ways"),
    ("a,b\n1,2\n", ["--target", "bb"], "did you mean `b`"),
    ("a,b\n1,2\n", ["--key", "zz"], "not a column"),
    ("a,b\nx,2\n", ["--key", "a"], "not whole numbers"),
    ("a,b\n1,2\n", ["--target", "a", "--key", "a"], "both the target and a key"),
    ("a,b\n1,2\n", ["--min-count", "0"], "--min-count"),
    ("a,b\n1,2\n", ["--corr-threshold", "1.5"], "--corr-threshold"),
    ("a,b\n1,2\n", ["--name", "bad name"], "not a plain name"),
])
def test_bad_input_exits_2_with_one_message(tmp_path, capsys, content, argv_extra, needle):
    path = _write(tmp_path / "bad.csv", content)
    out = tmp_path / "bad.synspec"
    code = main(["infer", str(path), "-o", str(out), *argv_extra])
    err = capsys.readouterr().err
    if needle is None:
        assert code == 0
        return
    assert code == 2, err
    assert needle in err and "Traceback" not in err and "help:" in err
    assert not out.exists()


def test_unreadable_inputs_exit_2(tmp_path, capsys):
    out = tmp_path / "o.synspec"
    assert main(["infer", str(tmp_path / "nope.csv"), "-o", str(out)]) == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\ntea\ncaf\xe9\n".encode("latin-1"))
    assert main(["infer", str(latin), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "latin.csv:3" in err
    good = _write(tmp_path / "g.csv", "a\n1\n")
    assert main(["infer", str(good), "-o", str(tmp_path / "no" / "dir" / "o.synspec")]) == 2
    assert main(["infer", str(good)]) == 2  # -o is required
    assert main(["infer", str(good), "-o", str(good), "--force"]) == 2  # never overwrite the data
    assert good.read_text() == "a\n1\n"


def test_ragged_row_location_counts_quoted_line_breaks(tmp_path, capsys):
    path = _write(tmp_path / "q.csv", 'a,b\n"two\nlines",1\n3,4,5\n')
    assert main(["infer", str(path), "-o", str(tmp_path / "q.synspec")]) == 2
    assert "q.csv:4" in capsys.readouterr().err


def test_keyword_and_spaced_names_are_quoted(tmp_path):
    path = _write(tmp_path / "column.csv", "column,rule,x y,missing\n1,a,2.5,Y\n2,b,3,N\n3,a,4,Y\n")
    spec = _spec(path, keys=("column",), keep_rare=True)
    assert spec.name == "column" and spec.keys == ("column",)
    assert spec.column_names == ("column", "rule", "x y", "missing")
    assert spec.column("missing").kind is ir.ColumnKind.BOOLEAN


def test_many_rare_levels_are_summarised(tmp_path, capsys):
    rows = "".join(f"code{i}\n" for i in range(30)) + "common\n" * 5
    path = _write(tmp_path / "codes.csv", "code\n" + rows)
    assert main(["infer", str(path), "-o", str(tmp_path / "codes.synspec")]) == 0
    err = capsys.readouterr().err
    assert err.count("note: left out level") == 20 and "and 10 more rare levels" in err
    assert "code29" not in (tmp_path / "codes.synspec").read_text()


def test_a_level_named_like_a_column_is_a_warning_not_a_crash(tmp_path, capsys):
    """A CSV whose `sex` column holds the text `age` (a column's name) gives a spec with
    warning S208: infer writes it and passes the warning on (it once exited 3)."""
    rows = "".join(f"{30 + i},{'age' if i % 2 else 'M'}\n" for i in range(40))
    path = _write(tmp_path / "clash.csv", "age,sex\n" + rows)
    out = tmp_path / "clash.synspec"
    assert main(["infer", str(path), "-o", str(out)]) == 0
    assert "warning[S208]" in capsys.readouterr().err
    assert "levels" in out.read_text()


# Whatever the table, infer either writes a spec with no diagnostic at all or refuses with a
# UserError: never a spec that fails `synspec check`, never another exception.
_cell_kinds = st.sampled_from(["int", "dec", "cat", "bool", "const"])


@st.composite
def _tables(draw):
    n_rows = draw(st.integers(1, 25))
    columns = {}
    for index in range(draw(st.integers(1, 4))):
        kind = draw(_cell_kinds)
        if kind == "int":
            cells = [str(draw(st.integers(-10**6, 10**6))) for _ in range(n_rows)]
        elif kind == "dec":
            places = draw(st.integers(1, 4))
            cells = [f"{draw(st.floats(-1e4, 1e4, allow_nan=False)):.{places}f}" for _ in range(n_rows)]
        elif kind == "cat":
            cells = [draw(st.sampled_from(["a", "b c", "D-x", "ever", "1a"])) for _ in range(n_rows)]
        elif kind == "bool":
            pair = draw(st.sampled_from([("1", "0"), ("Y", "N"), ("Yes", "No"), ("True", "False")]))
            cells = [draw(st.sampled_from(pair)) for _ in range(n_rows)]
        else:
            cells = ["7"] * n_rows
        token = draw(st.sampled_from([None, "", "NA", "N/A"]))
        if token is not None:
            cells = [token if draw(st.booleans()) else c for c in cells]
        columns[f"c{index}"] = cells
    return columns


def _assert_cells_supported(quantiles, n_present: int, k: int) -> None:
    """Every cell between declared quantiles (and 0% and 100%) holds k rows, except the
    zero-row sliver between two neighbouring jumps (statistics.SLIVER)."""
    shares = [0.0] + [p / 100 for p, _ in quantiles] + [1.0]
    for a, b in zip(shares, shares[1:], strict=False):
        assert b - a <= 0.00011 or (b - a) * n_present >= k - 0.01 * n_present / 100, (quantiles, n_present)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables(), min_count=st.integers(1, 3), threshold=st.sampled_from([0.0, 0.1, 0.9]),
       target=st.integers(-1, 3), keep_rare=st.booleans())
def test_infer_output_always_checks_clean(tmp_path, table, min_count, threshold, target, keep_rare):
    names = list(table)
    lines = [",".join(names)] + [",".join(table[n][i] for n in names)
                                 for i in range(len(table[names[0]]))]
    path = _write(tmp_path / "p.csv", "\n".join(lines) + "\n")
    target_name = names[target] if 0 <= target < len(names) else None
    try:
        result = infer_spec(path, InferOptions(min_count=min_count, corr_threshold=threshold,
                                               target=target_name, keep_rare=keep_rare))
    except UserError:
        return
    checked = check_text(result.text)
    assert checked.diagnostics == (), [d.render() for d in checked.diagnostics]
    # The k rule: every statistic given a level speaks about at least k rows per cell.
    for column in checked.spec.columns:
        for cond in column.conditionals:
            cells = table[column.name]
            group = [c for c, t in zip(cells, table[cond.given], strict=True) if t == cond.level]
            present = [c for c in group if c != column.missing_token]
            if cond.quantiles:
                _assert_cells_supported(cond.quantiles, len(present), min_count)
            for value, _ in cond.values:
                assert sum(float(c) == value for c in present) >= min_count
            for level, _ in cond.frequencies:
                assert present.count(level) >= min_count


def test_large_integer_range_is_exact(tmp_path):
    spec_text = infer_spec(_write(tmp_path / "big.csv", "n\n9007199254740993\n1\n5\n"), InferOptions()).text
    assert "range 1 to 9007199254740993" in spec_text
