"""What is embedded for each paragraph: its text with the episode's title as context.

A paragraph alone often says "yes, exactly, and that's why we moved"; the
episode's title says what the talk is about. Section headers are left out on
purpose: the benchmark's topic and paraphrase queries are searched on a copy of
the corpus without headers, and a header in the embedded text would make the
vectors of the two copies differ (two embeddings of the corpus instead of one).
Neighbouring paragraphs were measured in the issue (+.01 S@10 on full titles,
-.01 on retitled episodes) for 2.5 times the tokens: not worth the time budget.
Mixing each paragraph's vector with its neighbours' after embedding (no extra
tokens) was measured with ``benchmarks/fusion_study.py``: it lowered topic
S@10 by .007 to .017 on seed 1, so the search uses each paragraph's own vector.

Each episode's vectors are keyed by :func:`episode_key`: the model's fingerprint
and the exact texts embedded, so a cached or stored vector is reused only for
the very same input to the very same model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from podsearch.model import Episode

#: The context of a paragraph and the paragraph: ``"<title>: <text>"``.
_TEMPLATE = "{title}: {text}"


def passage_text(title: str, text: str) -> str:
    """The text embedded for one paragraph of an episode titled ``title``."""
    return _TEMPLATE.format(title=title.strip(), text=text.strip())


#: The row number of an episode's own vector (its title and description), before its paragraphs'.
ABOUT = -1


def episode_passages(episode: Episode) -> tuple[list[int], list[str]]:
    """The rows embedded for an episode: :data:`ABOUT` (title and description), then each
    paragraph's number, in order; and the text embedded for each."""
    numbers: list[int] = [ABOUT]
    texts: list[str] = [about_text(episode.title, episode.description)]
    paragraphs = sorted((p for turn in episode.turns for p in turn.paragraphs), key=lambda p: p.number)
    for paragraph in paragraphs:
        numbers.append(paragraph.number)
        texts.append(passage_text(episode.title, paragraph.text))
    return numbers, texts


def about_text(title: str, description: str) -> str:
    """The text embedded for an episode as a whole (``--by-episode``): its title and description."""
    return f"{title.strip()}. {description.strip()}".strip(". ")


def episode_key(fingerprint: str, texts: Iterable[str]) -> str:
    """SHA-256 (hex) of the model fingerprint and the texts: what a stored vector was made from."""
    digest = hashlib.sha256(fingerprint.encode("ascii"))
    for text in texts:
        encoded = text.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


class PassageModel:
    """An :class:`~podsearch.embedding.encoder.Encoder` as the index uses it to embed episodes
    (what :class:`podsearch.index.vectors.PassageEncoder` asks for)."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder

    @property
    def fingerprint(self) -> str:
        """The model's fingerprint (its weights' SHA-256)."""
        return str(self.encoder.fingerprint)

    @property
    def dimensions(self) -> int:
        """The length of a vector."""
        return int(self.encoder.dimensions)

    def passages(self, episode: Episode) -> tuple[list[int], list[str]]:
        """See :func:`episode_passages`."""
        return episode_passages(episode)

    def key(self, texts: Sequence[str]) -> str:
        """See :func:`episode_key`."""
        return episode_key(self.fingerprint, texts)

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit float32 vectors, one per text."""
        return self.encoder.encode(texts)
