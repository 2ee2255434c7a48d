"""BERT's uncased WordPiece tokenizer in pure Python, giving the same ids as Hugging Face's fast one.

It follows the ``tokenizers`` library's ``BertNormalizer`` (drop control characters, whitespace
to spaces, spaces around CJK ideographs, accents stripped, lower case character by character),
``BertPreTokenizer`` (split on whitespace and around each punctuation character) and
``WordPiece`` (greedy longest match, ``##`` continuations, ``[UNK]`` for a word that cannot be
split or is over 100 characters). Special tokens typed in the text (``[SEP]``) are matched
before anything else, as the fast tokenizer does. Checked against it on every paragraph of the
corpus and on every Unicode character (tests/test_embedding.py keeps the reference ids).

A per-word cache makes the common words cost one dictionary look-up; the object is safe to
share between threads (the cache is a plain dict filled idempotently).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
MAX_WORD_CHARS = 100
CACHE_LIMIT = 200_000

_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
_ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# ASCII text takes a fast path: control characters dropped (tab and newlines become spaces),
# then words are runs of anything but spaces and ASCII punctuation.
_ASCII_CLEAN = {c: None for c in range(32) if chr(c) not in "\t\n\r"} | {127: None} | {ord(c): " " for c in "\t\n\r"}
_ASCII_WORDS = re.compile(r"[^\s" + re.escape(_ASCII_PUNCTUATION) + r"]+|[" + re.escape(_ASCII_PUNCTUATION) + "]")

# Character classes of the general path
_KEEP, _DROP, _SPACE, _PUNCT, _CJK = range(5)
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


class WordPiece:
    """Text → token ids of a BERT vocabulary: ``[CLS] … [SEP]``, at most ``max_tokens`` in all."""

    def __init__(self, vocabulary: Mapping[str, int], *, lowercase: bool = True, max_tokens: int = 256) -> None:
        for token in SPECIAL_TOKENS:
            if token not in vocabulary:
                raise ValueError(f"the vocabulary has no {token}")
        self.vocabulary = dict(vocabulary)
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.cls_id, self.sep_id, self.unk_id = vocabulary[CLS], vocabulary[SEP], vocabulary[UNK]
        self._words: dict[str, tuple[int, ...]] = {}
        self._classes: dict[str, int] = {}

    @classmethod
    def from_vocab_txt(cls, text: str, **options: object) -> WordPiece:
        """From ``vocab.txt``: one token per line, the id is the line number."""
        return cls({token: i for i, token in enumerate(text.split("\n")) if token}, **options)  # type: ignore[arg-type]

    @classmethod
    def from_tokenizer_json(cls, text: str, **options: object) -> WordPiece:
        """From a Hugging Face ``tokenizer.json`` with a WordPiece model."""
        data = json.loads(text)
        model = data.get("model") or {}
        if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
            raise ValueError("tokenizer.json does not hold a WordPiece vocabulary")
        return cls(model["vocab"], **options)  # type: ignore[arg-type]

    def encode(self, text: str) -> list[int]:
        """The ids of ``[CLS] text [SEP]``, the text's pieces cut to fit ``max_tokens``."""
        budget = self.max_tokens - 2
        ids = [self.cls_id]
        for part in _SPECIAL_SPLIT.split(text):
            if len(ids) > budget:
                break
            if part in SPECIAL_TOKENS:
                ids.append(self.vocabulary[part])
            elif part:
                for word in self.words(part):
                    ids.extend(self._word_ids(word))
                    if len(ids) > budget:
                        break
        del ids[budget + 1 :]
        ids.append(self.sep_id)
        return ids

    def count(self, text: str) -> int:
        """How many tokens :meth:`encode` gives for ``text`` (at most ``max_tokens``)."""
        return len(self.encode(text))

    def words(self, text: str) -> list[str]:
        """The normalized words and punctuation marks of ``text`` (no special-token handling)."""
        if text.isascii():
            text = text.translate(_ASCII_CLEAN)
            return _ASCII_WORDS.findall(text.lower() if self.lowercase else text)
        return self._general_words(text)

    def _general_words(self, text: str) -> list[str]:
        out: list[str] = []
        classes = self._classes
        for char in text:
            kind = classes.get(char)
            if kind is None:
                kind = classes[char] = _classify(char)
            if kind == _DROP:
                continue
            if kind == _SPACE:
                out.append(" ")
            elif kind == _CJK:
                out.append(f" {char} ")
            else:
                out.append(char)
        normalized = "".join(out)
        if self.lowercase:  # accents go with lower case, as in BERT's uncased models
            normalized = unicodedata.normalize("NFD", normalized)
            normalized = "".join(c for c in normalized if unicodedata.category(c) != "Mn")
            # character by character, like the Rust tokenizer (no final-sigma rule of str.lower)
            normalized = normalized.lower() if "\u03a3" not in normalized else "".join(c.lower() for c in normalized)
        words: list[str] = []
        for chunk in normalized.split():
            start = 0
            for i, char in enumerate(chunk):
                kind = classes.get(char)
                if kind is None:
                    kind = classes[char] = _classify(char)
                if kind == _PUNCT:
                    if i > start:
                        words.append(chunk[start:i])
                    words.append(char)
                    start = i + 1
            if start < len(chunk):
                words.append(chunk[start:])
        return words

    def _word_ids(self, word: str) -> tuple[int, ...]:
        cached = self._words.get(word)
        if cached is not None:
            return cached
        ids = self._split(word)
        if len(self._words) >= CACHE_LIMIT:
            self._words = {}
        self._words[word] = ids
        return ids

    def _split(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first pieces of one word; ``[UNK]`` alone when a piece is not found."""
        if len(word) > MAX_WORD_CHARS:
            return (self.unk_id,)
        vocabulary = self.vocabulary
        ids = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocabulary.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return (self.unk_id,)
            start = end
        return tuple(ids)


def _classify(char: str) -> int:
    """What the normalizer and pre-tokenizer do with one character."""
    code = ord(char)
    if char in "\t\n\r":
        return _SPACE
    category = unicodedata.category(char)
    if code == 0 or code == 0xFFFD or category in ("Cc", "Cf", "Co", "Cs"):  # unassigned (Cn) stays
        return _DROP
    if char.isspace():
        return _SPACE
    if any(low <= code <= high for low, high in _CJK_RANGES):
        return _CJK
    if category.startswith("P") or char in _ASCII_PUNCTUATION:
        return _PUNCT
    return _KEEP
