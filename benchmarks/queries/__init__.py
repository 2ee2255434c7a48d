"""Relevance query sets generated from the shared corpus, with judgments nobody tuned.

Every query and its judgment is derived mechanically from the corpus with a
fixed seed, at run time (nothing is committed but this code):

``known``
    4–8 consecutive words of a real paragraph; the answer is that paragraph.
    At least two of the words are content words, and the word sequence occurs
    verbatim (case, punctuation and apostrophes folded) in no other paragraph:
    the corpus holds duplicate episodes and repeated phrases.
``partial``
    A "half-remembered" quote: 4–5 content words, in order, picked from a
    12-word window of a real paragraph; the answer is that paragraph. Samples
    whose words all occur together in another paragraph are skipped.
``typo``
    A ``known`` query (sampled separately) with one content word of five or
    more letters mistyped: a deletion, a swap of two neighbouring letters, or
    a substitution by a neighbouring key on a QWERTY keyboard, never at the
    first letter. The mistyped form must not be a word of the corpus (a
    real-word error is no typo a speller could fix).
``topic``
    A section header as the query, searched in the corpus indexed *without*
    its headers; relevant = any paragraph
    of that section in that episode (binary relevance; the header-free copy is
    made by :mod:`queries.headerless`). Headers that occur
    (folded) more than once in the corpus ("Podcast Introduction") are
    skipped: they name no one section.
``title``
    An episode's title as the query; relevant = any paragraph of that episode
    (binary). Titles that occur more than once are skipped.
``guest``
    A guest's full name (as the corpus ``people`` folder gives it, two words
    or more) as the query; relevant = any paragraph of the guest's episodes.
``typo2``
    A ``known`` query (sampled separately) with one word of eight or more
    letters mistyped by two edits (two of the edits of ``typo``, never at the
    first letter), no corpus word and not one edit from the word.

"Content words" are words of three or more characters that are not in
:data:`STOP_WORDS` (English function words plus the fillers of speech).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import podsearch

SETS = ("known", "partial", "typo", "topic", "title", "guest", "typo2")
#: The sets searched in the corpus indexed without its section headers.
HEADERLESS_SETS = frozenset({"topic"})

#: A word as the benchmark sees it: letters and digits, with inner apostrophes.
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHES = str.maketrans("", "", "'’")

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having he
    he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in
    into is isn't it it's its itself let's me more most mustn't my myself no nor not of off on once
    only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
    shouldn't so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up very was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves yeah yes okay ok um uh oh like just really actually know think mean kind sort thing
    things lot get got going gonna well right one also maybe much many something stuff way say said
    see want need make made go good great""".replace("'", "").split()
)

_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    rows = {ch: (r, c) for r, row in enumerate(_QWERTY) for c, ch in enumerate(row)}
    found: dict[str, str] = {}
    for ch, (r, c) in rows.items():
        near = [
            other
            for other, (r2, c2) in rows.items()
            if other != ch and abs(r - r2) <= 1 and abs((c + 0.5 * r) - (c2 + 0.5 * r2)) <= 1.0
        ]
        found[ch] = "".join(sorted(near))
    return found


KEY_NEIGHBOURS = _keyboard_neighbours()


def fold(word: str) -> str:
    """``"Don’t"`` → ``"dont"``."""
    return word.lower().translate(_APOSTROPHES)


def is_content(word: str) -> bool:
    """Whether a folded word counts as a content word."""
    return len(word) >= 3 and word not in STOP_WORDS


# --- the corpus ---------------------------------------------------------------------------------


