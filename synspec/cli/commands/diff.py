"""`synspec diff OLD NEW`: what changed between two versions of a spec, for a reviewer.

Argument wiring, printing and the exit code only; the diff is `synspec.diff`. Also the two git
hooks: `--textconv FILE` (one fact per line, for `diff.synspec.textconv`) and `--git` (git's
external diff protocol, for `diff.synspec.command`).
"""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, UserError


class Format(StrEnum):
    text = "text"
    json = "json"


def diff(
    versions: list[str] = typer.Argument(..., metavar="OLD NEW", show_default=False,
                                         help="Two versions: files, or REV:path read through git "
                                              "(e.g. HEAD~1:specs/diabetes.synspec)."),
    format: Format = typer.Option(Format.text, "--format", help="text (for people) or json (every change)."),
    textconv: bool = typer.Option(False, "--textconv", help="Print one version as one fact per line "
                                                            "(git's diff.synspec.textconv)."),
    git: bool = typer.Option(False, "--git", help="Take git's external diff arguments (diff.synspec.command: "
                                                  "PATH OLD HEX MODE NEW HEX MODE); always exits 0."),
) -> None:
    """Compare two versions of a spec by meaning: columns added, removed, renamed, retyped;
    ranges, levels and missing tokens; every statistic moved, with the size of the move
    (shares in points, means and quantiles in sds); correlations; rules; and the hard rules
    the grammar now enforces differently. Comments and layout are ignored.

    Exit 0 when the versions mean the same, 1 when they differ, 2 for an input error.

    Example: synspec diff HEAD~1:specs/diabetes.synspec specs/diabetes.synspec
    """
    from synspec.diff import diff_texts, render_json, render_text
    from synspec.diff import textconv as to_facts
    from synspec.diff.revisions import read_version

    if textconv:
        if len(versions) != 1:
            raise UserError(f"--textconv takes one file, got {len(versions)}", where="--textconv",
                            hint="git runs it as `synspec diff --textconv FILE`")
        label, text = read_version(versions[0])
        sys.stdout.write(to_facts(text, label))
        raise typer.Exit(EXIT_OK)
    if git:
        if len(versions) != 7:
            raise UserError(f"--git takes git's 7 external diff arguments, got {len(versions)}",
                            where="--git",
                            hint="set it up as: git config diff.synspec.command 'synspec diff --git'")
        path, old_file, _, _, new_file, _, _ = versions
        old = "" if old_file == "/dev/null" else read_version(old_file)[1]
        new = "" if new_file == "/dev/null" else read_version(new_file)[1]
        if not old or not new:
            sys.stdout.write(f"{path}: {'new spec' if not old else 'spec deleted'}\n")
        else:
            report = diff_texts(old, new, old_label=f"a/{path}", new_label=f"b/{path}")
            text = render_text(report)
            sys.stdout.write(text + "\n" if text else "")
        raise typer.Exit(EXIT_OK)  # git stops at an external diff that exits non-zero
    if len(versions) != 2:
        raise UserError(f"diff compares two versions, got {len(versions)}", where="OLD NEW",
                        hint="e.g. synspec diff HEAD~1:specs/diabetes.synspec specs/diabetes.synspec")
    (old_label, old_text), (new_label, new_text) = read_version(versions[0]), read_version(versions[1])
    report = diff_texts(old_text, new_text, old_label=old_label, new_label=new_label)
    if format is Format.json:
        sys.stdout.write(render_json(report))
    else:
        text = render_text(report)
        sys.stdout.write((text or f"{old_label} and {new_label}: no semantic change") + "\n")
    raise typer.Exit(EXIT_OK if report.equal else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
