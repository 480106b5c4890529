"""Atomic writes: a file, a folder or a numbered version appears whole, or not at all.

    atomic_write(path, fill)        fill(f) writes a temp file beside `path`; fsync; os.replace;
                                    fsync the folder (so the rename itself survives a crash)
    atomic_write_bytes/text/json    the same for ready data
    replace_folder(target)          a temp folder beside `target` that replaces it on success
    write_version(folder, ...)      the next `vNNNN` under `folder`: filled in a temp folder,
                                    numbered, renamed into place (another writer may take a
                                    number first: then the next one is tried)
    version_numbers / latest_version   the versions a folder holds

A crash leaves the old file (or no version) plus at most a hidden temp entry, never half a file.
Ground floor: imports nothing of vibeforge, so store, platforms, privacy and models all use it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

F = TypeVar("F")
T = TypeVar("T")
VERSION_FOLDER = re.compile(r"^v(\d{4,})$")


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, fill: Callable[[IO[bytes]], object], *, mode: int = 0o666) -> None:
    """Write `path` through `fill(f)`; `mode` (less the umask) applies from the first byte."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o666) -> None:
    atomic_write(path, lambda f: f.write(data), mode=mode)


def atomic_write_text(path: Path, text: str, *, mode: int = 0o666) -> None:
    atomic_write_bytes(path, text.encode(), mode=mode)


def atomic_write_json(path: Path, data: Any, *, indent: int | None = 2, mode: int = 0o666) -> None:
    atomic_write_text(path, json.dumps(data, indent=indent), mode=mode)


def _fsync_files(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


@contextmanager
def replace_folder(target: Path) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; when the block ends, it replaces `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        _fsync_files(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; a replaced folder reads like any other
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(target.parent)


def version_folder(folder: Path, version: int) -> Path:
    return folder / f"v{version:04d}"


def version_numbers(
    folder: Path, *, pattern: re.Pattern[str] = VERSION_FOLDER, files: bool = False
) -> list[int]:
    """Versions in `folder`, oldest first: sub-folders (or files) whose name `pattern` numbers."""
    if not folder.is_dir():
        return []
    found = (pattern.match(p.name) for p in folder.iterdir() if p.is_file() == files)
    return sorted(int(m.group(1)) for m in found if m)


def latest_version(
    folder: Path, *, pattern: re.Pattern[str] = VERSION_FOLDER, files: bool = False
) -> int | None:
    return max(version_numbers(folder, pattern=pattern, files=files), default=None)


def write_version(
    folder: Path, *, fill: Callable[[Path], F], seal: Callable[[Path, int, F], T]
) -> T:
    """Write the next version folder `vNNNN` of `folder`; returns what `seal` returns.

    `fill(tmp)` writes what does not depend on the number (weights) and returns what `seal`
    needs (a checksum); `seal(tmp, version, filled)` writes what names the version (a record
    with its number and path), and may run again with the next number if the rename loses.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        filled = fill(tmp)
        while True:
            version = max(version_numbers(folder), default=0) + 1
            target = version_folder(folder, version)
            record = seal(tmp, version, filled)
            _fsync_files(tmp)
            try:
                os.rename(tmp, target)
            except OSError:
                if target.exists():
                    continue
                raise
            break
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(folder)
    return record