def corpus_root(option: str | None) -> Path:
    """The shared corpus folder: ``--corpus``, else ``$PODSEARCH_CORPUS``, else ``../shared/corpus``."""
    if option:
        return Path(option)
    configured = os.environ.get("PODSEARCH_CORPUS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def podcast_folder(root: Path) -> Path | None:
    """The episode files inside a corpus root, or ``None`` when absent."""
    folder = root / "datatalks" / "podcast"
    return folder if folder.is_dir() else None


def load_episodes(folder: Path) -> list[podsearch.Episode]:
    """The readable episodes of a folder (files podsearch refuses are left out)."""
    return [item for item in podsearch.read_folder(folder) if isinstance(item, podsearch.Episode)]


@dataclass(frozen=True)
class Passage:
    """A paragraph as the query generator sees it."""

    eid: str
    number: int
    text: str
    #: The surface words, in order.
    words: tuple[str, ...]
    #: The folded words, in order.
    folded: tuple[str, ...]


class Corpus:
    """Paragraphs of parsed episodes, with a word → paragraphs index for uniqueness checks."""

    def __init__(self, episodes: Sequence[podsearch.Episode]) -> None:
        self.episodes = list(episodes)
        self.passages: list[Passage] = []
        self.postings: dict[str, set[int]] = {}
        for episode in self.episodes:
            for turn in episode.turns:
                for paragraph in turn.paragraphs:
                    words = tuple(WORD.findall(paragraph.text))
                    folded = tuple(fold(w) for w in words)
                    index = len(self.passages)
                    self.passages.append(Passage(episode.id, paragraph.number, paragraph.text, words, folded))
                    for word in set(folded):
                        self.postings.setdefault(word, set()).add(index)
        self._joined = [" " + " ".join(p.folded) + " " for p in self.passages]

    @property
    def vocabulary(self) -> set[str]:
        """Every folded word of the corpus."""
        return set(self.postings)

    def containing_all(self, words: Iterable[str]) -> set[int]:
        """Indexes of the paragraphs that contain every one of the folded words."""
        sets = sorted((self.postings.get(w, set()) for w in set(words)), key=len)
        if not sets:
            return set()
        found = set(sets[0])
        for other in sets[1:]:
            found &= other
        return found

    def containing_sequence(self, words: Sequence[str]) -> set[int]:
        """Indexes of the paragraphs where the folded words occur consecutively."""
        needle = " " + " ".join(words) + " "
        return {i for i in self.containing_all(words) if needle in self._joined[i]}


# --- queries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A query with its judged answers: ``(episode id, paragraph number)`` pairs."""

    set: str
    text: str
    relevant: frozenset[tuple[str, int]]
    #: For known items, the source paragraph; for sections, the header; for titles, the episode.
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _answer(passage: Passage) -> frozenset[tuple[str, int]]:
    return frozenset({(passage.eid, passage.number)})


def _shuffled(items: Sequence[Any], rng: random.Random) -> list[Any]:
    order = list(items)
    rng.shuffle(order)
    return order


def _quote(corpus: Corpus, index: int, rng: random.Random) -> list[str] | None:
    """4–8 consecutive words of a paragraph, at least two of them content words, that
    occur in no other paragraph; ``None`` when the sample fails."""
    passage = corpus.passages[index]
    length = rng.randint(4, 8)
    if len(passage.words) < length:
        return None
    start = rng.randrange(len(passage.words) - length + 1)
    if sum(1 for w in passage.folded[start : start + length] if is_content(w)) < 2:
        return None
    if corpus.containing_sequence(passage.folded[start : start + length]) != {index}:
        return None
    return list(passage.words[start : start + length])


def known_items(corpus: Corpus, count: int, seed: int) -> list[Query]:
    """``count`` verbatim-quote queries (see the module docstring)."""
    rng = random.Random(f"{seed}/known")
    found: list[Query] = []
    for index in _shuffled(range(len(corpus.passages)), rng):
        passage = corpus.passages[index]
        words = _quote(corpus, index, rng)
        if words is None:
            continue
        text = " ".join(words)
        found.append(Query("known", text, _answer(passage), f"{passage.eid}#{passage.number}"))
        if len(found) == count:
            break
    return found


def partial_items(corpus: Corpus, count: int, seed: int) -> list[Query]:
    """``count`` half-remembered queries: a few content words of a paragraph, in order."""
    rng = random.Random(f"{seed}/partial")
    found: list[Query] = []
    for index in _shuffled(range(len(corpus.passages)), rng):
        passage = corpus.passages[index]
        if len(passage.words) < 12:
            continue
        start = rng.randrange(len(passage.words) - 12 + 1)
        seen: dict[str, int] = {}
        for offset in range(start, start + 12):
            if is_content(passage.folded[offset]):
                seen.setdefault(passage.folded[offset], offset)
        if len(seen) < 4:
            continue
        keep = sorted(rng.sample(sorted(seen.values()), rng.randint(4, min(5, len(seen)))))
        if corpus.containing_all(passage.folded[i] for i in keep) != {index}:
            continue
        text = " ".join(passage.words[i] for i in keep)
        found.append(Query("partial", text, _answer(passage), f"{passage.eid}#{passage.number}"))
        if len(found) == count:
            break
    return found


def misspell(word: str, rng: random.Random, vocabulary: set[str]) -> str | None:
    """One deterministic edit of ``word`` (not at its first letter) that is no corpus word."""
    lower = word.lower()
    for _ in range(8):
        kind = rng.choice(("delete", "swap", "substitute"))
        if kind == "delete":
            i = rng.randrange(1, len(lower))
            typo = lower[:i] + lower[i + 1 :]
        elif kind == "swap":
            i = rng.randrange(1, len(lower) - 1)
            if lower[i] == lower[i + 1]:
                continue
            typo = lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :]
        else:
            i = rng.randrange(1, len(lower))
            near = KEY_NEIGHBOURS.get(lower[i])
            if not near:
                continue
            typo = lower[:i] + rng.choice(near) + lower[i + 1 :]
        if typo != lower and typo not in vocabulary:
            return typo
    return None


