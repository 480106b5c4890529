"""Sampling in bfloat16, learning in float32.

Decode on a CPU is memory-bound: every generated token reads the whole model. A bfloat16 twin of
the base model's decoder stack halves those reads; the LM head stays the float32 one, so logits
(and the probabilities sampled from) keep training precision. Learning never runs on the twin:
GRPO scores every sample again in float32 and corrects for the difference between the two
policies with an importance weight (learn.rl), so the ratio starts at exactly 1.

    auto       bfloat16 where the CPU multiplies bfloat16 natively (AMX-BF16 or AVX512-BF16),
               float32 elsewhere (emulated bfloat16 is slower than float32)
    bfloat16   the twin, whatever the CPU has
    float32    no twin: sample on the training model

`sampling_kernel()` says which path "auto" takes here and why.
"""

from __future__ import annotations

import copy
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vibeforge.models.base import Base

log = logging.getLogger(__name__)
SAMPLING_PRECISIONS = ("auto", "float32", "bfloat16")


@cache
def cpu_bf16() -> str | None:
    """The CPU's native bfloat16 instructions ("AMX-BF16", "AVX512-BF16"), None without."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    if "amx_bf16" in flags:
        return "AMX-BF16"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    return None


def resolve_sampling(precision: str) -> str:
    """ "auto" → bfloat16 or float32 for this CPU; the others as they are."""
    if precision not in SAMPLING_PRECISIONS:
        raise ValueError(
            f"sampling precision {precision!r} is not one of {', '.join(SAMPLING_PRECISIONS)}"
        )
    if precision == "auto":
        return "bfloat16" if cpu_bf16() else "float32"
    return precision


def sampling_kernel(precision: str = "auto") -> dict[str, str | None]:
    """What sampling runs on here: the precision, the CPU's bfloat16 instructions, and torch's
    CPU capability (the vector ISA its kernels dispatch to)."""
    import torch

    return {
        "precision": resolve_sampling(precision),
        "cpu_bf16": cpu_bf16(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def sampling_twin(base: Base, precision: str) -> Base:
    """`base` itself for float32; else a copy of its model in `precision` with its own LoRA
    runtime, whose logits come from `base`'s float32 LM head."""
    import torch

    from vibeforge.models.base import Base as BaseType
    from vibeforge.models.lora import LoraRuntime

    resolved = resolve_sampling(precision)
    dtype = getattr(torch, resolved)
    if dtype == next(base.model.parameters()).dtype:
        return base
    model = copy.deepcopy(base.model)
    for module in model.modules():  # the copy must not call the training model's LoRA hooks
        module._forward_hooks.clear()
    model.to(dtype)
    log.info("sampling in %s (%s)", resolved, cpu_bf16() or "no native bfloat16")
    return BaseType(
        name=base.name,
        model=model,
        tokenizer=base.tokenizer,
        runtime=LoraRuntime(model),
        eos_ids=base.eos_ids,
        head=base.model.get_output_embeddings(),
    )
