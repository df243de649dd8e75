"""Where a subcommand may write: never over its own inputs, never over an existing file without ``--force``.

Every subcommand that writes a file declares ``--force`` with :func:`add_force_option`
and calls :func:`check_outputs` before it writes (and before any long computation).
A target that exists is refused unless ``--force`` is given (FileExistsError); a
target that *is* one of the command's inputs (the same file, through any path,
symlink or hard link) is refused even with ``--force`` (ValueError). Both end
``stfmr`` with exit status 2 and a one-line message naming the file and the option.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

FORCE_HELP = "replace output files that exist already (default: refuse); inputs are never overwritten"


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """Declare ``--force`` with the common help text."""
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def folder_files(folder: str | Path) -> list[Path]:
    """Every file directly inside ``folder`` (a run folder's data, manifest, log...); [] if it is no folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file())


def existing_files(paths: Iterable[str | Path | None]) -> list[Path]:
    """The given paths that name existing files (None and names that are no file are left out)."""
    return [Path(p) for p in paths if p is not None and Path(p).is_file()]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(targets: Iterable[str | Path], *, option: str, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write ``targets`` (the files one option writes) over inputs or, without force, over files.

    option: how the user named the output, e.g. ``"--export"`` or ``"--report out/"``.
    Raises ValueError when a target is one of ``inputs`` or a folder, and
    FileExistsError when a target exists and ``force`` is false.
    """
    inputs = list(inputs)
    existing = []
    for target in map(Path, targets):
        if target.is_dir():
            raise ValueError(f"{option}: {target} is a folder, not a file")
        if not (target.exists() or target.is_symlink()):
            continue
        source = next((i for i in inputs if _same_file(target, i)), None)
        if source is not None:
            what = "" if source == target else f" ({source})"
            raise ValueError(f"{option}: {target} is an input of this command{what}; "
                             "it is never overwritten, even with --force")
        existing.append(target)
    if existing and not force:
        names = ", ".join(str(p) for p in existing[:3])
        if len(existing) > 3:
            names += f" and {len(existing) - 3} more"
        verb = "exists" if len(existing) == 1 else "exist"
        raise FileExistsError(f"{option}: {names} {verb} already; give --force to replace "
                              f"{'it' if len(existing) == 1 else 'them'}")
