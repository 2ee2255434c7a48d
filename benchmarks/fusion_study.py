"""Offline study of hybrid fusion: capture each query's candidates once, then compare fusions in seconds.

``capture`` runs every query of ``benchmarks/bench_semantic.py``'s sets (same seed, same indexes and
vectors cache) once through the real hybrid code path with a wide pool: the lexical candidates plus
the ``--pool`` paragraphs nearest by meaning under every vector variant studied here, all re-ranked
by words as a search does. It keeps, per query, the re-ranked scores, the query's vector, which
candidates came from the lexical first stage, whether the lexical winner holds the query's words in
order, and podsearch's words-only ranking (the baseline). ``study`` then fuses those candidates
offline in many ways and prints S@1, S@10 and MRR@10 of each against words-only podsearch:

- the fusion: a linear mix of both scores normalised over the candidates (min-max, z-score,
  rank, cosine relative to the best, log of the words' score), or ``mult``: the words' score
  (plus a floor) times ``exp(weight × cosine)``, optionally with the weight set to ``covered``
  when the words' winner holds every content word of the query, and the cosine of the
  candidate's episode (title and description) as one more factor;
- the weight of the meaning, the number of paragraphs taken by meaning, the first stage's
  next best matches re-ranked too (``more``);
- the vector of a paragraph: its own, or its own mixed with its neighbours' in the same
  episode (``near`` × the ±1 paragraphs, ``far`` × the ±2), plus an optional share of the
  episode's own vector, normalised: computed from the stored rows, nothing re-embedded.

- the candidates' cosine window (``window``: as ``search_vectors`` gives a cosine to the nearest and to
  the first-stage candidates), and for ``mult`` more factors, each a field of :class:`Variant`: the words'
  support of the candidate's episode (``epwords``, what hybrid.py does), the best or mean cosine of its
  neighbours (``nb``), of its episode's candidates or paragraphs (``epcos``, ``epmean``), the words of
  nearby candidates (``segwords``), a weight following the winner's coverage, the words' spread or the
  query's length (``slope``, ``gap``, ``qlen``), the cosines' spread (``spread``), a cosine floor
  (``shift``) and a greedy spreading of near paragraphs (``div``).

A grid is ``norms``, ``pool``, ``cost``, ``context``, ``mult`` or variants separated by ``;``, each
``norm[/lexical norm],weight,nearest,near,far,about[,floor[,covered[,episode[,more[,window]]]]]]``
followed by any ``field=value`` of :class:`Variant` (``mult,6,50,0,0,0,0.01,0,epwords=0.4,more=8`` is today's fusion).

Only the meaning-side candidates outside the captured pool are missed, so a variant with a pool
smaller than ``--pool`` is exact up to ties. Confirm a chosen variant through the real code path
with ``benchmarks/bench_semantic.py``.

    .venv/bin/python benchmarks/fusion_study.py capture --seed 1
    .venv/bin/python benchmarks/fusion_study.py study --seed 1 --grid 'mult,6,50,0,0,0,0.01,0,epwords=0.4,more=8;minmax,0.35,50,0,0,0'
    .venv/bin/python benchmarks/fusion_study.py study --seed 1 --grid cost   # pool size and cosine window
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bench_semantic as B
import numpy as np
import queries as Q
import relevance as R

import podsearch
from podsearch.query import hybrid
from podsearch.query import rerank as RR

#: Neighbour mixes captured (their nearest paragraphs join the pool): (±1 weight, ±2 weight).
CAPTURED_MIXES = ((0.0, 0.0), (0.5, 0.0), (0.5, 0.25), (1.0, 0.5))


@dataclass
class Captured:
    """One query's candidates, as the real code path saw them."""

    set: str
    relevant: frozenset[tuple[str, int]]
    #: The words-only ranking of podsearch (keys), the baseline.
    words: list[tuple[str, int]]
    #: The query's unit vector (``None``: not a bag-of-words query, hybrid does not apply).
    vector: Any
    #: Re-ranked candidates, best first: (lexical score, key, row of the vector table, text id).
    ranked: list[tuple[float, tuple[str, int], int, int]]
    #: Keys of the candidates found by words (the first stage, exact and named additions).
    lexical: frozenset[tuple[str, int]]
    #: Keys among the top re-ranked whose paragraph holds the query's words in order.
    in_order: frozenset[tuple[str, int]]
    text: str = ""
    #: The share of the query's content words (by idf) each of the top re-ranked candidates holds.
    coverage: dict[tuple[str, int], float] = field(default_factory=dict)
    #: The first stage's next best matches after its candidates, best first (see ``--more``).
    more: list[tuple[str, int]] = field(default_factory=list)
    #: Each first-stage candidate's position in the first stage's matches (see ``Variant.window``).
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


