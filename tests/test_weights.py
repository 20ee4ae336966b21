"""Weight assembly on real files: the official hash gate, partial-file removal, disk space."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sale_tui.errors import ChecksumMismatchError, DiskFullError
from sale_tui.models import weights
from sale_tui.models.catalog import LocalModel, WeightChunk


def chunks(tmp_path: Path, count: int = 3, size: int = 100_000) -> tuple[list[Path], str]:
    paths, digest = [], hashlib.sha256()
    for i in range(count):
        data = os.urandom(size)
        digest.update(data)
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths, digest.hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_assemble_joins_in_order_and_stamps(tmp_path: Path) -> None:
    sources, sha = chunks(tmp_path)
    target = tmp_path / "models" / "m.gguf"
    seen: list[int] = []
    weights.assemble(target, sources, sha256=sha, on_bytes=seen.append)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in sources)
    assert sum(seen) == 300_000
    assert (tmp_path / "models" / "m.gguf.sha256").read_text().strip() == sha
    assert leftovers(tmp_path / "models") == ["m.gguf", "m.gguf.sha256"]


def test_checksum_mismatch_removes_the_partial_file(tmp_path: Path) -> None:
    sources, sha = chunks(tmp_path)
    target = tmp_path / "models" / "m.gguf"
    with pytest.raises(ChecksumMismatchError) as info:
        weights.assemble(target, list(reversed(sources)), sha256=sha)  # wrong order
    assert "partial file was removed" in info.value.message
    assert leftovers(tmp_path / "models") == []


def test_not_enough_space_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, sha = chunks(tmp_path)
    usage = weights.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(weights.shutil, "disk_usage", lambda _: usage._replace(free=1_000))
    with pytest.raises(DiskFullError) as info:
        weights.assemble(tmp_path / "models" / "m.gguf", sources, sha256=sha)
    assert "SALE_TUI_CACHE_DIR" in (info.value.fix or "")
    assert leftovers(tmp_path / "models") == []


def test_disk_full_during_the_write_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's own ENOSPC: the temp file's descriptor is swapped for /dev/full."""
    sources, sha = chunks(tmp_path)
    real_mkstemp = weights.tempfile.mkstemp

    def mkstemp_on_dev_full(**kwargs: object) -> tuple[int, str]:
        handle, name = real_mkstemp(**kwargs)  # type: ignore[call-overload]
        os.close(handle)
        return os.open("/dev/full", os.O_WRONLY), name

    monkeypatch.setattr(weights.tempfile, "mkstemp", mkstemp_on_dev_full)
    with pytest.raises(DiskFullError, match="disk full"):
        weights.assemble(tmp_path / "models" / "m.gguf", sources, sha256=sha)
    assert leftovers(tmp_path / "models") == []


def test_is_pulled_needs_file_size_and_stamp(tmp_path: Path) -> None:
    sources, sha = chunks(tmp_path, count=1, size=1000)
    spec = LocalModel(
        key="t",
        agent_name="t",
        title="t",
        params_billion=0.1,
        filename="t.gguf",
        sha256=sha,
        size_bytes=1000,
        chunks=(),
    )
    assert not weights.is_pulled(spec)
    weights.assemble(weights.model_path(spec), sources, sha256=sha)
    assert weights.is_pulled(spec)
    weights.model_path(spec).write_bytes(b"truncated")
    assert not weights.is_pulled(spec)


def test_locate_chunk_requires_the_pinned_version() -> None:
    assert weights.locate_chunk(WeightChunk("no-such-package-xyz", "1.0", "x.bin")) is None
    # pytest is installed, but not at this version and without this file.
    assert weights.locate_chunk(WeightChunk("pytest", "0.0.1", "x.bin")) is None
