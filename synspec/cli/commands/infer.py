"""`synspec infer DATA.csv -o SPEC`: write a first spec from a CSV (aggregates only)."""

from __future__ import annotations

from pathlib import Path

import typer

from synspec.atomic import write_text
from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, UserError, console, err_console
from synspec.files import require_file, require_output

_MAX_RARE_NOTES = 20


def infer(
    data: Path = typer.Argument(..., metavar="DATA.csv", show_default=False,
                                help="The CSV file to describe."),
    output: Path | None = typer.Option(None, "-o", "--output", metavar="SPEC", show_default=False,
                                       help="Where to write the spec (.synspec)."),
    update: Path | None = typer.Option(None, "--update", metavar="SPEC", show_default=False,
                                       help="Re-measure the statistics of this existing spec and rewrite "
                                            "only those numbers, in place (or into -o)."),
    check: bool = typer.Option(False, "--check", help="With --update: write nothing, print the semantic "
                                                      "diff the refresh would make, exit 1 if it changes "
                                                      "anything."),
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

    With --update SPEC, the spec's statistics (rows, missing shares, means, sds, quantiles,
    value and level shares, their `given` forms, correlations) are measured again and only
    those numbers are rewritten; descriptions, units, rules, citations, comments and order stay
    byte for byte. New columns are drafted with TODOs; columns the data lacks are reported.

    Example: synspec infer data/stroke.csv --target stroke --key id -o specs/stroke.synspec

    Example: synspec infer data/stroke-2025-01.csv --update specs/stroke.synspec --check
    """
    from synspec.api.inference import infer_result

    require_file(data, "data file", "pass the path of a CSV file")
    if update is not None:
        drafting = [flag for flag, given in (("--target", target), ("--name", name), ("--key", key),
                                             ("--keep-rare", keep_rare),
                                             ("--corr-threshold", corr_threshold != 0.1)) if given]
        if drafting:
            raise UserError(f"{drafting[0]} drafts a new spec; --update keeps the spec's own "
                            "declarations", where=drafting[0],
                            hint="drop it, or draft a new spec with -o instead of --update")
        _update(data, update, output, check=check, force=force, min_count=min_count)
    if check:
        raise UserError("--check goes with --update", where="--check",
                        hint="synspec infer DATA.csv --update SPEC --check")
    if output is None:
        raise UserError("infer needs -o SPEC (a new spec) or --update SPEC (refresh an existing one)",
                        where="-o", hint="e.g. synspec infer data.csv -o data.synspec")
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


def _update(data: Path, spec: Path, output: Path | None, *, check: bool, force: bool, min_count: int) -> None:
    """`--update`: refresh SPEC's numbers from DATA (in place, into -o, or only shown with --check)."""
    from synspec.infer.update import update_file

    require_file(spec, "spec file", "pass the path of the .synspec file to refresh")
    target = output if output is not None else spec
    if output is not None and not check:
        require_output(output, "output file", force=force, flag="-o", inputs=(data, spec))
    result = update_file(spec, data, min_count=min_count)
    for note in result.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    for name in result.removed:
        err_console.print(f"note: column `{name}` is declared in {spec} but not in {data}; kept (delete "
                          "it by hand if it is gone for good)", markup=False, highlight=False)
    count = len(result.added)
    added = f", {count} column{'s' * (count != 1)} added ({', '.join(result.added)})" if count else ""
    if check:
        _print_semantic_diff(spec, result.text)
        verb = "would change" if result.changed else "is up to date:"
        console.print(f"{spec} {verb} {result.n_numbers} number{'s' * (result.n_numbers != 1)}{added}",
                      markup=False)
        raise typer.Exit(EXIT_FINDINGS if result.changed else EXIT_OK)
    if result.changed or output is not None:
        write_text(target, result.text)
    console.print(f"updated {target}: {result.n_numbers} number{'s' * (result.n_numbers != 1)} re-measured"
                  f"{added}", markup=False)
    raise typer.Exit(EXIT_OK)


def _print_semantic_diff(spec: Path, new_text: str) -> None:
    """What `synspec diff` would say of the refresh (a reviewer's view of the new numbers)."""
    try:
        from synspec.diff import diff_texts, render_text
    except ImportError:  # the semantic diff is optional here
        return
    old_text = spec.read_text(encoding="utf-8-sig")
    report = diff_texts(old_text, new_text, old_label=str(spec), new_label=f"{spec} (refreshed)")
    text = render_text(report)
    if text:
        console.print(text, markup=False, highlight=False, emoji=False)


def register(app: typer.Typer) -> None:
    app.command("infer")(infer)