def neighbour_matrix(dense: Any, layout: list[tuple[int, int]], near: float, far: float, about: float) -> Any:
    """Unit rows: each paragraph's vector plus ``near`` × its ±1 and ``far`` × its ±2 neighbours'
    (same episode), plus ``about`` × the episode's own vector. ``layout``: (first row, rows) per
    episode, the first row being the episode's own."""
    mixed = dense.copy()
    for start, count in layout:
        block = dense[start + 1 : start + count]
        out = block.copy()
        for shift, weight in ((1, near), (2, far)):
            if weight and len(block) > shift:
                out[shift:] += weight * block[:-shift]
                out[:-shift] += weight * block[shift:]
        if about:
            out += about * dense[start]
        mixed[start + 1 : start + count] = out
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed


def layout_of(table: Any) -> list[tuple[int, int]]:
    return [(start, count) for _, start, count in table.episode_rows()]


# --- capture -----------------------------------------------------------------------------------------


def capture(index: podsearch.Index, queries: Sequence[Q.Query], pool: int, more: int) -> list[Captured]:
    """Run the queries through the real hybrid code path, keeping what the fusion sees."""
    table = index._read(lambda generation: generation.vectors)
    dense = table.dense()
    layout = layout_of(table)
    matrices = [
        dense if (a, b) == (0.0, 0.0) else neighbour_matrix(dense, layout, a, b, 0.0) for a, b in CAPTURED_MIXES
    ]
    original_search, original_fuse = hybrid.search_vectors, hybrid.fuse
    seen: dict[str, Any] = {}

    def search_vectors(context, table, first, started, further, mode, grouping):  # type: ignore[no-untyped-def]
        meaning = original_search(context, table, first, started, further, mode, grouping)
        layout = hybrid.row_documents(context, table)
        docs = layout.docs
        valid = np.flatnonzero(layout.placed)
        vector = np.asarray(started.found.result().query, dtype=np.float32)
        own = dense @ vector
        union: dict[int, float] = {}
        for matrix in matrices:
            scores = matrix @ vector
            best = valid[np.argpartition(-scores[valid], pool - 1)[:pool]]
            union.update({int(docs[row]): float(own[row]) for row in best})
        present = {doc for _, doc in first.matches}
        extra = [d for d in sorted(first.scores, key=lambda d: -first.scores[d]) if d not in present][:more]
        seen.update(context=context, first=first, vector=vector, docs=docs, more=extra, present=present)
        cosine = dict(meaning.cosine)
        cosine.update(union)
        for doc in extra:
            if doc not in union and layout.row(doc) >= 0:
                union[doc] = float(own[layout.row(doc)])
        return hybrid.Meaning(mode, union, cosine, meaning.episodes, meaning.lexical, meaning.further)

    def fuse(context, plan, ranked, meaning, grouping, paragraphs):  # type: ignore[no-untyped-def]
        first, present = seen["first"], seen["present"]
        # what the re-ranker adds by words (quotes held word for word, a named episode's best matches)
        added = RR.exact_matches(context, plan, first, RR.Paragraphs(context), present) | set(
            RR.named_candidates(context, plan, first)
        )
        seen.update(ranked=list(ranked), nearest=set(meaning.nearest), lexical_docs=meaning.lexical)
        seen.update(plan=plan, added=added)
        return original_fuse(context, plan, ranked, meaning, grouping, paragraphs)

    hybrid.search_vectors, hybrid.fuse = search_vectors, fuse
    out = []
    try:
        for query in queries:
            words = [(h.episode.id, h.paragraph) for h in index.search(query.text, limit=R.DEPTH, mode="words")]
            seen.clear()
            try:
                index.search(query.text, limit=R.DEPTH, mode="hybrid")
            except podsearch.PodsearchError:
                pass
            if "ranked" not in seen:
                out.append(Captured(query.set, query.relevant, words, None, [], frozenset(), frozenset(), query.text))
                continue
            context, plan = seen["context"], seen["plan"]
            catalog = context.catalog
            texts: dict[tuple[int, str], int] = {}
            ranked = []
            lexical, ordered, coverage = set(), set(), {}
            first_docs = {doc: position for position, (_, doc) in enumerate(seen["first"].matches)}
            positions = {}
            for position, (score, doc) in enumerate(seen["ranked"]):
                paragraph = context.generation.paragraph(doc)
                key = (paragraph.episode, catalog.number(doc))
                text_id = texts.setdefault((paragraph.episode, paragraph.text), len(texts))
                ranked.append((score, key, -1, text_id))
                if doc in first_docs or doc in seen["added"] or doc not in seen["nearest"]:
                    lexical.add(key)
                if doc in first_docs:
                    positions[key] = first_docs[doc]
                if position < 5 and doc in seen["lexical_docs"] and hybrid.in_order(plan, paragraph.terms):
                    ordered.add(key)
                if position < 5:
                    coverage[key] = plan.words.coverage(set(paragraph.terms))
            number = catalog.number
            extra = [(context.generation.paragraph(d).episode, number(d)) for d in seen["more"]]
            out.append(
                Captured(
                    query.set,
                    query.relevant,
                    words,
                    seen["vector"],
                    ranked,
                    frozenset(lexical),
                    frozenset(ordered),
                    query.text,
                    coverage,
                    extra,
                    positions,
                )
            )
    finally:
        hybrid.search_vectors, hybrid.fuse = original_search, original_fuse
    return out


