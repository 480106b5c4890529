"""Batched LoRA: many adapters applied to one base model in a single forward pass.

Each targeted `nn.Linear` of the base model gets a forward hook that adds `x @ Aᵀ @ Bᵀ · s`
for the adapter of each row of the batch (Punica/S-LoRA style, without custom kernels):

    uniform batch (one adapter, or none)  y += (x @ Aᵀ) @ (s·B)ᵀ           two matmuls
    mixed, decode (T == 1)                y += ((x @ A_catᵀ) ⊙ mask) @ B_cat  two matmuls for
                                          all k adapters in the batch; mask keeps each row's own
                                          rank block (memory-bound decode reads each A/B once)
    mixed, prefill/training (T > 1)       y += bmm(bmm(x, A_rowsᵀ), B_rows)   per-row weights

`LoraRuntime.use(rows)` builds those per-module plans once for a batch composition and
removes them on exit; under autograd the plans keep the graph to each adapter's parameters, so
enter `use` once per forward/backward. Adapters are plain tensors (`LoraWeights`) and save in
PEFT's layout (adapter_config.json + adapter_model.safetensors) so they work with PEFT too. They
may be held in a lower precision than the base (the bank pages them in as float16): a plan
casts them to the base's dtype, and an adapter already in it is used as is (gradients flow). On
a bfloat16 base (the sampling twin, models.precision) the LoRA term is computed in float32 and
added in bfloat16: its small matmuls run ~2x faster in float32 on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

PEFT_PREFIX = "base_model.model."
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoraSpec:
    """The shape of a LoRA adapter."""

    rank: int = 16  # r: inner dimension of A (r × in) and B (out × r)
    alpha: float = 32.0  # scaling = alpha / rank
    target_modules: tuple[str, ...] = DEFAULT_TARGETS  # leaf names of the linears to adapt

    def __post_init__(self) -> None:
        if not 1 <= self.rank <= 1024:
            raise ValueError(f"rank ({self.rank}) must be within 1..1024; 8-32 is typical")
        if self.alpha <= 0:
            raise ValueError(f"alpha ({self.alpha}) must be > 0; 2 × rank is typical")
        if not self.target_modules:
            raise ValueError("target_modules is empty; use e.g. ('q_proj', 'v_proj')")
        object.__setattr__(self, "target_modules", tuple(sorted(set(self.target_modules))))

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    def peft_config(self, *, base_model: str | None = None) -> dict[str, Any]:
        """The adapter_config.json PEFT expects for this spec."""
        return {
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "r": self.rank,
            "lora_alpha": self.alpha,
            "lora_dropout": 0.0,
            "target_modules": sorted(self.target_modules),
            "bias": "none",
            "fan_in_fan_out": False,
            "use_rslora": False,
            "inference_mode": True,
            "base_model_name_or_path": base_model,
        }

    @classmethod
    def from_peft_config(cls, config: dict[str, Any]) -> LoraSpec:
        if config.get("peft_type", "LORA") != "LORA":
            raise ValueError(f"not a LoRA adapter (peft_type={config.get('peft_type')!r})")
        if config.get("use_rslora") or config.get("use_dora"):
            raise ValueError("rsLoRA and DoRA adapters are not supported; use plain LoRA")
        targets = config.get("target_modules") or DEFAULT_TARGETS
        if isinstance(targets, str):
            raise ValueError(f"target_modules as a regex ({targets!r}) is not supported")
        return cls(rank=int(config["r"]), alpha=float(config["lora_alpha"]), target_modules=targets)


@dataclass(eq=False, slots=True, kw_only=True)
class LoraWeights:
    """One adapter's tensors: module path -> (A (r × in), B (out × r)), unscaled as in PEFT."""

    spec: LoraSpec
    tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def parameters(self) -> list[torch.Tensor]:
        return [t for pair in self.tensors.values() for t in pair]

    def requires_grad_(self, flag: bool = True) -> LoraWeights:
        for t in self.parameters():
            t.requires_grad_(flag)
        return self

    def clone(self, dtype: torch.dtype | None = None) -> LoraWeights:
        """A detached copy (in `dtype`, default the tensors' own)."""
        return LoraWeights(
            spec=self.spec,
            tensors={
                k: (a.detach().to(dtype, copy=True), b.detach().to(dtype, copy=True))
                for k, (a, b) in self.tensors.items()
            },
        )

    @property
    def dtype(self) -> torch.dtype | None:
        """The tensors' dtype (None for an adapter without tensors)."""
        return next((t.dtype for t in self.parameters()), None)

    def to(self, dtype: torch.dtype) -> LoraWeights:
        """These weights in `dtype`: self when they already are, else a detached copy."""
        return self if self.dtype in (None, dtype) else self.clone(dtype)

    def round_(self, dtype: torch.dtype) -> LoraWeights:
        """Round every tensor in place to the nearest value `dtype` holds (the tensors keep
        their own dtype), so these weights equal what saving them in `dtype` writes."""
        import torch

        with torch.no_grad():
            for t in self.parameters():
                if t.dtype != dtype:
                    t.copy_(t.to(dtype))
        return self

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.parameters())

    def to_peft_state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """PEFT's tensor names and layout (in `dtype`, default the tensors' own)."""
        out = {}
        for path, (a, b) in self.tensors.items():
            out[f"{PEFT_PREFIX}{path}.lora_A.weight"] = a.detach().to(dtype).contiguous()
            out[f"{PEFT_PREFIX}{path}.lora_B.weight"] = b.detach().to(dtype).contiguous()
        return out

    @classmethod
    def from_peft_state_dict(cls, state: dict[str, torch.Tensor], *, spec: LoraSpec) -> LoraWeights:
        a_parts: dict[str, torch.Tensor] = {}
        b_parts: dict[str, torch.Tensor] = {}
        for key, value in state.items():
            path = key.removeprefix(PEFT_PREFIX)
            for suffix, parts in ((".lora_A.weight", a_parts), (".lora_B.weight", b_parts)):
                if path.endswith(suffix):
                    parts[path.removesuffix(suffix)] = value
                    break
            else:
                raise ValueError(f"unexpected tensor {key!r} in a LoRA state dict")
        if set(a_parts) != set(b_parts):
            missing = sorted(set(a_parts) ^ set(b_parts))
            raise ValueError(f"LoRA tensors without their A/B pair: {missing[:3]}")
        tensors = {}
        for path in sorted(a_parts):
            a, b = a_parts[path], b_parts[path]
            if a.dim() != 2 or b.dim() != 2 or a.shape[0] != spec.rank or b.shape[1] != spec.rank:
                raise ValueError(
                    f"{path}: A {tuple(a.shape)} / B {tuple(b.shape)} do not match rank {spec.rank}"
                )
            tensors[path] = (a, b)
        return cls(spec=spec, tensors=tensors)


