from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from backdrop.engines.studio.embedding import (
    EmbeddingModelMissing,
    SentenceEmbedder,
    model_directory,
    read_safetensors,
)
from backdrop.engines.studio.understanding import PromptUnderstanding

# Reference values from sentence-transformers 6.2.0 + torch 2.13.0 (CPU) on the same weights:
# the first six dimensions of two embeddings, and the cosine similarities of the five sentences.
SENTENCES = [
    "a cosy reading nook",
    "a comfortable living room with a sofa",
    "somewhere tropical",
    "a sunny beach with palm trees",
    "industrial concrete loft",
]
REFERENCE_HEAD = {
    0: [-0.019311, 0.036757, -0.035669, -0.025476, -0.061795, -0.047059],
    3: [0.027524, 0.023811, 0.013987, 0.044044, 0.107159, -0.059294],
}
REFERENCE_COSINES = [
    [1.0, 0.1626, 0.1049, 0.1751, 0.0332],
    [0.1626, 1.0, 0.1549, 0.0638, 0.2387],
    [0.1049, 0.1549, 1.0, 0.4507, -0.0356],
    [0.1751, 0.0638, 0.4507, 1.0, 0.1327],
    [0.0332, 0.2387, -0.0356, 0.1327, 1.0],
]


@pytest.fixture(scope="module")
def vectors(understanding: PromptUnderstanding) -> np.ndarray:
    return SentenceEmbedder().embed(SENTENCES)


def test_matches_sentence_transformers(vectors: np.ndarray) -> None:
    for row, head in REFERENCE_HEAD.items():
        np.testing.assert_allclose(vectors[row, :6], head, atol=1e-5)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=1e-3)


def test_unit_length(vectors: np.ndarray) -> None:
    assert vectors.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    first, paraphrase, unrelated = SentenceEmbedder().embed(
        [
            "a bottle on a wooden kitchen table",
            "a flask standing on a timber table in the kitchen",
            "neon lights in a rainy city at night",
        ]
    )
    assert first @ paraphrase > first @ unrelated + 0.2


def test_safetensors_are_read_without_torch() -> None:
    tensors = read_safetensors(model_directory() / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)


def test_a_missing_model_is_a_clear_error_and_prompts_fall_back_to_keywords(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(EmbeddingModelMissing, match=r"no model\.safetensors and tokenizer\.json"):
        SentenceEmbedder(tmp_path).load()
    # What the studio sees: a warning, and the prompt still read by its keywords.
    understanding = PromptUnderstanding(SentenceEmbedder(tmp_path))
    with caplog.at_level(logging.WARNING):
        recipe = understanding.recipe("desert dunes under a hot orange sky")
    assert recipe.scene == "dunes"
    assert "keywords only" in caplog.text
    assert understanding.nearest_presets("desert dunes") == []
