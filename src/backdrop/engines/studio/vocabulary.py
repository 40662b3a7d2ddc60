"""Which elements a prompt names: by their words, else by meaning (a word's sentence embedding
close to an element's phrase), and which words of the prompt nothing used."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from backdrop.engines.studio.elements import ELEMENTS, SUBSUMES, WORDS
from backdrop.engines.studio.embedding import SentenceEmbedder
from backdrop.engines.studio.recipe import Element

# A word stands for an element by meaning only when it is this close, and clearly closer to it
# than to the runner-up (word-level embeddings are noisy: "tub" is near "a lake").
SYNONYM_SIMILARITY = 0.6
SYNONYM_MARGIN = 0.06

# Words that carry no picture of their own: never reported as unused.
FUNCTION_WORDS = frozenset(
    """
    a an the and or with without of in on at to into onto over under above below behind
    beside by for from through along across around near against full set this that its
    his her their some two three single large small big tiny little long tall short wide
    narrow very few many lots background backdrop backgrounds scene setting style photo
    shot product products display image picture mood tones tone colours colors color
    colour is are be has have like looking one side distance front top
    wall walls floor room surface
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def element_for_word(word: str) -> Element | None:
    """The element a word names outright (plural or singular)."""
    found = WORDS.get(word)
    if found is None and word.endswith("s"):
        found = WORDS.get(word[:-1])
    return found


class ElementFinder:
    """Finds the elements of a prompt; the embedder is optional (keywords alone without it)."""

    def __init__(self, embedder: SentenceEmbedder | None) -> None:
        self._embedder = embedder
        self._phrases: npt.NDArray[np.float32] | None = None
        self._order = tuple(ELEMENTS)
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def find(self, words: list[str], candidates: list[str]) -> tuple[list[Element], dict[str, str]]:
        """(elements in prompt order, {word: how it was matched}); `candidates` are the words
        no other part of the understanding used, tried by meaning."""
        found: list[Element] = []
        matched: dict[str, str] = {}
        for word in words:
            element = element_for_word(word)
            if element is not None:
                found.append(element)
                matched[word] = str(element)
        if self._embedder is not None and candidates:
            for word, (element, score) in zip(
                candidates, self._by_meaning(candidates), strict=True
            ):
                if element is not None and word not in matched:
                    found.append(element)
                    matched[word] = f"{element} (similarity {score:.2f})"
        redundant = {SUBSUMES[e] for e in found if e in SUBSUMES}
        return [e for e in dict.fromkeys(found) if e not in redundant], matched

    def prepare(self, words: list[str]) -> None:
        """Embed these words now, in one batch."""
        if self._embedder is None:
            return
        missing = [w for w in dict.fromkeys(words) if w not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._embedder.embed(missing), strict=True))

    def _by_meaning(self, words: list[str]) -> list[tuple[Element | None, float]]:
        assert self._embedder is not None
        if self._phrases is None:
            self._phrases = self._embedder.embed([ELEMENTS[e].phrase for e in self._order])
        missing = [w for w in dict.fromkeys(words) if w not in self._cache]
        if missing:
            # One batch for the new words: far cheaper than one model run per word.
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache.update(zip(missing, self._embedder.embed(missing), strict=True))
        results: list[tuple[Element | None, float]] = []
        for word in words:
            scores = self._phrases @ self._cache[word]
            best, second = np.argsort(-scores)[:2]
            score = float(scores[best])
            close = score >= SYNONYM_SIMILARITY and score - float(scores[second]) >= SYNONYM_MARGIN
            results.append((self._order[best] if close else None, score))
        return results
