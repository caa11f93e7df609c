"""`pipeline.run` end to end without a model: rows drawn in full are rendered, checked and
written without decoding; resume (also from a version 1 manifest); seeding modes; the engine
registry; the seed_ex example sampler; infeasible draws. A stand-in engine records what the
pipeline asks of it and fails if a model would be loaded when none is needed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from conftest import SPECS

from synspec import ir
from synspec.cli import main
from synspec.errors import UserError
from synspec.generate import engines, examples, grammars, pipeline, seeding
from synspec.generate.engines import Engine, ModelInfo, RowText, Sampling
from synspec.passes import check_file, check_text
from synspec.targets.grammar import Within

# Every generated column categorical or boolean with declared frequencies, and no two in one
# hard rule: with --seeding levels every row is drawn in full. `never_z` rejects the rows whose
# draw of `a` is z (a fifth of them): the checker must catch those like any decoded row.
DRAWN_SPEC = """
dataset drawn
  key id
column id: integer
column a: categorical
  levels x, y, z
  frequencies x 0.5, y 0.3, z 0.2
column b: boolean yes/no
  frequencies yes 0.4, no 0.6
  missing 0.1 as "NA"
# Through the key column, which synspec numbers after drawing: neither the grammar nor the
# statistics check (S417) can see it, so drawn z rows reach the checker and are rejected.
rule never_z: a == z -> id < 0
"""

# v draws a quantile bin (left to the model) or, in half the rows, the missing token (exact).
MIXED_SPEC = """
dataset mixed
column a: categorical
  levels x, y
  frequencies x 0.5, y 0.5
column v: integer
  range 0 to 100
  missing 0.5 as "NA"
  quantiles 50% 40