# --- fusion variants ---------------------------------------------------------------------------------


def minmax(values: Any) -> Any:
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def zscore(values: Any) -> Any:
    deviation = values.std()
    return (values - values.mean()) / deviation if deviation > 0 else np.zeros_like(values)


def ranks(values: Any) -> Any:
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values))
    out[order] = 1.0 / (np.arange(len(values)) + 10.0)
    return out


def relative(values: Any) -> Any:
    best = values.max()
    return values / best if best > 0 else np.zeros_like(values)


def log_minmax(values: Any) -> Any:
    """Min-max of the logarithm: the re-ranker's score is a product of boosts."""
    best = values.max()
    if best <= 0:
        return np.ones_like(values)
    return minmax(np.log(np.maximum(values, 0.0) + 1e-3 * best))


def offset(values: Any) -> Any:
    """Cosine above a floor typical of unrelated paragraphs, relative to the best's."""
    floor = 0.1
    best = values.max()
    return np.clip(values - floor, 0.0, None) / (best - floor) if best > floor else np.zeros_like(values)


NORMS: dict[str, Callable[[Any], Any]] = {
    "minmax": minmax,
    "z": zscore,
    "rank": ranks,
    "rel": relative,
    "log": log_minmax,
    "off": offset,
}


@dataclass(frozen=True)
class Variant:
    """One way of fusing."""

    norm: str = "minmax"
    weight: float = 0.35
    nearest: int = 50
    near: float = 0.0
    far: float = 0.0
    about: float = 0.0
    #: Normalise the lexical score by the same rule (else min-max).
    lexical_norm: str = "minmax"
    #: ``mult``: the lexical score's floor, relative to the best candidate's.
    floor: float = 1e-3
    #: The meaning's weight when the words' winner holds every content word of the query (< 0: ``weight``).
    covered: float = -1.0
    #: ``mult``: weight of the cosine of the candidate's episode (its title and description).
    episode: float = 0.0
    #: The first stage's next best matches re-ranked too, beyond its candidates.
    more: int = 0
    #: As ``search_vectors`` does: only the nearest and the first ``window`` first-stage candidates have a
    #: cosine (the others 0); < 0: every candidate has its cosine.
    window: int = -1
    #: ``mult``: weight of the cosine of a candidate's neighbours (same episode, within ``reach`` paragraphs),
    #: their best (``nbkind`` ``max``) or their mean (``mean``): a topic spans several paragraphs.
    nb: float = 0.0
    reach: int = 1
    nbkind: str = "max"
    #: > 0: the meaning's weight grows as the words' winner covers less of the query, full below
    #: ``1 - slope`` of its content words (by idf), none when it covers them all.
    slope: float = 0.0
    #: ``mult``: > 0: the weight is divided by the spread (standard deviation) of the candidates' cosines,
    #: times this: a query whose candidates all look alike by meaning gets as much push as one where they differ.
    spread: float = 0.0
    #: ``mult``: cosines below this count as this (only a real likeness lifts a candidate).
    shift: float = -1.0
    #: ``mult``: weight of the best cosine among the candidate's episode's candidates (the episode is about it).
    epcos: float = 0.0
    #: ``mult``: weight of the log of the best words' score among the candidate's episode's candidates,
    #: relative to the best (the words found that episode).
    epwords: float = 0.0
    #: How ``epwords`` takes an episode's candidates: their best words' score (``max``) or their sum (``sum``).
    epkind: str = "max"
    #: ``epwords``: the share of the best score an episode with no words' score counts as (inside the log).
    epfloor: float = 0.01
    #: ``mult``: weight of the log of the best words' score among the candidates within ``segreach``
    #: paragraphs of this one (itself left out), relative to the best, plus ``epfloor``.
    segwords: float = 0.0
    segreach: int = 3
    #: ``mult``: weight of the mean cosine of the candidate's episode's ``eptop`` nearest paragraphs
    #: (0: all of them), from the rows' cosines the exact search computes anyway.
    epmean: float = 0.0
    eptop: int = 0
    #: ``mult``: a candidate within ``divreach`` paragraphs of one ranked above it (same episode) loses
    #: ``div`` from its log score, picked greedily: a topic spans a stretch, one hit in it is enough.
    div: float = 0.0
    divreach: int = 2
    #: ``mult``: the weight divided by 1 + ``gap`` × log(best / tenth best words' score): words far ahead of
    #: the rest are trusted more.
    gap: float = 0.0
    #: ``mult``: the weight times (6 / the query's words of three letters or more) ** ``qlen``.
    qlen: float = 0.0
    #: ``mult``: pseudo-relevance feedback in vector space: each candidate's cosine becomes
    #: (1 − ``prf``) × its cosine + ``prf`` × its cosine with the centroid of the ``prfk`` best candidates'
    #: vectors, the best by words (``prfsrc`` ``words``) or by the fusion without it (``fused``).
    prf: float = 0.0
    prfk: int = 5
    prfsrc: str = "words"
    #: ``mix`` as above, or ``add``: the centroid's cosine × ``prf`` × weight added to the log score.
    prfmode: str = "mix"
    #: ``mult``: > 0: the candidates' cosines taken after subtracting ``centred`` × the mean paragraph vector from
    #: the query's and the paragraphs' vectors (the direction every text of the corpus shares carries no topic).
    centred: float = 0.0

    @property
    def mix(self) -> tuple[float, float, float]:
        return (self.near, self.far, self.about)

    def label(self) -> str:
        context = f" nb({self.near:g},{self.far:g},{self.about:g})" if any(self.mix) else ""
        floor = f" floor={self.floor:g}" if self.norm == "mult" else ""
        floor += f" covered={self.covered:g}" if self.covered >= 0 else ""
        floor += f" episode={self.episode:g}" if self.episode else ""
        floor += f" more={self.more}" if self.more else ""
        floor += f" window={self.window}" if self.window >= 0 else ""
        floor += f" nb={self.nb:g}/{self.nbkind}±{self.reach}" if self.nb else ""
        floor += f" slope={self.slope:g}" if self.slope else ""
        floor += f" spread={self.spread:g}" if self.spread else ""
        floor += f" shift={self.shift:g}" if self.shift > -1 else ""
        floor += f" epcos={self.epcos:g}" if self.epcos else ""
        floor += f" segwords={self.segwords:g}±{self.segreach}" if self.segwords else ""
        floor += f" epmean={self.epmean:g}/top{self.eptop}" if self.epmean else ""
        floor += f" div={self.div:g}±{self.divreach}" if self.div else ""
        floor += f" gap={self.gap:g}" if self.gap else ""
        floor += f" qlen={self.qlen:g}" if self.qlen else ""
        floor += f" centred={self.centred:g}" if self.centred else ""
        floor += f" prf={self.prf:g}/{self.prfmode}/{self.prfsrc}{self.prfk}" if self.prf else ""
        floor += f" epwords={self.epwords:g}/{self.epkind}/{self.epfloor:g}" if self.epwords else ""
        return f"{self.norm}/{self.lexical_norm} w={self.weight:g} k={self.nearest}{floor}{context}"


