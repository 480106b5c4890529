"""A tiny real model for tests: a byte-level tokenizer with a ChatML template, a 2-layer Llama.

Built from a config in a fraction of a second, no download; other parts' tests (RL, distill)
use it as the base for adapters the same way the real SmolLM2 is used. This module is also a
model plugin (see models.registry): with `VIBEFORGE_PLUGINS=vibeforge.models.testing` the
names in TINY_MODELS load through `load_model` like any other spec, in this process and in
the `vibeforge` processes tests start.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vibeforge.models.base import Base
    from vibeforge.models.registry import Register

TINY_TEST_MODEL = "tiny-test"  # the bots' tiny base; "tiny-test-elder" is a wider one
# name -> the shape tiny_base builds
TINY_MODELS: dict[str, dict[str, int]] = {
    "tiny-test": {"seed": 0, "layers": 2, "hidden": 64},
    "tiny-test-elder": {"seed": 1, "layers": 2, "hidden": 96},
}

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL = ("<pad>", "<|im_start|>", "<|im_end|>")


def tiny_tokenizer():
    """Byte-level BPE without merges: every UTF-8 byte is a token, plus ChatML specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    for ch in sorted(alphabet):
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
        chat_template=CHATML,
    )


def tiny_base(*, seed: int = 0, layers: int = 2, hidden: int = 64, name: str = "tiny") -> Base:
    """A randomly initialised 2-layer Llama on the byte tokenizer, wrapped as a Base."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from vibeforge.models.base import wrap_base

    tokenizer = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        initializer_range=0.1,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).float()
    return wrap_base(model, tokenizer, name=name)


def _load_tiny(name: str, *, home: Path) -> Base:
    return tiny_base(name=name, **TINY_MODELS[name])  # built from a config: `home` is unused


def register_models(register: Register) -> None:
    """The plugin hook: every tiny model by name."""
    for name in TINY_MODELS:
        register(name, partial(_load_tiny, name))


def random_lora(base: Base, *, rank: int = 4, seed: int = 0, scale: float = 0.5):
    """An adapter with random A and B (a fresh one has B = 0 and so equals the base model)."""
    import torch

    from vibeforge.models.lora import LoraSpec, init_lora

    weights = init_lora(base.model, LoraSpec(rank=rank, alpha=2.0 * rank), seed=seed)
    gen = torch.Generator().manual_seed(10_000 + seed)
    for _, b in weights.tensors.values():
        b.copy_(torch.randn(b.shape, generator=gen) * scale)
    return weights