def misspell_twice(word: str, rng: random.Random, vocabulary: set[str]) -> str | None:
    """Two edits of ``word`` (as :func:`misspell`) giving no corpus word that is not one edit away."""
    for _ in range(8):
        once = misspell(word, rng, vocabulary)
        twice = misspell(once, rng, vocabulary) if once else None
        if twice and _edits(word.lower(), twice) == 2:
            return twice
    return None


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def typo_items(corpus: Corpus, count: int, seed: int, two: bool = False) -> list[Query]:
    """``count`` verbatim-quote queries with one content word mistyped (by two edits, with ``two``)."""
    name = "typo2" if two else "typo"
    rng = random.Random(f"{seed}/{name}")
    vocabulary = corpus.vocabulary
    shortest = 8 if two else 5
    found: list[Query] = []
    for index in _shuffled(range(len(corpus.passages)), rng):
        passage = corpus.passages[index]
        words = _quote(corpus, index, rng)
        if words is None:
            continue
        targets = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= shortest and is_content(fold(w))]
        if not targets:
            continue
        target = rng.choice(targets)
        typo = (misspell_twice if two else misspell)(words[target], rng, vocabulary)
        if typo is None:
            continue
        original = words[target]
        words[target] = typo
        found.append(
            Query(
                name,
                " ".join(words),
                _answer(passage),
                f"{passage.eid}#{passage.number}",
                {"typo": typo, "word": original},
            )
        )
        if len(found) == count:
            break
    return found


def _folded_text(text: str) -> str:
    return " ".join(fold(w) for w in WORD.findall(text))


def sections(episodes: Sequence[podsearch.Episode]) -> list[tuple[str, str, frozenset[tuple[str, int]]]]:
    """Each section of each episode: ``(episode id, header, its paragraphs)``.

    A section is a run of turns under the same header (turns before the first
    header belong to none).
    """
    found: list[tuple[str, str, frozenset[tuple[str, int]]]] = []
    for episode in episodes:
        current: str | None = None
        members: list[tuple[str, int]] = []
        for turn in [*episode.turns, None]:
            section = turn.section if turn is not None else None
            if turn is None or section != current:
                if current and members:
                    found.append((episode.id, current, frozenset(members)))
                current, members = section, []
            if turn is not None:
                members.extend((episode.id, p.number) for p in turn.paragraphs)
    return found


