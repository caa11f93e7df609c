"""`--dtype int8`: the transformer blocks' linear layers as int8 matrix products, for CPUs
without native bfloat16.

Each linear layer's weight is stored as int8 with one scale per output channel (symmetric).
At each call every row of the input (one token of one sequence) is written on its own scale
as two int8 parts, a coarse one and the remainder at 1/64 of its step, so the activations
keep about 14 bits where one int8 part keeps 8; both parts go through the integer kernel
(`torch._int_mm`: exact int32 accumulation, VNNI where the CPU has it) in one call, as one
matrix of twice the rows, and the result is scaled back to float32. Measured on the diabetes
prompt's last 200 positions (docs/benchmarks.md): the next-token distributions differ from
float32 by a mean total variation of 0.020 this way, 0.064 with one int8 part per row, 0.39
with torch's dynamic quantisation (one 7-bit scale for the whole batch, the earlier
`--dtype int8`, whose eval figures moved beyond seed noise), and 0.015 in bfloat16. Weight
rounding alone gives 0.020: the activations no longer add to it.
Per row, not per batch, also means a row's numbers do not depend on the other rows of its
batch. Everything else (embeddings, norms, attention over the cache) stays float32. The output
layer stays float32: the decoding loop computes only the allowed tokens' logits from its
weight matrix (`decode._sample_sparse`), and it is tied to the embeddings. Integer
accumulation is exact and every float step is elementwise or a reduction along a row, so the
output does not depend on the thread count (test).
"""

from __future__ import annotations

from typing import Any

OUTPUT_LAYER_NAMES = ("lm_head",)
_LEVELS = 127.0  # symmetric int8: -127..127 (-128 unused, so negation is exact)
_FINE = 64.0  # the second part's steps per step of the first: remainders in [-32, 32]


def _int8_linear_class() -> Any:
    import torch

    class Int8Linear(torch.nn.Module):
        """A float32 `nn.Linear` as int8 weights (per output channel) times rows in two int8 parts."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=torch.finfo(torch.float32).tiny) / _LEVELS
            quantised = torch.round(weight / scale[:, None]).to(torch.int8)
            self.weight_t: torch.Tensor
            self.weight_scale: torch.Tensor
            self.register_buffer("weight_t", quantised.t().contiguous())  # [in, out]
            self.register_buffer("weight_scale", scale)  # [out]
            self.bias = linear.bias
            self.in_features, self.out_features = linear.in_features, linear.out_features
            # coarse x 64 + fine fits int32 when in_features <= 2,048: one conversion to float.
            self.exact_in_int32 = _LEVELS * _LEVELS * self.in_features * (_FINE + 1) < 2**31

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            threads = torch.get_num_threads()
            rows = x.reshape(-1, self.in_features).float()
            n = rows.shape[0]
            # The element-wise steps run on one thread: their tensors are ~0.1-1 MB, and waking
            # a sleeping (PASSIVE) OpenMP thread for each cost more than the work (5.4 rows/s
            # against 7.7). The integer product uses every thread.
            torch.set_num_threads(1)
            try:
                step = rows.abs().amax(dim=1, keepdim=True).clamp_(min=torch.finfo(torch.float32).tiny)
                step.div_(_LEVELS)
                scaled = rows / step  # within [-127, 127]
                parts = torch.empty((2 * n, self.in_features), dtype=torch.int8, device=rows.device)
                coarse = torch.round(scaled)
                parts[:n].copy_(coarse)
                parts[n:].copy_(scaled.sub_(coarse).mul_(_FINE).round_())  # the remainder, in 1/64 steps
                torch.set_num_threads(threads)
                both = torch._int_mm(parts, self.weight_t)
                torch.set_num_threads(1)
                if self.exact_in_int32:
                    out = both[:n].mul_(int(_FINE)).add_(both[n:]).float()
                else:
                    out = both[:n].float().mul_(_FINE).add_(both[n:].float())
                out.mul_(step.div_(_FINE)).mul_(self.weight_scale)
                if self.bias is not None:
                    out.add_(self.bias)
            finally:
                torch.set_num_threads(threads)
            return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    return Int8Linear


def quantize_linear_int8(model: Any) -> Any:
    """Replace `model`'s linear layers (all but the output layer) by int8 ones, in place."""
    import torch

    int8_linear = _int8_linear_class()
    targets = [(name, module) for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and name.split(".")[-1] not in OUTPUT_LAYER_NAMES]
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, int8_linear(module))
    return model
