"""Atomic writes: the old content or the new, never half; versions numbered without collisions."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from vibeforge.atomic import (
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    latest_version,
    replace_folder,
    version_numbers,
    write_version,
)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    atomic_write_json(path, {"n": 1})

    def half(f) -> None:  # type: ignore[no-untyped-def]
        f.write(b'{"n": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half)
    assert json.loads(path.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_mode_applies_from_the_first_byte(tmp_path: Path) -> None:
    secret = tmp_path / "token.json"
    atomic_write_text(secret, "{}", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    plain = tmp_path / "plain.txt"
    atomic_write_text(plain, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask  # like any open()ed file


def test_replace_folder_swaps_the_whole_folder_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "export"
    with replace_folder(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), replace_folder(target) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("interrupted")
    assert [p.name for p in target.iterdir()] == ["a"]
    with replace_folder(target) as tmp:
        (tmp / "b").write_text("2")
    assert [p.name for p in target.iterdir()] == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_versions_are_numbered_in_order_and_a_taken_number_moves_on(tmp_path: Path) -> None:
    folder = tmp_path / "bot"

    def fill(tmp: Path) -> str:
        (tmp / "weights").write_text("w")
        return "digest"

    def seal(tmp: Path, version: int, digest: str) -> int:
        (tmp / "meta.json").write_text(json.dumps({"version": version, "sha": digest}))
        return version

    assert write_version(folder, fill=fill, seal=seal) == 1
    racing = []

    def seal_while_another_writer_takes_2(tmp: Path, version: int, digest: str) -> int:
        if version == 2:  # another process renames its v0002 in between
            (folder / "v0002").mkdir()
            (folder / "v0002" / "meta.json").write_text("{}")
        racing.append(version)
        return seal(tmp, version, digest)

    assert write_version(folder, fill=fill, seal=seal_while_another_writer_takes_2) == 3
    assert racing == [2, 3]
    assert json.loads((folder / "v0003" / "meta.json").read_text())["version"] == 3
    assert version_numbers(folder) == [1, 2, 3] and latest_version(folder) == 3
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_failed_version_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(tmp: Path) -> None:
        (tmp / "weights").write_text("half")
        raise ValueError("nan loss")

    with pytest.raises(ValueError):
        write_version(tmp_path, fill=broken, seal=lambda tmp, v, _: v)
    assert list(tmp_path.iterdir()) == [] and latest_version(tmp_path) is None


def test_file_versions_are_listed_by_their_pattern(tmp_path: Path) -> None:
    for name in ("v2.json", "v10.json", "v3.npz", "vx.json", "d0001.jsonl"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "v0004").mkdir()
    pattern = re.compile(r"^v(\d+)\.json$")
    assert version_numbers(tmp_path, pattern=pattern, files=True) == [2, 10]
    assert version_numbers(tmp_path) == [4]  # folders only
    assert latest_version(tmp_path / "absent") is None
