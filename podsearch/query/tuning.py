"""Every ranking weight and tunable of the search, with what it measured.

Measured with the relevance check (``benchmarks/relevance.py``: set on seed 1,
confirmed on seed 2) and the latency check (``benchmarks/latency.py``) on the
shared corpus. Change one here and rerun both.
"""

from __future__ import annotations

# --- BM25 -------------------------------------------------------------------------------------

#: BM25's term-frequency saturation and length normalisation (the usual values).
K1 = 1.2
B = 0.75

# --- the first stage (candidates) ------------------------------------------------------------

#: Added per matched word in the first stage: BM25 of one word stays well below it, so
#: documents with more of the words come first (AND before OR).
COORDINATION = 100.0
#: The first stage reads the postings of the query's rarest words (at least two) up to
#: about this many; commoner words only count in the second stage. 3,000 gains 0.005
#: MRR on topic queries and costs 5 % of the median latency; 1,500 loses 0.015.
POSTINGS_BUDGET = 2_200
#: Queries with more content words than this get a proportionally larger budget
#: (+0.005 to +0.012 MRR@10 on topic and title queries, +0.01 to +0.03 S@10).
BUDGET_WORDS = 4
#: A wildcard's completions may read this many times the postings budget.
WILDCARD_BUDGET = 2
#: A wildcard stands for at most this many of its most frequent completions: Whoosh
#: would OR every completion (hundreds for three letters, seconds of work); the
#: commonest few find the same moments.
MAX_EXPANSIONS = 16
#: Candidates the first stage hands to the re-ranker.
CANDIDATES = 24
#: Candidates for a quote made of common words, where only word order tells the
#: paragraphs apart (see :func:`podsearch.query.candidates.quote_like`).
WIDE_CANDIDATES = 128

# --- the second stage (re-ranking) ------------------------------------------------------------

#: How much the section header adds, relative to the paragraph's own text.
SECTION_WEIGHT = 0.3
#: The average length (in terms) that BM25 assumes for a section header.
SECTION_LENGTH = 4.0
#: How much of the section header's coverage of the query counts as the paragraph's.
SECTION_COVERAGE = 0.5
#: How much a full in-order run of the query's words multiplies the score: took
#: known-item quotes from 92 % to 96 % first-hit accuracy.
PHRASE_BOOST = 10.0
#: How much the episode's title holding the query's words multiplies the score.
TITLE_BOOST = 1.0
#: How much the episode being about the query (title, topics, description, headers)
#: multiplies the score.
EPISODE_BOOST = 0.5
#: How much matches in the neighbouring paragraphs multiply the score.
NEIGHBOUR_BOOST = 0.3
#: A paragraph holding every content word of the query is worth this much more.
ALL_WORDS_BOOST = 2.0
#: How much the passage around a moment holding the query's words multiplies the
#: score: took topic queries' MRR@10 from 0.61 to 0.66 (0.56 to 0.58 on seed 2).
PASSAGE_BOOST = 3.0
#: Paragraphs each side of a moment that make its passage (a section's paragraphs
#: share its subject).
PASSAGE_REACH = 3
#: How much the query's words standing close together multiply the score: took
#: half-remembered quotes from 0.989 to 0.997 MRR@10.
PROXIMITY_BOOST = 2.0
#: Floor of the coverage factor: a paragraph with few of the words keeps some score.
COVERAGE_FLOOR = 0.15

