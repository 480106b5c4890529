"""Base models by spec through one registry; test models come in as a plugin, like real ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vibeforge.errors import NotFoundError
from vibeforge.models.base import ModelError
from vibeforge.models.registry import (
    ensure_prepared,
    load_model,
    model_rows,
    prepare_model,
    registered_models,
)


def test_tiny_models_load_by_name_through_the_plugin_tests_set(tmp_path: Path) -> None:
    assert os.environ["VIBEFORGE_PLUGINS"] == "vibeforge.models.testing"  # tests/conftest.py
    assert {"tiny-test", "tiny-test-elder"} <= set(registered_models())
    bot = load_model("tiny-test", home=tmp_path)
    elder = load_model("tiny-test-elder", home=tmp_path)
    assert (bot.name, elder.name) == ("tiny-test", "tiny-test-elder")  # loadable again by name
    assert bot.model.config.hidden_size == 64 and elder.model.config.hidden_size == 96
    ensure_prepared("tiny-test", home=tmp_path)  # nothing to export: no error, no folder
    assert not (tmp_path / "models").exists()
    with pytest.raises(ModelError, match="nothing to prepare"):
        prepare_model("tiny-test", home=tmp_path)
    rows = {r["name"]: r for r in model_rows(home=tmp_path)}
    assert rows["tiny-test"]["role"] == "plugin" and rows["smollm2-135m"]["role"] == "bots"


def test_an_unknown_spec_names_the_packaged_and_the_registered_models(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as err:
        load_model("tiny-tset", home=tmp_path)
    message = str(err.value)
    assert "smollm2-135m" in message and "tiny-test, tiny-test-elder" in message


def test_a_plugin_module_and_an_entry_point_register_models(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.models import registry

    monkeypatch.setattr(registry, "_LOADERS", dict(registry._LOADERS))  # leave no names behind
    monkeypatch.setattr(registry, "_IMPORTED", set(registry._IMPORTED))
    (tmp_path / "shop_models.py").write_text(
        "from vibeforge.models.testing import tiny_base\n"
        "def register_models(register):\n"
        "    register('shop-tiny', lambda *, home: tiny_base(hidden=32, name='shop-tiny'))\n"
    )
    info = tmp_path / "shop_models-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-models\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[vibeforge.models]\nshop = shop_models\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_model("shop-tiny", home=tmp_path).model.config.hidden_size == 32  # entry point

    (tmp_path / "env_models.py").write_text(
        "from vibeforge.models.testing import tiny_base\n"
        "def register_models(register):\n"
        "    register('env-tiny', lambda *, home: tiny_base(hidden=48, name='env-tiny'))\n"
    )
    monkeypatch.setenv("VIBEFORGE_PLUGINS", "vibeforge.models.testing, env_models")
    assert load_model("env-tiny", home=tmp_path).name == "env-tiny"
    monkeypatch.setenv("VIBEFORGE_PLUGINS", "no_such_plugin_module")
    with pytest.raises(ModelError, match="no_such_plugin_module"):
        load_model("anything", home=tmp_path)


def test_a_vibeforge_process_sees_the_test_models(tmp_path: Path) -> None:
    code = (
        "import json; from vibeforge.models.registry import registered_models; "
        "print(json.dumps(registered_models()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "tiny-test" in json.loads(out.stdout)
