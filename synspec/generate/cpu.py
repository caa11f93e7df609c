"""What the CPU is: its model name, the flags that decide speed, and native bfloat16.

Read from `/proc/cpuinfo` (Linux); elsewhere every answer is "unknown" / False, which
makes synspec pick float32, the safe choice. Nothing here imports torch.

>>> info = cpu_info()
>>> isinstance(info.model, str) and isinstance(info.bf16, bool)
True
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

# Flags that change how fast the model's matrix products run on a CPU, in the order shown.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
               "amx_int8", "amx_tile")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


@functools.cache
def cpu_info() -> CpuInfo:
    """This machine's CPU, read once per process."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    return parse_cpuinfo(text)