def neighbours_of(layout: list[tuple[int, int]], rows: int, reach: int) -> Any:
    """Per row, the rows of its paragraph's neighbours within ``reach`` in the same episode (-1: none)."""
    out = np.full((rows, 2 * reach), -1, dtype=np.int64)
    for start, count in layout:
        first, end = start + 1, start + count  # the episode's own row first
        for row in range(first, end):
            for j, shift in enumerate([*range(-reach, 0), *range(1, reach + 1)]):
                if first <= row + shift < end:
                    out[row, j] = row + shift
    return out


def feedback(item: Captured, rows: Any, lexical: Any, fused: Any, variant: Variant, dense: Any) -> Any:
    """Each candidate's cosine with the centroid of the ``prfk`` best candidates' vectors (0 without a row)."""
    ranking = lexical if variant.prfsrc == "words" else fused
    order = [j for j in np.argsort(-ranking, kind="stable") if rows[j] >= 0][: variant.prfk]
    if not order:
        return np.zeros(len(rows))
    centre = dense[rows[order]].sum(axis=0)
    centre /= np.linalg.norm(centre)
    out = dense[np.maximum(rows, 0)] @ centre
    out[rows < 0] = 0.0
    return out


def fused_ranking(
    item: Captured,
    cosine: Any,
    variant: Variant,
    about_row: Any = None,
    neighbours: Any = None,
    dense: Any = None,
) -> list[tuple[str, int]]:
    """The top of the fused ranking of one query (keys, distinct texts)."""
    if item.vector is None:
        return item.words
    rows = np.array([row for _, _, row, _ in item.ranked])
    scores = cosine[rows]
    scores[rows < 0] = 0.0
    # the meaning's candidates: the variant's nearest among the captured ones
    lexical_keys = item.lexical | set(item.more[: variant.more])
    meaning_only = [i for i, (_, key, _, _) in enumerate(item.ranked) if key not in lexical_keys]
    keep = np.ones(len(rows), dtype=bool)
    # the variant's nearest paragraphs (among the captured, which hold every variant's nearest)
    chosen = set(sorted(np.flatnonzero(rows >= 0), key=lambda i: -scores[i])[: variant.nearest])
    for i in meaning_only:
        if i not in chosen:
            keep[i] = False
    if variant.window >= 0:
        for i, (_, key, _, _) in enumerate(item.ranked):
            if i not in chosen and item.positions.get(key, variant.window) >= variant.window:
                scores[i] = 0.0
    index = np.flatnonzero(keep)
    lexical = np.array([item.ranked[i][0] for i in index])
    similar = scores[index]
    winner = item.ranked[index[0]][1]
    weight = variant.weight
    if variant.covered >= 0 and item.coverage.get(winner, 0.0) >= 0.999:
        weight = variant.covered
    elif variant.slope > 0:
        weight *= min(1.0, (1.0 - item.coverage.get(winner, 0.0)) / variant.slope)
    if variant.norm == "mult":  # the meaning as one more multiplicative boost: lexical × exp(weight × cosine)
        best = lexical.max()
        if variant.qlen:
            words = [t for t in re.findall(r"\w+", item.text) if len(t) > 2]
            weight *= (6.0 / max(1, len(words))) ** variant.qlen
        if variant.gap and best > 0:
            tenth = np.sort(lexical)[::-1][min(9, len(lexical) - 1)]
            weight /= 1.0 + variant.gap * np.log(best / max(tenth, 1e-3 * best))
        if variant.spread > 0 and len(similar) > 1 and similar.std() > 0:
            weight *= variant.spread / similar.std()
        similar = np.maximum(similar, variant.shift)
        fused = np.log(np.maximum(lexical, 0.0) + variant.floor * (best if best > 0 else 1.0)) + weight * similar
        if variant.episode and about_row is not None and weight:
            fused += variant.episode * cosine[about_row[rows[index]]]
        if (variant.epcos or variant.epwords) and weight:
            episodes = [item.ranked[i][1][0] for i in index]
            top_cos: dict[str, float] = {}
            top_words: dict[str, float] = {}
            for eid, c, w in zip(episodes, similar, lexical, strict=True):
                top_cos[eid] = max(top_cos.get(eid, -1.0), float(c))
                add = max(float(w), 0.0)
                top_words[eid] = (
                    top_words.get(eid, 0.0) + add if variant.epkind == "sum" else max(top_words.get(eid, 0.0), add)
                )
            scale = best if best > 0 else 1.0
            fused += np.array(
                [
                    variant.epcos * top_cos[e] + variant.epwords * np.log(top_words[e] / scale + variant.epfloor)
                    for e in episodes
                ]
            )
        if variant.epmean and about_row is not None and weight:
            starts = about_row[rows[index]]
            means = {}
            for start in set(starts.tolist()):
                count = int(np.count_nonzero(about_row == start))
                values = cosine[start + 1 : start + count]
                if variant.eptop:
                    values = np.sort(values)[-variant.eptop :]
                means[start] = float(values.mean()) if len(values) else 0.0
            fused += variant.epmean * np.array([means[start] for start in starts.tolist()])
        if variant.segwords and weight:
            where: dict[str, list[tuple[int, float]]] = {}
            for i, w in zip(index, lexical, strict=True):
                eid, number = item.ranked[i][1]
                where.setdefault(eid, []).append((number, max(float(w), 0.0)))
            scale = best if best > 0 else 1.0
            support = []
            for i in index:
                eid, number = item.ranked[i][1]
                near_words = [w for n, w in where[eid] if n != number and abs(n - number) <= variant.segreach]
                support.append(np.log(max(near_words, default=0.0) / scale + variant.epfloor))
            fused += variant.segwords * np.array(support)
        if variant.nb and neighbours is not None and weight:
            half = neighbours.shape[1] // 2  # the columns: -half..-1, then 1..half
            around = neighbours[rows[index]][:, half - variant.reach : half + variant.reach]
            values = np.where(around >= 0, cosine[np.maximum(around, 0)], np.nan)
            values[rows[index] < 0] = np.nan
            with np.errstate(all="ignore"):
                near = np.nanmax(values, axis=1) if variant.nbkind == "max" else np.nanmean(values, axis=1)
            fused += variant.nb * weight / variant.weight * np.nan_to_num(near, nan=0.0)
    else:
        fused = weight * NORMS[variant.norm](similar) + (1 - weight) * NORMS[variant.lexical_norm](lexical)
    if variant.norm == "mult" and variant.prf and weight and dense is not None:
        centred = feedback(item, rows[index], lexical, fused, variant, dense)
        fused = fused + weight * variant.prf * (centred if variant.prfmode == "add" else centred - similar)
    order = sorted(range(len(index)), key=lambda j: -fused[j])  # stable: the words' order breaks ties
    if variant.div and weight:
        order = spread_out(order, fused, [item.ranked[index[j]][1] for j in range(len(index))], variant)
    keys = [item.ranked[index[j]][1] for j in order]
    if winner in item.in_order:
        keys.sort(key=lambda key: key != winner)
    out, texts = [], set()
    by_key = {key: text for _, key, _, text in item.ranked}
    for key in keys:
        if by_key[key] in texts:
            continue
        texts.add(by_key[key])
        out.append(key)
        if len(out) == R.DEPTH:
            break
    return out


