"""Reading one version of a spec for `synspec diff`: a file, or `REV:path` through git.

Owns telling the two apart (an existing file wins; otherwise `REV:path` with a colon is read as
`git show REV:path` reads it, the path relative to the top of the repository, or to the current
folder when written `REV:./path`) and turning every git failure (no git, not a repository, an
unknown revision, a path missing at that revision) into one `UserError` with a hint.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from synspec.errors import UserError
from synspec.files import require_file


def _git(args: list[str], where: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=False, check=False, timeout=60)
    except FileNotFoundError:
        raise UserError("git is not installed, so a `REV:path` version cannot be read", where=where,
                        hint="install git, or pass two files") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _git_error(message[0] if message else f"git {args[0]} failed", where)
    return done.stdout.decode("utf-8-sig")


def _git_error(message: str, where: str) -> UserError:
    text = message.removeprefix("fatal: ")
    if "not a git repository" in text:
        return UserError(f"cannot read {where}: the current folder is not in a git repository", where=where,
                         hint="run synspec diff inside the repository, or pass two files")
    if "does not exist in" in text or "exists on disk, but not in" in text:
        return UserError(f"cannot read {where}: {text}", where=where,
                         hint="paths after `REV:` are relative to the top of the repository "
                              "(write `REV:./path` for one relative to the current folder)")
    return UserError(f"cannot read {where}: {text}", where=where,
                     hint="check the revision (`git log --oneline`) and the path (`git ls-tree -r REV`)")


def is_revision(arg: str) -> bool:
    """`REV:path` rather than a file: it holds a colon and names no existing file."""
    return ":" in arg and not Path(arg).exists()


def read_version(arg: str) -> tuple[str, str]:
    """(label, text) of a file or of `REV:path`; a `UserError` when it cannot be read."""
    if not is_revision(arg):
        file = require_file(Path(arg), "spec file",
                            "pass a .synspec file or REV:path (e.g. HEAD~1:specs/x.synspec)")
        try:
            return arg, file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError(f"spec file is not UTF-8 text: {arg}", where=arg,
                            hint="save the spec as UTF-8") from None
        except OSError as err:
            raise UserError(f"cannot read {arg}: {err.strerror or err}", where=arg,
                            hint="check the file's permissions") from None
    rev, _, path = arg.partition(":")
    if not path:
        raise UserError(f"{arg!r} names a revision but no path", where=arg,
                        hint="write REV:path, e.g. HEAD~1:specs/x.synspec")
    _git(["rev-parse", "--git-dir"], arg)
    if _git(["cat-file", "-t", f"{rev}:{path}"], arg).strip() != "blob":
        raise UserError(f"{arg} is a folder, not a spec file", where=arg,
                        hint=f"name a file in it: `git ls-tree --name-only {rev}:{path}` lists them")
    return arg, _git(["show", f"{rev}:{path}"], arg)
