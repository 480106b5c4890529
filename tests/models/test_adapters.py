"""Versioned adapters on disk, the LRU bank, and PEFT compatibility of the files."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch

from vibeforge.errors import NotFoundError
from vibeforge.learn.prompt import render
from vibeforge.models.adapters import TENSORS, AdapterCorruptError, AdapterStore
from vibeforge.models.bank import AdapterBank, BankConfig
from vibeforge.models.generate import SamplingParams, generate
from vibeforge.models.testing import random_lora

GREEDY = SamplingParams(temperature=0, max_new_tokens=8, max_weighted_chars=None)


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return a.tensors.keys() == b.tensors.keys() and all(
        torch.equal(x, y)
        for k in a.tensors
        for x, y in zip(a.tensors[k], b.tensors[k], strict=True)
    )


def test_save_then_load_round_trips_bit_exactly_with_its_lineage(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    weights = random_lora(tiny, seed=1)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    v1 = store.save(
        "sky", weights, window_start=start, window_end=end, metrics={"loss": [3.0, 2.5]}
    )
    v2 = store.save("sky", random_lora(tiny, seed=2), kind="rl", parent=v1.version)
    assert (v1.version, v2.version, v2.parent, v2.kind) == (1, 2, 1, "rl")
    loaded = store.load("sky", 1)
    assert _same(loaded.weights, weights) and loaded.weights.spec == weights.spec
    assert loaded.version == v1
    assert loaded.version.window_end == end and loaded.version.metrics == {"loss": [3.0, 2.5]}
    assert store.load("sky").version.version == 2
    assert [v.version for v in store.versions("sky")] == [1, 2]
    assert store.bots() == ["sky"]
    assert not [p for p in (tmp_path / "sky").iterdir() if p.name.startswith(".tmp")]


def test_a_corrupt_or_missing_file_is_detected_and_the_previous_version_used(
    tiny, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    good = random_lora(tiny, seed=1)
    store.save("sky", good)
    v2 = store.save("sky", random_lora(tiny, seed=2))
    path = Path(v2.path) / TENSORS
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit pattern in the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(AdapterCorruptError, match="sha256"):
        store.load("sky", 2)
    fallback = store.load_good("sky")
    assert fallback.version.version == 1 and _same(fallback.weights, good)
    assert "sha256" in fallback.skipped[0]
    path.unlink()
    with pytest.raises(AdapterCorruptError, match="missing"):
        store.load("sky", 2)
    bank = AdapterBank(tiny, store)  # resident in the bank's precision, float16
    assert _same(bank.get("sky"), good.to(torch.float16)) and bank.version("sky").version == 1
    # the next save never reuses the broken version's number
    assert store.save("sky", good).version == 3


def test_unknown_bots_and_bad_names_give_clear_errors(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path)
    with pytest.raises(NotFoundError, match="train it first"):
        store.load_good("nobody")
    with pytest.raises(Exception, match="invalid bot name"):
        store.load("../etc")


def test_files_load_in_peft_with_the_same_outputs(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from peft import PeftModel

    weights = random_lora(tiny, seed=3)
    version = AdapterStore(tmp_path).save("sky", weights, base_model="tiny")
    config = json.loads((Path(version.path) / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4
    ids = torch.tensor([render(tiny.tokenizer, persona="", instruction="hello there")])
    with torch.no_grad(), tiny.runtime.use([weights]):
        ours = tiny.model(input_ids=ids).logits
    peft_model = PeftModel.from_pretrained(copy.deepcopy(tiny.model), version.path)
    with torch.no_grad():
        theirs = peft_model(input_ids=ids).logits
        plain = tiny.model(input_ids=ids).logits
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert not torch.allclose(ours, plain, atol=1e-3)


def test_bank_keeps_at_most_capacity_resident_and_reloads_on_demand(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    for i, bot in enumerate(("a", "b", "c")):
        store.save(bot, random_lora(tiny, seed=i))
    bank = AdapterBank(tiny, store, BankConfig(capacity=2))
    bank.get("a")
    bank.get("b")
    bank.get("a")  # a is now the most recently used
    bank.get("c")
    assert bank.resident() == ["a", "c"] and bank.loads == 3
    reloaded = bank.get("b")
    assert bank.loads == 4 and bank.resident() == ["c", "b"]
    assert _same(reloaded, store.load("b").weights.to(torch.float16))
    # a batch over more bots than the capacity still runs, each row with its own adapter
    prompt = render(tiny.tokenizer, persona="", instruction="go")
    out = bank.generate([("a", prompt), ("b", prompt), ("c", prompt), (None, prompt)], GREEDY)
    for bot, got in zip(("a", "b", "c"), out, strict=False):
        weights = store.load(bot).weights.to(torch.float16)
        [alone] = generate(tiny, prompts=[prompt], adapters=[weights], params=GREEDY)
        assert got.token_ids == alone.token_ids
    assert len(bank.resident()) == 2


def test_bank_save_makes_the_new_version_resident(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(tiny, AdapterStore(tmp_path))
    fresh = bank.get_or_create("new")
    assert bank.version("new") is None
    trained = random_lora(tiny, seed=9)
    record = bank.save("new", trained, parent=None)
    assert record.version == 1 and bank.version("new") == record
    # resident in float16, bit for bit what was saved (the trained weights rounded to it)
    assert bank.get("new").dtype == torch.float16 and fresh is not bank.get("new")
    assert _same(bank.get("new").to(torch.float32), trained)
    assert _same(bank.get("new"), bank.store.load("new").weights)
    assert json.loads((Path(record.path) / "vibeforge.json").read_text())["base_model"] == "tiny"


def test_bank_config_validates() -> None:
    with pytest.raises(ValueError, match="capacity"):
        BankConfig(capacity=0)