def target_linears(model: nn.Module, spec: LoraSpec) -> dict[str, nn.Linear]:
    """The linears of `model` that `spec` adapts, by module path."""
    from torch import nn

    found = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in spec.target_modules
    }
    if not found:
        raise ValueError(
            f"no nn.Linear named {', '.join(spec.target_modules)} in {type(model).__name__}; "
            "set target_modules to the model's projection names"
        )
    return found


def init_lora(model: nn.Module, spec: LoraSpec, *, seed: int = 0) -> LoraWeights:
    """A fresh adapter as PEFT makes it: A Kaiming-uniform, B zero (so it starts as the base)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for path, linear in target_linears(model, spec).items():
        bound = 1.0 / math.sqrt(linear.in_features)  # kaiming_uniform_(a=sqrt(5)) on (r, in)
        a = (torch.rand(spec.rank, linear.in_features, generator=gen) * 2 - 1) * bound
        b = torch.zeros(linear.out_features, spec.rank)
        dtype = linear.weight.dtype
        tensors[path] = (a.to(dtype), b.to(dtype))
    return LoraWeights(spec=spec, tensors=tensors)


@dataclass(slots=True)
class _Plan:
    """How one linear adds its LoRA term for the current batch."""

    a_t: torch.Tensor  # uniform: (in, r); mixed: (in, k·r) with each adapter's block
    b_t: torch.Tensor  # uniform: (r, out), scaled; mixed: (k·r, out), scaled
    mask: torch.Tensor | None = None  # mixed: (B, 1, k·r) one-hot rank blocks per row
    stacks: tuple[torch.Tensor, torch.Tensor] | None = None  # mixed: (k+1, in, r), (k+1, r, out)
    index: torch.Tensor | None = None  # mixed: (B,) each row's adapter block, k for none
    _rows: tuple[torch.Tensor, torch.Tensor] | None = None  # mixed: (B, in, r), (B, r, out)

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        x = x.to(self.a_t.dtype)  # a half-precision base computes its LoRA term in float32
        if self.mask is None:
            return (x @ self.a_t) @ self.b_t
        if x.dim() == 3 and x.shape[1] > 1:  # prefill / training: per-row weights
            a_rows, b_rows = self.rows()
            return torch.bmm(torch.bmm(x, a_rows), b_rows)
        mask = self.mask if x.dim() == 3 else self.mask[:, 0]  # (B, 1, k·r) or (B, k·r)
        return ((x @ self.a_t) * mask) @ self.b_t

    def rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.stacks is not None and self.index is not None
        if self._rows is None:
            a_stack, b_stack = self.stacks
            self._rows = (a_stack.index_select(0, self.index), b_stack.index_select(0, self.index))
        return self._rows

    def select(self, index: torch.Tensor) -> None:
        """Keep only the rows in `index` (finished rows leave the decode batch)."""
        if self.mask is None:
            return
        self.mask = self.mask.index_select(0, index)
        if self.index is not None:
            self.index = self.index.index_select(0, index)
        self._rows = None


class LoraRuntime:
    """Forward hooks on a base model's target linears that apply per-row adapters."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._linears: dict[str, nn.Linear] = {}
        self._handles: list[Any] = []
        self._plans: dict[str, _Plan] = {}

    def _ensure_hooks(self, spec: LoraSpec) -> None:
        for path, linear in target_linears(self.model, spec).items():
            if path not in self._linears:
                self._linears[path] = linear
                self._handles.append(linear.register_forward_hook(self._hook(path)))

    def _hook(self, path: str) -> Callable[..., Any]:
        def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> Any:
            plan = self._plans.get(path)
            if plan is None:
                return None
            return output + plan.delta(args[0]).to(output.dtype)

        return hook

    def remove(self) -> None:
        """Take every hook off the base model (it behaves as plain again)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._linears.clear()
        self._plans.clear()

    @contextmanager
    def use(self, rows: Sequence[LoraWeights | None]) -> Iterator[LoraRuntime]:
        """Apply `rows[i]` to batch row i (None: the base model) inside the block."""
        if self._plans:
            raise RuntimeError("LoraRuntime.use is not re-entrant; finish the current batch first")
        self._plans = self._build(rows)
        try:
            yield self
        finally:
            self._plans = {}

    def select_rows(self, index: torch.Tensor) -> None:
        for plan in self._plans.values():
            plan.select(index)

    def _build(self, rows: Sequence[LoraWeights | None]) -> dict[str, _Plan]:
        import torch

        adapters: list[LoraWeights] = []
        for w in rows:
            if w is not None and all(w is not a for a in adapters):
                adapters.append(w)
        if not adapters:
            return {}
        for w in adapters:
            self._ensure_hooks(w.spec)
        uniform = all(w is adapters[0] for w in rows)
        plans: dict[str, _Plan] = {}
        for path, linear in self._linears.items():
            users = [w for w in adapters if path in w.tensors]
            if not users:
                continue
            # adapters paged in half precision compute in the base's dtype, and in float32 on a
            # half-precision base (small bfloat16 matmuls are ~2x slower than float32 on a CPU)
            dtype = linear.weight.dtype
            if dtype in (torch.bfloat16, torch.float16):
                dtype = torch.float32
            if uniform:
                a, b = (t.to(dtype) for t in adapters[0].tensors[path])
                plans[path] = _Plan(a_t=a.t(), b_t=(b * adapters[0].spec.scaling).t())
                continue
            rank = max(w.spec.rank for w in users)
            a_blocks, b_blocks = [], []
            for w in users:
                a, b = (t.to(dtype) for t in w.tensors[path])
                pad = rank - w.spec.rank
                if pad:
                    a = torch.cat([a, a.new_zeros(pad, a.shape[1])])
                    b = torch.cat([b, b.new_zeros(b.shape[0], pad)], dim=1)
                a_blocks.append(a)
                b_blocks.append(b * w.spec.scaling)
            a_cat = torch.cat(a_blocks).t()  # (in, k·r)
            b_cat = torch.cat([b.t() for b in b_blocks])  # (k·r, out)
            a_stack = torch.stack(
                [a.t() for a in a_blocks] + [a_blocks[0].new_zeros(a_cat.shape[0], rank)]
            )
            b_stack = torch.stack(
                [b.t() for b in b_blocks] + [b_blocks[0].new_zeros(rank, b_cat.shape[1])]
            )
            index = torch.tensor(
                [next((j for j, u in enumerate(users) if w is u), len(users)) for w in rows]
            )
            mask = torch.zeros(len(rows), len(users) + 1, 1, rank, dtype=dtype)
            mask[torch.arange(len(rows)), index] = 1.0
            mask = mask[:, : len(users)].reshape(len(rows), 1, len(users) * rank)
            plans[path] = _Plan(
                a_t=a_cat, b_t=b_cat, mask=mask, index=index, stacks=(a_stack, b_stack)
            )
        return plans
