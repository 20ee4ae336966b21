"""Text embeddings for memory retrieval: the one home of onnxruntime and tokenizers.

The default is all-MiniLM-L6-v2 (the SALE paper's embedder) as an int8 ONNX file run by
onnxruntime, mean-pooled and L2-normalised: on our retrieval check it found the right past
job for 12 of 12 paraphrased coding jobs, against 9 of 12 for a 64-d static model (see
docs/BENCHMARKS.md). Its two files are pulled and sha256-checked like the model weights
(``sale-tui models pull minilm``).
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from sale_tui.errors import LocalEngineError
from sale_tui.models import weights
from sale_tui.models.catalog import EMBEDDER_FILES, EMBEDDER_NAME, MINILM_ONNX, MINILM_TOKENIZER

MAX_TOKENS = 256
BATCH = 64


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


class MiniLMEmbedder:
    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self) -> None:
        missing = [f.title for f in EMBEDDER_FILES if not weights.is_pulled(f)]
        if missing:
            raise LocalEngineError(
                f"the memory's embedder is not pulled ({', '.join(missing)})",
                fix=f"sale-tui models pull {EMBEDDER_NAME}",
            )
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(weights.model_path(MINILM_TOKENIZER)))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(weights.model_path(MINILM_ONNX)), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = []
        with self._lock:
            for start in range(0, len(texts), BATCH):
                encoded = self._tokenizer.encode_batch(texts[start : start + BATCH])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                feeds = {"input_ids": ids, "attention_mask": mask}
                if "token_type_ids" in self._inputs:
                    feeds["token_type_ids"] = np.zeros_like(ids)
                hidden = self._session.run(None, feeds)[0]
                summed = (hidden * mask[..., None]).sum(axis=1)
                rows.append(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))
        vectors = np.concatenate(rows).astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(name: str = EMBEDDER_NAME) -> Embedder:
    """The named embedder, loaded once per process."""
    with _cache_lock:
        if name not in _cache:
            if name != EMBEDDER_NAME:
                raise LocalEngineError(
                    f"unknown embedder '{name}'", fix=f'set memory.embedder = "{EMBEDDER_NAME}"'
                )
            _cache[name] = MiniLMEmbedder()
        return _cache[name]
