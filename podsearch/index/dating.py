"""Dates for episodes whose file gives none, estimated from their neighbours.

The site leaves ``dateadded`` out of some episodes (14 of the newest in the
corpus). Episodes are published in order of season and number, so an
undated episode's date is interpolated between the nearest dated episodes
before and after it in that order; past the newest (or before the oldest)
dated one, it is extrapolated by the typical gap between consecutive
episodes. An episode with no season or number has no place in that order and
gets the newest known date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise

from podsearch.model import EpisodeInfo

#: The typical gap is the median of this many most recent gaps between dated episodes:
#: the cadence of the podcast changed over the years, and the newest episodes follow the latest one.
RECENT_GAPS = 20
#: The gap assumed when fewer than two episodes have a date.
DEFAULT_GAP_DAYS = 14


def estimate_dates(infos: Sequence[EpisodeInfo]) -> dict[int, date]:
    """The estimated date of each undated episode, by position in ``infos`` (none when no episode has a date)."""
    undated = [position for position, info in enumerate(infos) if info.date_added is None]
    if not undated or all(info.date_added is None for info in infos):
        return {}
    ordered = sorted(
        (position for position, info in enumerate(infos) if info.season is not None and info.number is not None),
        key=lambda position: (infos[position].season, infos[position].number, infos[position].id),
    )
    # each episode's rank in publication order, and the dated ranks with their dates
    dated = [(rank, day) for rank, position in enumerate(ordered) if (day := infos[position].date_added) is not None]
    gap = _typical_gap(dated)
    estimates: dict[int, date] = {}
    for rank, position in enumerate(ordered):
        if infos[position].date_added is None:
            estimates[position] = _between(rank, dated, gap)
    newest = max(info.date_added for info in infos if info.date_added is not None)
    for position in undated:
        estimates.setdefault(position, newest)
    return estimates


def _typical_gap(dated: list[tuple[int, date]]) -> float:
    """The median number of days from one episode to the next (recent ones), in publication order.

    ``dated`` holds the ranks and dates of the dated episodes; a gap over undated ranks is shared among them.
    """
    gaps = [(d1 - d0).days / (r1 - r0) for (r0, d0), (r1, d1) in pairwise(dated)]
    positive = [gap for gap in gaps[-RECENT_GAPS:] if gap > 0]
    from statistics import median  # here: statistics costs a search process ~3 ms to import

    return float(median(positive)) if positive else float(DEFAULT_GAP_DAYS)


def _between(rank: int, dated: list[tuple[int, date]], gap: float) -> date:
    """The date of the episode at ``rank``: interpolated between dated neighbours, else extrapolated."""
    before = [(r, day) for r, day in dated if r < rank]
    after = [(r, day) for r, day in dated if r > rank]
    if before and after:
        (r0, d0), (r1, d1) = before[-1], after[0]
        days = (d1 - d0).days * (rank - r0) / (r1 - r0)
        return d0 + timedelta(days=round(days))
    if before:
        r0, d0 = before[-1]
        return d0 + timedelta(days=round(gap * (rank - r0)))
    r1, d1 = after[0]
    return d1 - timedelta(days=round(gap * (r1 - rank)))
