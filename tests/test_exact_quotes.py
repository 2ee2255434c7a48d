"""A quote of common words is found word for word even when hundreds of paragraphs hold its rarer words."""

from __future__ import annotations

import random
from pathlib import Path

import podsearch
from podsearch.query.rerank import holds_run
from podsearch.query.tuning import EXACT_CHECKS
from tests.factory import write_episode


def test_a_quote_of_common_words_beats_hundreds_of_paragraphs_holding_its_words(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    folder.mkdir()
    # short paragraphs dense in "time" and "now" score higher in the first stage than the quote's long one
    distractors = EXACT_CHECKS // 4 - 20  # per episode: over 4 times the old limit of 200 in all, within today's
    for number in range(1, 5):
        items = [("Ann", 10 * i, f"Now it is time {i}. Time is now, now.") for i in range(distractors)]
        write_episode(folder, f"ep{number}", items, season=1, number=number, youtube=f"abcdefghij{number}")
    quote = (
        "It's nice that you brought this up, because I also used to work as a data scientist full-time "
        "and now I don't, and what I'm afraid of is that I'll lose touch with the practice of the job."
    )
    write_episode(folder, "ep9", [("Bob", 5, quote)], season=1, number=9, youtube="abcdefghij9")
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    first = index.search("time and now I")[0]
    assert (first.episode.id, first.paragraph) == ("s01e09", 0)


def test_holds_run_finds_a_run_exactly_where_one_is() -> None:
    """Against the plain definition (every position tried), on random short token lists."""
    rng = random.Random(7)
    for _ in range(20_000):
        tokens = [rng.choice("abc") for _ in range(rng.randint(0, 12))]
        run = [rng.choice("abc") for _ in range(rng.randint(1, 4))]
        expected = any(tokens[start : start + len(run)] == run for start in range(len(tokens)))
        assert holds_run(tokens, run) is expected, (tokens, run)