def spread_out(order: list[int], fused: Any, keys: list[tuple[str, int]], variant: Variant) -> list[int]:
    """The order re-picked greedily, each candidate near one already picked losing ``variant.div``."""
    left = order[: 3 * R.DEPTH]
    picked: list[int] = []
    while left:

        def value(j: int) -> float:
            eid, number = keys[j]
            near = any(keys[p][0] == eid and abs(keys[p][1] - number) <= variant.divreach for p in picked)
            return float(fused[j]) - (variant.div if near else 0.0)

        best = max(left, key=value)  # max keeps the first of equals: the fused order
        picked.append(best)
        left.remove(best)
    return picked + order[3 * R.DEPTH :]


def measure(items: Sequence[Captured], rankings: Sequence[list[tuple[str, int]]]) -> tuple[float, float, float]:
    found = [R.first_relevant(r, item.relevant) for r, item in zip(rankings, items, strict=True)]
    n = max(1, len(found))
    return (
        sum(1 for r in found if r == 1) / n,
        sum(1 for r in found if r is not None) / n,
        sum(1 / r for r in found if r is not None) / n,
    )


def study(
    captured: dict[str, list[Captured]], dense: Any, layout: list[tuple[int, int]], variants: list[Variant]
) -> None:
    """Print every variant's figures against words-only podsearch, set by set."""
    base = {name: measure(items, [i.words for i in items]) for name, items in captured.items()}
    print(
        "| variant | "
        + " | ".join(f"{n} ΔS@10 / ΔMRR" for n in captured)
        + " | worst quote set ΔMRR | known first / top 10 |"
    )
    print("|---|" + "---|" * (len(captured) + 2))
    print("| words (absolute S@10 / MRR) | " + " | ".join(f"{b[1]:.3f} / {b[2]:.3f}" for b in base.values()) + " | | |")
    cosines: dict[tuple[float, ...], dict[str, Any]] = {}
    about_row = np.zeros(len(dense), dtype=np.int64)
    for start, count in layout:
        about_row[start : start + count] = start
    reach = max((v.reach for v in variants if v.nb), default=0)
    neighbours = neighbours_of(layout, len(dense), reach) if reach else None
    paragraph_rows = np.ones(len(dense), dtype=bool)
    paragraph_rows[[start for start, _ in layout]] = False
    mean = dense[paragraph_rows].mean(axis=0)
    for variant in variants:
        mix = (*variant.mix, variant.centred)
        if mix not in cosines:
            matrix = neighbour_matrix(dense, layout, *variant.mix) if any(variant.mix) else dense
            if variant.centred:
                matrix = matrix - variant.centred * mean
                matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            cosines[mix] = {}
            for name, items in captured.items():
                queries = np.stack([i.vector if i.vector is not None else np.zeros(dense.shape[1]) for i in items])
                if variant.centred:
                    queries = queries - variant.centred * mean
                    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-9)
                cosines[mix][name] = matrix @ queries.T
        cells, worst, known = [], 0.0, ""
        for name, items in captured.items():
            table = cosines[mix][name]
            rankings = [
                fused_ranking(item, table[:, i], variant, about_row, neighbours, dense) for i, item in enumerate(items)
            ]
            s1, s10, mrr = measure(items, rankings)
            cells.append(f"{s10 - base[name][1]:+.3f} / {mrr - base[name][2]:+.3f}")
            if name in ("known", "partial", "typo"):
                worst = min(worst, mrr - base[name][2])
            if name == "known":
                known = f"{s1:.3f} / {s10:.3f}"
        print(f"| {variant.label()} | " + " | ".join(cells) + f" | {worst:+.3f} | {known} |", flush=True)


