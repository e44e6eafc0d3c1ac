"""Where commands write: checked before anything is computed or written.

Every file or directory a command writes goes through these checks first:

- a **file** is written in the format its extension names, or refused
  (``--trace x.csv``, ``--plot out.txt``); its directory must exist;
- an existing file is replaced only with ``--force``;
- an **output directory** that exists and is not empty is used only with
  ``--force``, and then the outputs an earlier run left there (summary,
  trace, report) are removed first, so nothing stale survives; other files
  in it are left alone;
- a **symbolic link** is never followed when writing: a path that is one (or
  a directory reached through one) is refused, so a link cannot redirect a
  write elsewhere.

``OutputError`` carries one line for the user (exit 2 on the command line).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

#: Trace formats by extension.
TRACE_SUFFIXES = {".jsonl": "JSON Lines", ".ndjson": "JSON Lines", ".parquet": "Parquet"}


class OutputError(Exception):
    """An output path that cannot be used as asked (one line for the user)."""


def _no_link(path: Path, option: str) -> None:
    if path.is_symlink():
        raise OutputError(f"{option} {path}: is a symbolic link; normflow does not write through links")


def figure_formats() -> dict[str, str]:
    """Figure formats matplotlib writes, by extension (``png``: ``Portable Network Graphics``)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return dict(FigureCanvasBase.get_supported_filetypes())


def check_file(
    path: str | Path,
    option: str,
    *,
    force: bool = False,
    suffixes: Iterable[str] | None = None,
    what: str = "a file",
) -> Path:
    """Check a file to be written (see the module's docstring); returns it."""
    path = Path(path)
    if suffixes is not None:
        allowed = sorted(set(suffixes))
        if path.suffix.lower() not in allowed:
            raise OutputError(
                f"{option} {path}: expected {what} ending in {', '.join(allowed)} "
                f"(the extension names the format written)"
            )
    _no_link(path, option)
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{option} {path}: the directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is not a directory")
    if path.exists():
        if path.is_dir() and path.suffix.lower() != ".parquet":
            raise OutputError(f"{option} {path}: is a directory; expected {what}")
        if not force:
            raise OutputError(f"{option} {path}: exists; add --force to replace it")
    return path


def check_trace(path: str | Path, option: str = "--trace", *, force: bool = False) -> Path:
    """A trace path: ``.jsonl`` / ``.ndjson`` (JSON Lines) or ``.parquet`` (a
    directory of Parquet files)."""
    path = check_file(path, option, force=force, suffixes=TRACE_SUFFIXES, what="a trace")
    if path.suffix.lower() == ".parquet" and path.is_dir():
        _refuse_foreign(path, option, {".parquet", ".json"})
    return path


def check_figure(path: str | Path, option: str = "--plot", *, force: bool = False) -> Path:
    """A figure path in a format matplotlib writes (by its extension)."""
    return check_file(
        path, option, force=force, suffixes=[f".{x}" for x in figure_formats()], what="a figure file"
    )


def figure_format(path: str | Path) -> str:
    """The matplotlib format a figure path names (its extension)."""
    return Path(path).suffix.lower().lstrip(".")


def _refuse_foreign(path: Path, option: str, suffixes: set[str]) -> None:
    for child in path.iterdir():
        if child.suffix.lower() not in suffixes or child.is_symlink():
            raise OutputError(
                f"{option} {path}: holds {child.name}, which no trace wrote; choose another path"
            )


def prepare_directory(
    path: str | Path, option: str = "--out", *, force: bool = False, ours: Iterable[str] = ()
) -> Path:
    """Make an output directory ready: created if missing; if it exists and
    is not empty, refused unless ``force``, and then the files named in
    ``ours`` (what this command writes) are removed first. Returns it."""
    path = Path(path)
    _no_link(path, option)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{option} {path}: exists and is not a directory")
        contents = list(path.iterdir())
        if contents and not force:
            raise OutputError(
                f"{option} {path}: exists and is not empty; add --force to replace the outputs of an earlier run"
            )
        for name in ours:
            old = path / name
            if old.is_symlink() or old.is_file():
                old.unlink()
            elif old.is_dir():
                shutil.rmtree(old)
    else:
        path.mkdir(parents=True)
    return path
