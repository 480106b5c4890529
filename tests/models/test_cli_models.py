"""`vibeforge models`: list, prepare errors, adapters (the real prepare is a slow test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibeforge.paths import Home


@pytest.fixture
def cli(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The shared in-process `cli` (tests/conftest.py), with its home inside the project."""
    monkeypatch.setenv("VIBEFORGE_HOME", str(tmp_path / "home"))
    return cli


def test_models_list_shows_the_packaged_defaults(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("models", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["smollm2-135m"]["role"] == "bots" and rows["gemma3-270m"]["role"] == "elders"
    assert rows["smollm2-135m"]["prepared"] is False
    assert cli("models", "list")[0] == 0


def test_prepare_rejects_unknown_and_non_gguf_models_in_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("models", "prepare", "no-such-model")
    assert code == 2 and "unknown model" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("models", "prepare", str(tmp_path / "missing.gguf"))
    assert code == 2 and "does not exist" in err
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "config.json").write_text("{}")
    code, _, err = cli("models", "prepare", str(tmp_path / "folder"))
    assert code == 2 and "nothing to prepare" in err


def test_models_adapters_lists_versions_with_lineage(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.testing import random_lora, tiny_base

    base = tiny_base()
    store = AdapterStore(Home(tmp_path / "home").adapters)
    store.save("sky", random_lora(base, seed=1), metrics={"heldout_loss_before": 3.0})
    store.save("sky", random_lora(base, seed=2), parent=1, kind="rl")
    code, out, _ = cli("models", "adapters", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["bot"], r["version"], r["parent"], r["kind"]) for r in rows] == [
        ("sky", 1, None, "sft"),
        ("sky", 2, 1, "rl"),
    ]
    code, out, _ = cli("models", "adapters", "sky")
    assert code == 0 and "sky" in out