def grid(spec: str) -> list[Variant]:
    """The variants of one named grid."""
    if spec == "norms":
        return [
            Variant(norm, w, k, lexical_norm=lex)
            for norm, lex in (
                ("minmax", "minmax"),
                ("z", "z"),
                ("rank", "rank"),
                ("rel", "minmax"),
                ("minmax", "log"),
                ("off", "log"),
                ("z", "log"),
                ("rel", "rel"),
            )
            for w in (0.2, 0.35, 0.5)
            for k in (50,)
        ]
    if spec == "mult":
        return [Variant("mult", w, k, floor=f) for w in (2.0, 4.0, 6.0, 8.0) for k in (50,) for f in (1e-3, 1e-2, 0.1)]
    if spec == "pool":
        return [Variant("minmax", w, k) for w in (0.35, 0.5) for k in (10, 20, 50, 100, 200)]
    if spec == "cost":  # the production fusion with fewer meaning candidates and cosine windows
        return [
            Variant("mult", 6.0, k, floor=0.01, covered=0.0, window=w)
            for k in (10, 20, 30, 50)
            for w in sorted({-1, 4 * k, 24, 48})
        ]
    if spec == "context":
        return [
            Variant("minmax", w, 50, a, b, c)
            for w in (0.35, 0.5)
            for a, b, c in itertools.product((0.0, 0.3, 0.5, 1.0), (0.0, 0.25, 0.5), (0.0, 0.3))
            if not (b and not a)
        ]
    variants = []
    for part in spec.split(";"):  # norm/lexnorm,weight,nearest,near,far,about[,floor[,covered...]][,field=value]
        fields = [x for x in part.split(",") if "=" not in x]
        named = dict(x.split("=", 1) for x in part.split(",") if "=" in x)
        norm, weight, nearest, near, far, about, *rest = fields
        norm_name, _, lexical = norm.partition("/")
        extra = [float(x) for x in rest] + [1e-3, -1.0, 0.0, 0.0, -1.0][len(rest) :]
        variants.append(
            Variant(
                norm_name,
                float(weight),
                int(nearest),
                float(near),
                float(far),
                float(about),
                lexical or "minmax",
                extra[0],
                extra[1],
                extra[2],
                int(extra[3]),
                int(extra[4]),
            )
        )
        for name, value in named.items():
            kind = type(getattr(variants[-1], name))
            variants[-1] = replace(variants[-1], **{name: kind(value)})
    return variants


