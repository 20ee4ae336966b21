"""The CPU this runs on, in the words a speed report needs: its model and the vector
extensions llama.cpp cares about (AVX2, AVX-512, AMX). Read from /proc/cpuinfo on Linux."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

FLAGS_THAT_MATTER = ("avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8")


@dataclass(frozen=True)
class Cpu:
    model: str
    flags: frozenset[str]

    @property
    def has_amx(self) -> bool:
        return "amx_int8" in self.flags

    def summary(self) -> str:
        """e.g. ``AMD EPYC · avx2, no avx512f, no amx``."""
        shown = [f if f in self.flags else f"no {f}" for f in ("avx2", "avx512f")]
        shown.append("amx" if self.has_amx else "no amx")
        return f"{self.model} · {', '.join(shown)}"


def this_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> Cpu:
    model, flags = "", frozenset[str]()
    try:
        text = cpuinfo.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return Cpu(model or platform.processor() or platform.machine(), flags)
