"""Resolving and loading base models; exports are verified against their checksum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vibeforge.errors import NotFoundError
from vibeforge.learn.prompt import bot_prompt
from vibeforge.models.base import (
    EXPORT_META,
    WEIGHTS_FILE,
    ModelError,
    list_models,
    load_base,
    resolve,
    sha256_file,
)
from vibeforge.models.generate import SamplingParams, generate


def test_resolve_accepts_names_folders_gguf_files_and_hub_ids(tmp_path: Path) -> None:
    home = tmp_path / "home"
    packaged = resolve("smollm2-135m", home=home)
    assert packaged.kind == "packaged" and packaged.export_dir == home / "models" / "smollm2-135m"
    gguf = tmp_path / "My-Model.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    src = resolve(str(gguf), home=home)
    assert (src.kind, src.gguf_file, src.export_dir) == (
        "gguf",
        gguf.name,
        home / "models" / "my-model.q4",
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert resolve(str(tmp_path / "m"), home=home).kind == "dir"
    assert resolve("HuggingFaceTB/SmolLM2-360M-Instruct", home=home).kind == "hub"
    with pytest.raises(NotFoundError, match="smollm2-135m"):
        resolve("nonsense", home=home)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match=r"config\.json"):
        resolve(str(tmp_path / "empty"), home=home)


def _export(tiny, folder: Path) -> None:  # type: ignore[no-untyped-def]
    tiny.model.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    meta = {"name": "smollm2-135m", "sha256": sha256_file(folder / WEIGHTS_FILE)}
    (folder / EXPORT_META).write_text(json.dumps(meta))


def test_a_prepared_export_loads_and_a_corrupt_one_is_refused(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    folder = home / "models" / "smollm2-135m"
    _export(tiny, folder)
    [row] = [r for r in list_models(home=home) if r["name"] == "smollm2-135m"]
    assert row["prepared"] and row["path"] == str(folder)
    loaded = load_base("smollm2-135m", home=home)
    assert loaded.eos_ids == tiny.eos_ids
    for a, b in zip(loaded.model.parameters(), tiny.model.parameters(), strict=True):
        assert torch.equal(a, b)
    prompt = bot_prompt(tiny.tokenizer)
    greedy = SamplingParams(temperature=0, max_new_tokens=6)
    assert (
        generate(loaded, prompts=[prompt], adapters=[None], params=greedy)[0].token_ids
        == generate(tiny, prompts=[prompt], adapters=[None], params=greedy)[0].token_ids
    )
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-3] ^= 0x55
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="prepare smollm2-135m --force"):
        load_base("smollm2-135m", home=home)


def test_a_local_folder_loads_directly(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tiny.model.save_pretrained(tmp_path / "m")
    tiny.tokenizer.save_pretrained(tmp_path / "m")
    base = load_base(str(tmp_path / "m"), home=tmp_path / "home")
    assert base.tokenizer.eos_token == "<|im_end|>"
    assert all(not p.requires_grad for p in base.model.parameters())
