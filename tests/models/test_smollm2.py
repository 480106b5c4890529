"""The real packaged SmolLM2-135M: prepare once, load the export, mixed batches, vibe SFT."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import torch

from vibeforge.learn.prompt import bot_prompt, render
from vibeforge.models.base import EXPORT_META, WEIGHTS_FILE, load_base, prepare, sha256_file
from vibeforge.models.generate import SamplingParams, generate
from vibeforge.models.testing import random_lora
from vibeforge.models.text import weighted_length

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    messages: list[str] = []
    folder = prepare("smollm2-135m", home=home, progress=messages.append)
    assert folder == home / "models" / "smollm2-135m" and messages
    return home


@pytest.fixture(scope="module")
def smol(home: Path):  # type: ignore[no-untyped-def]
    return load_base("smollm2-135m", home=home)


def test_prepare_exports_plain_fp32_safetensors_with_a_checksum(home: Path, smol) -> None:  # type: ignore[no-untyped-def]
    folder = home / "models" / "smollm2-135m"
    meta = json.loads((folder / EXPORT_META).read_text())
    assert meta["sha256"] == sha256_file(folder / WEIGHTS_FILE)
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert smol.model.dtype == torch.float32 and not getattr(smol.model, "is_quantized", False)
    assert smol.tokenizer.convert_ids_to_tokens(sorted(smol.eos_ids)) == ["<|im_end|>"]
    # a second prepare finds the export and does nothing
    said: list[str] = []
    prepare("smollm2-135m", home=home, progress=said.append)
    assert said == [f"{folder} is already prepared"]


def test_mixed_batch_equals_each_adapter_alone_on_smollm2(smol) -> None:  # type: ignore[no-untyped-def]
    adapters = [random_lora(smol, rank=16, seed=s, scale=0.05) for s in range(3)]
    rows = [adapters[0], None, adapters[1], adapters[2]]
    topics = ["airport delays", "new phones", "the big match", "coffee"]
    prompts = [
        render(smol.tokenizer, persona="", instruction=f"Write a short post about {t}.")
        for t in topics
    ]
    greedy = SamplingParams(temperature=0, max_new_tokens=12)
    mixed = generate(smol, prompts=prompts, adapters=rows, params=greedy)
    for prompt, adapter, got in zip(prompts, rows, mixed, strict=True):
        [alone] = generate(smol, prompts=[prompt], adapters=[adapter], params=greedy)
        assert got.token_ids == alone.token_ids
    assert (
        mixed[0].token_ids
        != generate(smol, prompts=[prompts[0]], adapters=[None], params=greedy)[0].token_ids
    )


def test_sampled_posts_end_or_fit_the_cap(smol) -> None:  # type: ignore[no-untyped-def]
    prompt = bot_prompt(smol.tokenizer, persona="You joke about flight delays.")
    params = SamplingParams(temperature=0.8, max_new_tokens=60, max_weighted_chars=80, seed=1)
    out = generate(smol, prompts=[prompt] * 4, adapters=[None] * 4, params=params)
    for g in out:
        assert g.text and weighted_length(g.text) <= 80
        assert len(g.token_ids) == len(g.logprobs) and all(lp <= 0 for lp in g.logprobs)
        assert g.finish_reason in {"eos", "length", "max_tokens"}
    assert any(g.finish_reason != "max_tokens" for g in out)


def test_vibe_sft_on_smollm2_lowers_heldout_loss(smol) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.domain import Post
    from vibeforge.learn.vibe import VibeConfig, train_vibe

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    gates = ["12", "4B", "31", "7", "22"]
    moods = ["again", "today", "as usual", "send help"]
    posts = [
        Post(
            id=str(i),
            text=f"flight delayed at gate {gates[i % 5]} {moods[i % 4]} #travel",
            author_id="a",
            created_at=t0 + timedelta(minutes=i),
        )
        for i in range(30)
    ]
    config = VibeConfig(lr=2e-3, epochs=1, batch_size=8, holdout=0.2)
    result = train_vibe(base=smol, posts=posts, config=config)
    assert result is not None
    m = result.metrics
    assert m["heldout_loss_after"] < m["heldout_loss_before"] - 0.3
