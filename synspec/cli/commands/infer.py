"""`synspec infer DATA.csv -o SPEC`: write a first spec from a CSV (aggregates only)."""

from __future__ import annotations

from pathlib import Path

import typer

from synspec.atomic import write_text
from synspec.cli.common import EXIT_OK, console, err_console
from synspec.files import require_file, require_output

_MAX_RARE_NOTES = 20


def infer(
    data: Path = typer.Argument(..., metavar="DATA.csv", show_default=False,
                                help="The CSV file to describe."),
    output: Path = typer.Option(..., "-o", "--output", metavar="SPEC", show_default=False,
                                help="Where to write the spec (.synspec)."),
    target: str | None = typer.Option(None, "--target", metavar="COL",
                                      help="The column to predict (the label)."),
    name: str | None = typer.Option(None, "--name", metavar="NAME",
                                    help="Dataset name (default: the file name)."),
    key: list[str] = typer.Option([], "--key", metavar="COL", show_default=False,
                                  help="An identifier column synspec numbers itself; repeat for several."),
    min_count: int = typer.Option(5, "--min-count", metavar="K",
                                  help="Leave out categorical levels seen fewer times than this "
                                       "(they could identify a person)."),
    keep_rare: bool = typer.Option(False, "--keep-rare",
                                   help="Keep rare levels anyway (so every row of the file validates)."),
    corr_threshold: float = typer.Option(0.1, "--corr-threshold", metavar="R",
                                         help="Write Pearson correlations of numeric pairs with |r| "
                                              "at least this."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Infer a spec from a CSV: types, encodings, ranges, missing tokens and statistics.

    Only aggregates reach the spec. Categorical levels seen fewer than --min-count
    times are left out and listed on stderr (a spec without a level rejects rows that
    hold it; --keep-rare keeps them). Descriptions and units are left as TODOs.

    Example: synspec infer data/stroke.csv --target stroke --key id -o specs/stroke.synspec
    """
    from synspec.api.inference import infer_result

    require_file(data, "data file", "pass the path of a CSV file")
    require_output(output, "output file", force=force, flag="-o", inputs=(data,))
    with err_console.status(f"reading {data}") as status:
        # What infer writes checks without errors (an error is a bug, raised there); warnings
        # describe the data (a level named like a column, S208) and are passed on.
        text, result, warnings = infer_result(
            data, target=target, name=name, keys=key, min_count=min_count, keep_rare=keep_rare,
            corr_threshold=corr_threshold, progress=lambda col: status.update(f"profiling {col}"),
            label=str(output))
    write_text(output, text)
    for warning in warnings:
        err_console.print(warning.render(), markup=False, highlight=False)

    # Capped: a column of near-unique codes would otherwise flood the terminal.
    for rare in result.rare[:_MAX_RARE_NOTES]:
        verb = "kept" if keep_rare else "left out"
        err_console.print(f"note: {verb} level {rare.level!r} of `{rare.column}` (seen {rare.count} "
                          f"time{'s' * (rare.count != 1)}, fewer than {min_count})",
                          markup=False, highlight=False)
    if len(result.rare) > _MAX_RARE_NOTES:
        err_console.print(f"note: and {len(result.rare) - _MAX_RARE_NOTES} more rare levels",
                          markup=False, highlight=False)
    if result.rare and not keep_rare:
        err_console.print("  = help: rows holding a left-out level fail validation against this spec; "
                          "add the level by hand or rerun with --keep-rare", markup=False)
    console.print(f"wrote {output}: {result.n_columns} columns, {result.n_rows} rows described, "
                  f"{result.n_correlations} correlations", markup=False)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("infer")(infer)
