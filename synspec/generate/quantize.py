"""`--dtype int8`: torch's dynamic int8 quantisation of the model's linear layers, for CPUs
without native bfloat16.

The weights of every linear layer of the transformer blocks are stored as int8 (one scale
per output channel); at each call the activations are quantised on the fly and the matrix
product runs on integer kernels (fbgemm; VNNI where the CPU has it), then scaled back to
float32. Everything else (embeddings, norms, attention over the cache) stays float32.
The output layer is left in float32 on purpose: the decoding loop computes only the
allowed tokens' logits from its weight matrix (`decode._sample_sparse`), and it is tied to
the embeddings. Measured on the 2-core EPYC: a decoding step at batch 128 about 1.8x faster
than float32, with eval figures that move beyond seed noise, so it is opt-in
(docs/benchmarks.md, "Speed on a shared machine, and without native bf16").
Integer accumulation is exact, so the output still does not depend on the thread count.
"""

from __future__ import annotations

from typing import Any

OUTPUT_LAYER_NAMES = ("lm_head",)


def quantize_linear_int8(model: Any) -> Any:
    """Quantise `model`'s linear layers (all but the output layer) to dynamic int8, in place."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and name not in OUTPUT_LAYER_NAMES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=True)
    return model