"""


class StandIn:
    """An engine that loads only if allowed; every decoded row returns `text`."""

    per_row_grammars: ClassVar[bool] = True

    def __init__(self, text: str | None = None, allow_load: bool = False) -> None:
        self.text = text
        self.allow_load = allow_load
        self.loads = 0
        self.calls: list[int] = []  # rows per generate call

    @property
    def loaded(self) -> bool:
        return self.loads > 0

    def grammar_dialect(self) -> str:
        return "lark"

    def model_info(self) -> ModelInfo:
        return ModelInfo(name="stand-in", path="-", weights_hash=None, device="cpu", dtype="float32")

    def load(self) -> float:
        assert self.allow_load, "the model was loaded although no row needed it"
        self.loads += 1
        return 0.5

    def prompt_tokens(self, prompt: str) -> int | None:
        return len(prompt.split())

    def generate(self, prompt: str, grammars: Sequence[str], sampling: Sampling) -> list[RowText]:
        assert self.loaded
        self.calls.append(len(grammars))
        return [RowText(self.text, 3) for _ in grammars]


def spec_file(tmp_path: Path, text: str, name: str) -> tuple[ir.Spec, Path]:
    path = tmp_path / f"{name}.synspec"
    path.write_text(text)
    result = check_file(path)
    assert result.spec is not None, [d.render() for d in result.diagnostics]
    return result.spec, path


def config(spec: ir.Spec, path: Path, out: Path, **kwargs) -> pipeline.RunConfig:
    settings = {"n": 40, "batch_size": 16, "seed": 3, "seeding": "levels", **kwargs}
    return pipeline.RunConfig(spec=spec, spec_path=path, out=out, **settings)


# ---- rows drawn in full -------------------------------------------------------------------
def test_drawn_rows_are_checked_and_written_without_the_model(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, DRAWN_SPEC, "drawn")
    outs = [tmp_path / "one.csv", tmp_path / "two.csv"]
    for out in outs:
        result = pipeline.run(config(spec, path, out), engine=StandIn())
        assert result.status == "complete" and result.rows == 40
    assert outs[0].read_bytes() == outs[1].read_bytes()
    frame = pd.read_csv(outs[0], dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == [str(i) for i in range(1, 41)]
    assert "z" not in set(frame["a"]) and set(frame["b"]) <= {"yes", "no", "NA"}
    saved = json.loads((tmp_path / "one.csv.manifest.json").read_text())
    counts = saved["counts"]
    # never_z rejected every drawn z, and nothing else was rejected.
    assert counts["rejected_per_rule"]["never_z"] == counts["rejected"] > 0
    assert counts["drawn_rows"] == counts["generated"]
    assert saved["timings"]["model_load_s"] is None and saved["prompt_tokens"] is None
    assert saved["seeding"] == "levels" and saved["seeded_columns"] == ["a", "b"]
    assert pipeline.run(config(spec, path, tmp_path / "other.csv", seed=4), engine=StandIn()).rows == 40
    assert (tmp_path / "other.csv").read_bytes() != outs[0].read_bytes()


def test_only_rows_left_to_the_model_are_decoded(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, MIXED_SPEC, "mixed")
    engine = StandIn(text=None, allow_load=True)  # every decoded row comes back incomplete
    result = pipeline.run(config(spec, path, tmp_path / "o.csv", n=8, batch_size=8, seeding="marginals"),
                          engine=engine)
    saved = result.manifest
    drawn = saved.counts.drawn_rows
    # Half the rows draw v's missing token (exact) and are written; the others needed the model.
    assert drawn == result.rows == 8
    assert sum(engine.calls) == saved.counts.generated - drawn
    assert saved.counts.rejected_per_rule[pipeline.INCOMPLETE] == sum(engine.calls)
    assert engine.loads == 1 and saved.timings.model_load_s == 0.5
    assert saved.prompt_tokens is not None
    assert pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False)["v"].eq("NA").all()


def test_a_row_is_drawn_in_full_only_when_every_column_has_an_exact_text(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, MIXED_SPEC, "mixed")
    line = pipeline.drawn_line(spec, {"a": "x", "v": "NA"})
    assert line == '"x",NA'
    assert pipeline.drawn_line(spec, {"a": "x", "v": Within(0, 40)}) is None
    assert pipeline.drawn_line(spec, {"a": "x"}) is None


def test_the_command_line_runs_drawn_rows_without_loading_the_model(tmp_path: Path, capsys) -> None:
    from synspec.generate import model

    _, path = spec_file(tmp_path, DRAWN_SPEC, "drawn")
    out = tmp_path / "o.csv"
    # `llguidance` is the old name of the local engine; the weights are found, never loaded.
    args = ["run", str(path), "-n", "12", "-o", str(out), "--seeding", "levels", "--engine", "llguidance"]
    loaded_before = dict(model._LOADED)
    assert main(args) == 0
    assert model._LOADED == loaded_before
    saved = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert saved["engine"] == "local" and saved["timings"]["model_load_s"] is None
    assert saved["model"]["weights_hash"].startswith("sha256:")
    assert "12 of 12 rows" in capsys.readouterr().out


@pytest.mark.parametrize("flag, value, message", [
    ("--seeding", "copula", "unknown seeding mode 'copula'"),
    ("--engine", "vllm", "unknown engine 'vllm'"),
])
def test_bad_engine_or_seeding_flags_exit_2(tmp_path: Path, capsys, flag: str, value: str,
                                            message: str) -> None:
    out = tmp_path / "o.csv"
    code = main(["run", str(SPECS / "diabetes.synspec"), "-n", "2", "-o", str(out), flag, value])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "one of" in err
    assert not (tmp_path / "o.csv.manifest.json").exists()


# ---- resume ---------------------------------------------------------------------------------
class Interrupt(Exception):
    pass


def interrupted_run(cfg: pipeline.RunConfig, after_batches: int) -> None:
    """A run stopped after its first `after_batches` committed batches, as by kill -9."""
    seen = []

    def update(accepted: int, generated: int) -> None:
        seen.append(accepted)
        if len(seen) > after_batches:  # the first call comes before any batch
            raise Interrupt

    with pytest.raises(Interrupt):
        pipeline.run(cfg, pipeline.Progress(cfg.n, update), engine=StandIn())


def to_version_1(path: Path) -> None:
    """Rewrite a manifest as the version 1 synspec wrote it."""
    data = json.loads(path.read_text())
    data["manifest_version"] = 1
    data["engine"] = data["fingerprint"]["engine"] = "llguidance"
    for record in (data, data["fingerprint"]):
        del record["seeding"]
    del data["counts"]["drawn_rows"], data["starving_rule"]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("version", [2, 1])
def test_resume_writes_the_bytes_of_an_uninterrupted_run(tmp_path: Path, version: int) -> None:
    spec, path = spec_file(tmp_path, DRAWN_SPEC, "drawn")
    reference = tmp_path / "ref.csv"
    pipeline.run(config(spec, path, reference, seeding="marginals"), engine=StandIn())
    out = tmp_path / "o.csv"
    interrupted_run(config(spec, path, out, seeding="marginals"), after_batches=1)
    manifest_path = tmp_path / "o.csv.manifest.json"
    if version == 1:
        to_version_1(manifest_path)
    with pytest.raises(UserError, match="seed: run on disk has 3, now 4"):
        pipeline.run(config(spec, path, out, seeding="marginals", seed=4, resume=True), engine=StandIn())
    result = pipeline.run(config(spec, path, out, seeding="marginals", resume=True), engine=StandIn())
    assert result.status == "complete"
    assert out.read_bytes() == reference.read_bytes()
    assert json.loads(manifest_path.read_text())["manifest_version"] == 2


def test_resume_with_another_seeding_mode_is_refused(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, DRAWN_SPEC, "drawn")
    out = tmp_path / "o.csv"
    interrupted_run(config(spec, path, out, seeding="joint"), after_batches=1)
    with pytest.raises(UserError, match="seeding: run on disk has 'joint', now 'marginals'"):
        pipeline.run(config(spec, path, out, seeding="marginals", resume=True), engine=StandIn())


# ---- seeding modes ----------------------------------------------------------------------------
def test_seeding_modes_choose_their_columns() -> None:
    spec = check_file(SPECS / "diabetes.synspec").spec
    assert spec is not None
    levels = ("diabetes", "gender", "hypertension", "heart_disease", "smoking_history")
    assert seeding.seeded_columns(spec, "none") == ()
    assert seeding.seeded_columns(spec, "levels") == levels
    # age lists its values (no quantile bins), so marginals adds bmi only.
    assert seeding.seeded_columns(spec, "marginals") == (*levels, "bmi")
    # joint draws every generated column of the diabetes spec (all are declared).
    assert set(seeding.seeded_columns(spec, "joint")) == {c.name for c in spec.generated_columns}
    with pytest.raises(ValueError, match="unknown seeding mode"):
        seeding.seeded_columns(spec, "copula")


def test_seeding_draws_by_mode() -> None:
    spec = check_file(SPECS / "diabetes.synspec").spec
    assert spec is not None
    assert seeding.draw(spec, "none", (), 4, 0, 0) == [{}] * 4
    # joint: whole rows, exact file texts, the same for the same (seed, batch) and not another.
    rows = seeding.draw(spec, "joint", seeding.seeded_columns(spec, "joint"), 8, 1, 2)
    assert len(rows) == 8 and all(set(row) == {c.name for c in spec.generated_columns} for row in rows)
    assert all(isinstance(value, str) for row in rows for value in row.values())
    assert rows == seeding.draw(spec, "joint", (), 8, 1, 2) != seeding.draw(spec, "joint", (), 8, 1, 3)


# ---- engines -----------------------------------------------------------------------------------
def test_engine_registry_names_aliases_and_errors() -> None:
    assert engines.names() == ("local", "outlines", "server")
    assert engines.canonical("llguidance") == "local"
    with pytest.raises(UserError, match="unknown engine 'vllm'"):
        engines.canonical("vllm")


@pytest.mark.parametrize("name", [e.name for e in engines.REGISTRY])
def test_every_registered_engine_implements_the_protocol_without_loading(name: str) -> None:
    """Creating an engine and asking for its model's identity touches no model (and no server:
    the URL below has nothing listening)."""
    from synspec.generate.engines.server import ServerSettings

    remote = engines.entry(name).remote
    server = ServerSettings(base_url="http://127.0.0.1:9") if remote else None
    engine = engines.create(name, model="served-model" if remote else "default", server=server)
    assert isinstance(engine, Engine)
    assert not engine.loaded
    info = engine.model_info()
    if remote:
        assert info.weights_hash is None and info.name == "served-model" and info.device == "server"
    else:
        assert info.weights_hash and info.weights_hash.startswith("sha256:")
    assert not engine.loaded


def test_an_engine_without_per_row_grammars_runs_unseeded(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, MIXED_SPEC, "mixed")

    class OneGrammar(StandIn):
        per_row_grammars: ClassVar[bool] = False

    engine = OneGrammar(text='"x",50', allow_load=True)
    result = pipeline.run(config(spec, path, tmp_path / "o.csv", n=4, batch_size=4, seeding="marginals"),
                          engine=engine)
    assert result.manifest.seeding == "none" and result.manifest.seeded_columns == []
    assert result.manifest.counts.drawn_rows == 0 and engine.calls == [4]


# ---- seed_ex examples ----------------------------------------------------------------------------
def test_examples_are_sampled_by_seed_in_file_order() -> None:
    raw = pd.DataFrame({"a": [str(i) for i in range(50)]})
    picked = examples.sample_examples(raw, 7, 5)
    assert list(picked.indices) == sorted(picked.indices) and len(set(picked.indices)) == 5
    assert picked.rows["a"].tolist() == [str(i) for i in picked.indices]
    assert examples.sample_examples(raw, 7, 5).indices == picked.indices
    assert examples.sample_examples(raw, 8, 5).indices != picked.indices
    assert examples.sample_examples(raw.head(3), 7, 5).indices == (0, 1, 2)


def test_examples_are_found_again_from_the_manifest(tmp_path: Path) -> None:
    spec, path = spec_file(tmp_path, DRAWN_SPEC, "drawn")
    data = tmp_path / "real.csv"
    rows = "".join(f"{i},{'xy'[i % 2]},{'yes' if i % 3 else 'no'}\n" for i in range(30))
    data.write_text("id,a,b\n" + rows)
    cfg = config(spec, path, tmp_path / "o.csv", n=4, batch_size=4, style="seed_ex", examples=data)
    result = pipeline.run(cfg, engine=StandIn())
    record = json.loads((tmp_path / "o.csv.manifest.json").read_text())["examples"]
    assert record["rows"] == 5 == len(record["rows_used"])
    shown = examples.shown_rows(Path(record["path"]), record["rows_used"], spec)
    assert shown.equals(examples.read_examples(data, spec, cfg.seed).rows)
    prompt = pipeline.build_prompt(pipeline.normalised(cfg)).text
    for _, row in shown.iterrows():
        assert f'"{row["a"]}",{row["b"]}' in prompt
    assert result.manifest.examples is not None


def test_a_bad_example_cell_is_a_user_error_with_its_line(tmp_path: Path) -> None:
    spec, _ = spec_file(tmp_path, MIXED_SPEC, "mixed")
    data = tmp_path / "real.csv"
    data.write_text("a,v\nx,12\ny,twelve\n")
    with pytest.raises(UserError, match="data row 2, column v") as err:
        examples.read_examples(data, spec, 0)
    assert err.value.where == f"{data}:3"


# ---- infeasible draws ------------------------------------------------------------------------------
STROKE_CONFLICT = {"ever_married": "Yes", "work_type": "children"}


def test_infeasible_fixed_values_raise_their_own_exception() -> None:
    spec = check_file(SPECS / "stroke.synspec").spec
    assert spec is not None
    with pytest.raises(grammars.InfeasibleRow) as err:
        grammars.build(spec, STROKE_CONFLICT)
    assert not isinstance(err.value, UserError) and err.value.fixed == STROKE_CONFLICT
    grammar, dropped = grammars.RowGrammars(spec).for_row(STROKE_CONFLICT)
    assert dropped == 1 and grammar.fixed == {"ever_married": "Yes"}


def test_a_spec_that_admits_no_row_is_refused_by_check() -> None:
    # The analysis the grammar is built from runs in check (S504), so no run ever starts.
    result = check_text("""
dataset none
column a: integer
  range 0 to 5
column b: integer
  range 0 to 5
rule up: a > 3 -> b > 3
rule down: a > 3 -> b < 2
rule big: a > 3
""")
    assert result.spec is None
    [error] = result.errors
    assert error.code == "S504" and "`up`, `down`, `big`" in error.message
