"""The `synspec` command line: argument wiring and exit codes only.

Each subcommand lives in its own module under `synspec/cli/commands/` and exposes
`register(app)`; this package discovers them, so adding a command touches no
shared file. Exit codes (everywhere): 0 ok, 1 findings (spec errors, rule
violations, failed thresholds), 2 usage or input error, 3 internal error (a bug).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from synspec.cli.common import EXIT_INTERNAL, EXIT_USAGE, UserError, err_console, print_user_error

# Help lists commands in pipeline order; a new command not named here goes last.
COMMAND_ORDER = ("check", "fmt", "diff", "infer", "compile", "validate", "run", "eval", "docs")

app = typer.Typer(
    name="synspec",
    help="Compile .synspec dataset specs into prompts, grammars and rule checkers; "
         "generate and evaluate synthetic medical tables.\n\n"
         "Example: synspec check specs/diabetes.synspec",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register_commands() -> None:
    from synspec.cli import commands

    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    for name in sorted(names, key=lambda n: (rank.get(n, len(rank)), n)):
        importlib.import_module(f"synspec.cli.commands.{name}").register(app)


def _print_version(value: bool) -> None:
    """`--version`: synspec, the default model and the generation libraries actually installed."""
    if not value:
        return
    from synspec.generate import manifest, model

    versions = manifest.library_versions()
    try:
        location = model.default_location()
        weights = f"{model.DEFAULT_NAME}, {location.weights_path}"
        package = manifest.package_version(model.DEFAULT_PACKAGE.replace("_", "-"))
        weights += f" (package {model.DEFAULT_PACKAGE.replace('_', '-')} {package})"
    except UserError as err:
        weights = f"{model.DEFAULT_NAME}: not available ({err.message})"
    lines = [f"synspec {manifest.synspec_version()}", f"model {weights}",
             *(f"{name} {versions[name]}" for name in ("llguidance", "transformers", "torch", "outlines")),
             f"python {versions['python']}"]
    typer.echo("\n".join(lines))
    raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the versions of synspec, its default model and "
                                      "generation libraries, then exit."),
) -> None:
    """Keeps `synspec COMMAND` a group even while only one command is registered."""


_register_commands()


# Options whose value may be left out (`--stats` alone means `--stats fail`); click can say so,
# typer cannot pass it through.
_OPTIONAL_VALUES = {"--stats": ("fail", ("fail", "warn"))}


def _optional_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in _OPTIONAL_VALUES:
            default, values = _OPTIONAL_VALUES[arg]
            if i + 1 >= len(argv) or argv[i + 1] not in values:
                out.append(default)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app and maps every failure to an exit code and one message."""
    argv = _optional_values(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Standalone mode lets typer print usage errors (exit 2) itself; commands end with
    # `raise typer.Exit(code)`, which arrives here as SystemExit.
    try:
        app(args=argv, prog_name="synspec", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if code == EXIT_INTERRUPTED and _from_ctrl_c(exc):
            print_interrupted(argv)  # typer turns Ctrl-C into a silent exit 130
        return code if isinstance(code, int) else EXIT_USAGE
    except UserError as err:
        print_user_error(err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_interrupted(argv)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug in synspec, not in what the user wrote
        if os.environ.get("SYNSPEC_DEBUG"):
            raise
        err_console.print(f"internal error: {type(exc).__name__}: {exc}\n"
                          "  = help: this is a bug in synspec; rerun with SYNSPEC_DEBUG=1 for the "
                          "traceback and report it", markup=False, highlight=False)
        return EXIT_INTERNAL
    return 0


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _from_ctrl_c(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is behind `exc` (typer raises click's Exit from it, and click
    a SystemExit while handling that)."""
    seen: BaseException | None = exc
    for _ in range(8):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if isinstance(seen, KeyboardInterrupt):
            return True
    return False


def print_interrupted(argv: list[str]) -> None:
    """One line for Ctrl-C; `run` also says how to go on (its finished batches are kept)."""
    err_console.print("interrupted", style="bold red", markup=False)
    if argv[:1] == ["run"]:
        err_console.print("  = help: the rows of every finished batch are kept; run the same command "
                          "with --resume to go on from there", markup=False)


def run() -> None:
    sys.exit(main())
