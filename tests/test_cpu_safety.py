"""The CPU-safety decisions of the local engine, on the strings llama.cpp and Linux give."""

from __future__ import annotations

import signal
from pathlib import Path

from sale_tui.models.cpu import this_cpu
from sale_tui.models.engine_client import describe_exit
from sale_tui.models.llama_engine import extra_buffers_enabled, has_amx_path

AVX2_BUILD = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | REPACK = 1 |"
AMX_BUILD = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 |"


def test_extra_buffers_stay_on_unless_the_build_has_the_amx_kernels() -> None:
    assert not has_amx_path(AVX2_BUILD) and has_amx_path(AMX_BUILD)
    assert extra_buffers_enabled("auto", AVX2_BUILD)
    assert not extra_buffers_enabled("auto", AMX_BUILD)
    assert extra_buffers_enabled("on", AMX_BUILD)  # the user's explicit choice wins
    assert not extra_buffers_enabled("off", AVX2_BUILD)


def test_the_cpu_is_named_with_the_flags_that_matter(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
        "flags\t\t: fpu sse2 avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu\n"
    )
    cpu = this_cpu(info)
    assert cpu.has_amx
    assert cpu.summary() == "Intel(R) Xeon(R) Platinum 8480+ · avx2, avx512f, amx"
    info.write_text("model name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n")
    assert this_cpu(info).summary() == "AMD EPYC · avx2, no avx512f, no amx"
    assert this_cpu(tmp_path / "missing").model  # never empty


def test_a_dead_worker_is_described_by_its_signal() -> None:
    assert describe_exit(-signal.SIGSEGV) == "SIGSEGV (Segmentation fault)"
    assert describe_exit(-signal.SIGKILL).startswith("killed by SIGKILL (out of memory?")
    assert describe_exit(3) == "it exited with status 3"
    assert describe_exit(None) == "it stopped answering"
