"""What the CPU is: its model name, the flags that decide speed, and native bfloat16.

Read from `/proc/cpuinfo` (Linux); elsewhere every answer is "unknown" / False, which
makes synspec pick float32, the safe choice. Nothing here imports torch.

Native bf16 also needs oneDNN, which runs torch's bfloat16 matrix products on the CPU, to be
allowed those instructions: `ONEDNN_MAX_CPU_ISA` (or the older `DNNL_MAX_CPU_ISA`) set to an
ISA without them makes it emulate bfloat16 (a 256x576 by 576x1536 product took 10 ms instead
of 1.0 ms on the development CPU), so synspec treats the CPU as one without native bf16. The
same variable is how docs/benchmarks.md measures such a CPU on one that has it.

>>> info = cpu_info()
>>> isinstance(info.model, str) and isinstance(info.bf16, bool)
True
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

# Flags that change how fast the model's matrix products run on a CPU, in the order shown.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
               "amx_int8", "amx_tile")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# oneDNN's ISA caps (its `ONEDNN_MAX_CPU_ISA` values) below the first with bfloat16 dot products.
ONEDNN_ISAS_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
                                      "AVX512_CORE_VNNI"})


@dataclass(frozen=True)
class CpuInfo:
    model: str  # e.g. "AMD EPYC 9B14"; the machine name when /proc/cpuinfo has none
    flags: tuple[str, ...]  # the SPEED_FLAGS present
    bf16: bool  # native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16)


def parse_cpuinfo(text: str) -> CpuInfo:
    """The first processor's model name and speed flags.

    >>> parse_cpuinfo("model name\\t: Some CPU\\nflags\\t\\t: fpu avx2 avx512_bf16\\n")
    CpuInfo(model='Some CPU', flags=('avx2', 'avx512_bf16'), bf16=True)
    """
    model = ""
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    present = tuple(f for f in SPEED_FLAGS if f in flags)
    return CpuInfo(model or platform.processor() or platform.machine() or "unknown", present,
                   any(f in flags for f in BF16_FLAGS))


def onednn_caps_bf16(environ: Mapping[str, str]) -> bool:
    """Whether the environment caps oneDNN below bfloat16 instructions.

    >>> onednn_caps_bf16({"ONEDNN_MAX_CPU_ISA": "avx512_core_vnni"}), onednn_caps_bf16({})
    (True, False)
    """
    cap = environ.get("ONEDNN_MAX_CPU_ISA") or environ.get("DNNL_MAX_CPU_ISA") or ""
    return cap.strip().upper() in ONEDNN_ISAS_WITHOUT_BF16


@functools.cache
def cpu_info() -> CpuInfo:
    """This machine's CPU, read once per process (native bf16 as oneDNN may use it)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    info = parse_cpuinfo(text)
    return replace(info, bf16=False) if info.bf16 and onednn_caps_bf16(os.environ) else info