#: A query naming a guest in full ("Willem Pienaar") puts the best moment of the guest's
#: episodes first (as one that is, or nearly is, an episode's title: see
#: :func:`podsearch.query.rerank.promote_named`); the guest's own words there count this much more.
GUEST_WORDS_BOOST = 4.0
#: A named guest's paragraphs this long or longer are candidates even without the query's words
#: (:func:`podsearch.query.rerank.guest_openings`): their first long answer says who they are.
GUEST_OPENING_WORDS = 25
#: A query of three content words or more matches a title when at least this share of its
#: words are in the title and they make at least :data:`TITLE_COVERAGE` of the title's
#: (shorter queries must be the title's words exactly).
TITLE_MATCH_SHARE = 0.8
TITLE_COVERAGE = 0.6
#: Matches of each named episode (a guest's, a title's) added to the re-ranked candidates.
NAMED_CANDIDATES = 5
#: A plain query of this many words or more that occurs word for word in a paragraph
#: (a quote) ranks that paragraph first: its score is multiplied by :data:`EXACT_BOOST`.
EXACT_WORDS = 4
EXACT_BOOST = 100.0
#: The exact check reads the stored terms of at most this many paragraphs holding every
#: word the first stage read. 200 missed quotes of common words ("time and now I": 511 paragraphs
#: hold "time" and "now"); 1,000 takes known-item quotes to 100 % in the top 10 on both seeds, same
#: median latency, up to about 20 ms more on such quotes.
EXACT_CHECKS = 1_000

# --- grouping by episode ----------------------------------------------------------------------

#: An episode ranks by its best moment plus this share of its next two.
GROUP_OTHERS_WEIGHT = 0.1
#: Moments shown per episode.
GROUP_HITS = 3

# --- spelling ---------------------------------------------------------------------------------

#: Typed words shorter than this are never corrected (too many neighbours to guess from).
SPELLING_MIN_LENGTH = 4
#: Nor longer ones (the candidates grow with the length; no real word is this long).
SPELLING_MAX_LENGTH = 24
#: Words this long or longer are corrected up to two edits away (shorter ones, one edit).
TWO_EDITS_LENGTH = 8
#: Paragraphs read to find the words the corpus writes for a corrected term.
SURFACE_PARAGRAPHS = 4

# --- hybrid search (podsearch/query/hybrid.py), measured by benchmarks/bench_semantic.py

#: Paragraphs taken from the vector search, beside the lexical candidates. Each is re-ranked
#: (about 0.08 ms); ``benchmarks/fusion_study.py study --grid`` on both seeds: every set's S@10
#: and MRR@10 are the same from 35 to 50, and 34 or fewer lose paraphrase MRR@10 (−0.004).
MEANING_CANDIDATES = 40
#: A candidate's words' score is multiplied by ``exp(MEANING_WEIGHT × cosine)`` (unless the words'
#: winner holds every content word of the query). Set on seed 1 with ``benchmarks/fusion_study.py``
#: (topic MRR@10 +0.031 over words; a linear mix of min-max normalised scores: +0.017), confirmed on seed 2.
MEANING_WEIGHT = 6.0
#: The words' score a candidate found by meaning alone starts from, as a share of the best candidate's.
MEANING_FLOOR = 0.01
#: A candidate's fused score is also multiplied by ``(e + MEANING_FLOOR) ** MEANING_EPISODE_WORDS``, ``e`` the best
#: words' score among its episode's candidates as a share of the best candidate's: a passage by meaning counts
#: more in an episode the words found (set on seed 1 with ``benchmarks/fusion_study.py``: topic ΔS@10 / ΔMRR@10
#: +0.017 / +0.031 → +0.027 / +0.039, paraphrase +0.031 / +0.016 → +0.042 / +0.020).
MEANING_EPISODE_WORDS = 0.4
#: In ``hybrid`` mode the first stage's next best matches after its candidates, re-ranked too: a close meaning
#: may lift one the words ranked just below them (set with ``benchmarks/fusion_study.py``, ``more``: topic
#: ΔS@10 / ΔMRR@10 +0.057 / +0.046 → +0.073 / +0.053 on seed 2, equal on seed 1; 8 to 100 measure alike).
MEANING_MORE_WORDS = 8
#: ``--by-episode``: a moment's score is multiplied by 1 + this × the cosine of its episode's title and
#: description (0 to 1 over the episodes).
MEANING_EPISODE_WEIGHT = 0.2