def retemplate(items: Sequence[Captured], template: str, longest: int = 0) -> None:
    """Each bag-of-words query's vector made again from ``template`` around its text (the pool stays
    the captured one: the nearest of the original vector under every captured mix); ``longest`` > 0:
    only queries of at most that many words."""
    from podsearch.embedding import Encoder

    encoder = Encoder.load()
    began, words = time.perf_counter(), 0
    for item in items:
        if item.vector is not None and (not longest or len(re.findall(r"\w+", item.text)) <= longest):
            item.vector = encoder.query(template.format(query=item.text))
            words += 1
    R.log(f"{words} queries re-embedded as {template!r} in {time.perf_counter() - began:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("capture", "study"))
    parser.add_argument("--corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--pool", type=int, default=200, help="nearest paragraphs captured per vector variant")
    parser.add_argument("--more", type=int, default=100, help="first-stage matches captured beyond its candidates")
    parser.add_argument("--cache", default="/tmp/podsearch-semantic", help="bench_semantic.py's indexes")
    parser.add_argument("--vectors-cache", default=str(B.DEFAULT_NOTES_CACHE))
    parser.add_argument("--captured", default="/tmp/fusion-study-seed{seed}.pkl")
    parser.add_argument("--grid", default="norms", help="norms | pool | context | norm/lexnorm,w,k,near,far,about;...")
    parser.add_argument("--sets", default=",".join(B.SETS))
    parser.add_argument(
        "--template", help="study: each query re-embedded as this text, {query} the query's (e.g. 'about: {query}')"
    )
    parser.add_argument("--template-words", type=int, default=0, help="--template only for queries this short")
    args = parser.parse_args(argv)
    reproduce = f"python benchmarks/fusion_study.py {args.action} --seed {args.seed} --limit {args.limit}"
    if args.action == "study":
        reproduce += f" --grid '{args.grid}'"
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    target = Path(args.captured.format(seed=args.seed))
    work = Path(args.cache)
    began = time.perf_counter()
    if args.action == "capture":
        _, _, indexes, sets = B.indexes_and_sets(folder, work, args.limit, args.seed)
        notes = Path(args.vectors_cache) if args.vectors_cache else None
        for name, index in indexes.items():
            B.with_vectors(index, notes, name)
        captured = {}
        for name, items in sets.items():
            index = indexes["headerless" if name in B.HEADERLESS else "full"]
            captured[name] = capture(index, items, args.pool, args.more)
            R.log(f"{name}: {len(items)} captured ({time.perf_counter() - began:.0f} s)")
        table = indexes["full"]._read(lambda generation: generation.vectors)
        row_of = {
            (eid, int(table.numbers[row])): row
            for eid, start, count in table.episode_rows()
            for row in range(start, start + count)
        }
        for items in captured.values():
            for item in items:
                item.ranked = [(s, key, row_of.get(key, -1), t) for s, key, _, t in item.ranked]
        with open(target, "wb") as file:
            pickle.dump((captured, np.asarray(table.dense()), layout_of(table)), file)
        for index in indexes.values():
            index.close()
        print(f"captured into {target} in {time.perf_counter() - began:.0f} s")
        return 0
    with open(target, "rb") as file:
        captured, dense, layout = pickle.load(file)
    wanted = args.sets.split(",")
    if args.template:
        retemplate([item for name in wanted for item in captured.get(name, [])], args.template, args.template_words)
    study({name: captured[name] for name in wanted if name in captured}, dense, layout, grid(args.grid))
    print(f"\n# {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
