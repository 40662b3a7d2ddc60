"""Checks on text prompts before an order is accepted (a refused prompt charges nothing)."""

from __future__ import annotations

import unicodedata

from backdrop.errors import InvalidPrompt


def check_prompt(text: str | None, max_chars: int) -> str:
    """Return the prompt trimmed, or raise InvalidPrompt (5041) saying what is wrong."""
    if text is None or not text.strip():
        raise InvalidPrompt("textPrompt is empty; describe the background you want")
    prompt = text.strip()
    if len(prompt) > max_chars:
        raise InvalidPrompt(f"textPrompt has {len(prompt)} characters; the limit is {max_chars}")
    for char in prompt:
        # Control and format characters (NUL, escapes, bidi overrides) have no place in a prompt.
        if char not in "\n\t" and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"}:
            raise InvalidPrompt(f"textPrompt contains a control character (U+{ord(char):04X})")
    return prompt