def topic_items(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[Query]:
    """``count`` section-header queries; relevant = the paragraphs of that section."""
    everything = sections(episodes)
    times: dict[str, int] = {}
    for _, header, _ in everything:
        times[_folded_text(header)] = times.get(_folded_text(header), 0) + 1
    unique = [s for s in everything if times[_folded_text(s[1])] == 1 and _folded_text(s[1])]
    rng = random.Random(f"{seed}/topic")
    return [
        Query("topic", header, members, f"{eid} § {header}", {"paragraphs": len(members)})
        for eid, header, members in _shuffled(unique, rng)[:count]
    ]


def title_items(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[Query]:
    """``count`` episode-title queries; relevant = any paragraph of that episode."""
    times: dict[str, int] = {}
    for episode in episodes:
        times[_folded_text(episode.title)] = times.get(_folded_text(episode.title), 0) + 1
    rng = random.Random(f"{seed}/title")
    found = []
    for episode in _shuffled(episodes, rng):
        if times[_folded_text(episode.title)] != 1:
            continue
        members = frozenset((episode.id, p.number) for turn in episode.turns for p in turn.paragraphs)
        found.append(Query("title", episode.title, members, episode.id))
    return found[:count]


def guest_items(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[Query]:
    """``count`` guest-name queries; relevant = any paragraph of the guest's episodes."""
    members: dict[str, set[tuple[str, int]]] = {}
    for episode in episodes:
        for guest_id, name in zip(episode.guests, episode.guest_names, strict=False):
            if name != guest_id and len(WORD.findall(name)) >= 2:
                paragraphs = {(episode.id, p.number) for turn in episode.turns for p in turn.paragraphs}
                members.setdefault(name, set()).update(paragraphs)
    rng = random.Random(f"{seed}/guest")
    return [
        Query("guest", name, frozenset(members[name]), name, {"paragraphs": len(members[name])})
        for name in _shuffled(sorted(members), rng)[:count]
    ]


def build_sets(
    episodes: Sequence[podsearch.Episode],
    names: Sequence[str],
    count: int,
    seed: int,
    corpus: Corpus | None = None,
) -> dict[str, list[Query]]:
    """The named query sets, ``count`` queries each (fewer where the corpus has fewer).

    ``corpus`` saves building the word index again when the caller has one.
    """
    if corpus is None and {"known", "partial", "typo", "typo2"} & set(names):
        corpus = Corpus(episodes)
    makers = {
        "known": lambda: known_items(corpus, count, seed),  # type: ignore[arg-type]
        "partial": lambda: partial_items(corpus, count, seed),  # type: ignore[arg-type]
        "typo": lambda: typo_items(corpus, count, seed),  # type: ignore[arg-type]
        "topic": lambda: topic_items(episodes, count, seed),
        "title": lambda: title_items(episodes, count, seed),
        "guest": lambda: guest_items(episodes, count, seed),
        "typo2": lambda: typo_items(corpus, count, seed, two=True),  # type: ignore[arg-type]
    }
    return {name: makers[name]() for name in names}


def dump(sets: dict[str, list[Query]], path: Path) -> None:
    """Write the query sets as JSON lines (for reading them, not for committing)."""
    with open(path, "w", encoding="utf-8") as out:
        for queries in sets.values():
            for query in queries:
                record = {
                    "set": query.set,
                    "query": query.text,
                    "note": query.note,
                    "relevant": sorted(query.relevant)[:50],
                    "relevant_count": len(query.relevant),
                    **query.extra,
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


# --- short queries (latency only: no judgments) ----------------------------------------------------


def short_items(corpus: Corpus, episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[Query]:
    """``count`` short queries of one or two words, as people type topics.

    Half are single content words of the corpus (alphabetic, 4+ letters, in 5
    to 3,000 paragraphs); half are two consecutive content words of a section
    header. They carry no judgments: the latency benchmark uses them.
    """
    rng = random.Random(f"{seed}/short")
    words = sorted(
        word
        for word, found in corpus.postings.items()
        if word.isalpha() and len(word) >= 4 and is_content(word) and 5 <= len(found) <= 3000
    )
    pairs = sorted(
        {
            f"{a} {b}"
            for _, header, _ in sections(episodes)
            for a, b in zip(_folded_text(header).split(), _folded_text(header).split()[1:], strict=False)
            if is_content(a) and is_content(b)
        }
    )
    singles = rng.sample(words, min(len(words), count - count // 2))
    doubles = rng.sample(pairs, min(len(pairs), count // 2))
    return [Query("short", text, frozenset()) for text in singles + doubles]
