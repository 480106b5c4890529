"""Base models and LoRA adapters: one resident base, many adapters, mixed-adapter batches.

    base.py      resolve / prepare (GGUF -> safetensors export) / load_base -> Base
    registry.py  load_model(spec): plugin-registered names first, then base.resolve
    lora.py      LoraSpec, LoraWeights (PEFT layout), LoraRuntime (batched per-row LoRA hooks)
    adapters.py  AdapterStore: versioned adapters on disk, atomic writes, checksums, fallback
    bank.py      AdapterBank: named adapters over one base, LRU of residents, batched calls
    generate.py  generate (KV cache, sampling, X-weighted cap, logprobs) and score (for RL)
    text.py      weighted_length: X's character counting
    testing.py   tiny_base / random_lora: a tiny real model for tests, and the plugin that
                 registers it as "tiny-test" / "tiny-test-elder"

Nothing here imports torch or transformers at module import time except inside functions.
"""
