"""What each command does, given its options (:mod:`podsearch.cli.spec`): call the library, show the result.

A runner returns the exit code of a run that went as planned (0, or 1 when
``podsearch index`` had failed files) and lets errors rise: :func:`execute`
turns them into codes with :func:`podsearch.cli.exits.finish`. The typer app
and the fast path both end in :func:`execute`. The library (Whoosh, YAML) and
rich are imported inside the runners, so a command loads only what it uses.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podsearch.cli import spec
from podsearch.cli.exits import EXIT_DAMAGED, EXIT_FILES_FAILED, EXIT_OK, finish
from podsearch.errors import IndexMissingError, UsageError
from podsearch.output.streams import note
from podsearch.sanitize import flat

if TYPE_CHECKING:
    from podsearch.api import Index
    from podsearch.model import Results


def execute(options: Any) -> int:
    """Run a command (an instance of one of :mod:`podsearch.cli.spec`'s classes); its exit code."""
    try:
        return RUNNERS[type(options)](options)
    except BaseException as error:
        return finish(error, debug=options.debug)


# --- search -----------------------------------------------------------------------------------------


def run_search(options: spec.Search) -> int:
    """Search (building a missing index first) and print the results."""
    from podsearch.api import Index

    if options.as_json and options.as_jsonl:
        raise UsageError("use either --json or --jsonl, not both")
    with Index(options.index) as ix:
        if _missing(ix):
            _build(ix, options.episodes)
        results = ix.search(
            options.query,
            limit=options.limit,
            speaker=options.speaker,
            guest=options.guest,
            season=options.season,
            episode=options.episode,
            after=options.after,
            before=options.before,
            group_by="episode" if options.by_episode else None,
            sort=options.sort,
            context=options.context,
            mode=None if options.mode == "auto" else options.mode,
        )
    _print_results(results, options)
    return EXIT_OK


def _missing(ix: Index) -> bool:
    """Whether there is no index at all (an index of another version is an error)."""
    try:
        ix.check()
    except IndexMissingError:
        return True
    return False


def _build(ix: Index, episodes: Path | None) -> None:
    """Build the missing index from the episodes folder, saying so on stderr."""
    from podsearch.api import default_episodes_path

    folder = episodes or default_episodes_path()
    if not folder.is_dir():
        raise IndexMissingError(
            f"no index at {ix.path} yet, and no episodes folder at {folder.absolute()} to build it from; "
            f"pass --episodes FOLDER, or run: podsearch index FOLDER --index {ix.path}"
        )
    note(f"No index at {ix.path} yet: building it from {folder} …")
    report = ix.update(folder)
    note(f"Indexed {len(report.added)} episode(s), {report.paragraphs:,} paragraphs in {report.seconds:.1f} s.")
    for failure in report.failed:
        note(f"{failure.path}: {failure.message}")


def _print_results(results: Results, options: spec.Search) -> None:
    if options.as_json or options.as_jsonl:
        from podsearch.records import results_json, results_jsonl

        lines = [results_json(results)] if options.as_json else list(results_jsonl(results))
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
        if not results.hits:
            note(f"No moments matched {flat(results.query)!r}.")
            if results.suggestion:
                note(f"Did you mean: {results.suggestion}?")
        return
    from podsearch.output.terminal import console, print_results

    print_results(results, console(), console(stderr=True))


# --- index and check --------------------------------------------------------------------------------


def run_index(options: spec.Reindex) -> int:
    """Update the index, showing progress and the report: 0, or 1 when some files failed."""
    from podsearch.api import Index
    from podsearch.output.indexing import progress_display, show_report

    out, err = sys.stdout, sys.stderr
    if options.semantic and options.no_semantic:
        raise UsageError("use either --semantic or --no-semantic, not both")
    semantic = True if options.semantic else False if options.no_semantic else None
    with progress_display(out, options.quiet) as progress:
        report = Index(options.index).update(
            list(options.folders) or None,
            rebuild=options.rebuild,
            wait=options.wait,
            progress=progress,
            allow_removals=options.allow_removals,
            semantic=semantic,
            embedding_progress=None if options.quiet else _embedding_progress(err),
        )
    show_report(report, out, err, quiet=options.quiet)
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


def _embedding_progress(err: Any) -> Callable[[int, int], None]:
    """A line on stderr at the start of the embedding and at each further tenth of it."""
    shown = [-1]

    def show(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth > shown[0]:
            shown[0] = tenth
            err.write(f"embedding paragraphs: {done:,} of {total:,} (an interrupted run resumes here)\n")
            err.flush()

    return show


def run_check(options: spec.Check) -> int:
    """Verify the index's content checksums: 0 when sound, 69 when damaged (each damage on stderr)."""
    from podsearch.api import Index
    from podsearch.output.indexing import show_verification

    with Index(options.index) as ix:
        report = ix.verify()
    show_verification(report, sys.stdout, sys.stderr)
    return EXIT_OK if report.ok else EXIT_DAMAGED


# --- reading the index ------------------------------------------------------------------------------


def run_show(options: spec.Show) -> int:
    """An episode's transcript, or the paragraphs around a moment."""
    from podsearch.api import Index
    from podsearch.output.terminal import console, print_episode

    with Index(options.index) as ix:
        found = ix.episode(options.episode)
    print_episode(found, console(), at=options.at, around=options.around)
    return EXIT_OK


def run_episodes(options: spec.Episodes) -> int:
    """The indexed episodes, as a table or JSON."""
    from podsearch.api import Index

    with Index(options.index) as ix:
        infos = ix.episodes()
        counts = ix.paragraph_counts()
    if options.as_json:
        from podsearch.records import episodes_json

        sys.stdout.write(episodes_json(infos, counts) + "\n")
    else:
        from podsearch.output.terminal import console, print_episodes

        print_episodes(infos, counts, console())
    return EXIT_OK


def run_stats(options: spec.Stats) -> int:
    """What the index holds, as lines or JSON."""
    import dataclasses
    import json

    from podsearch.api import Index

    with Index(options.index) as ix:
        found = dataclasses.asdict(ix.stats())
    if options.as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=True) + "\n")
    else:
        from podsearch.output.terminal import console, print_stats

        print_stats(found, console())
    return EXIT_OK


# --- the web page -----------------------------------------------------------------------------------

#: The packages of the ``web`` extra (pyproject.toml).
WEB_EXTRA = frozenset({"starlette", "uvicorn", "jinja2"})


def run_serve(options: spec.Serve) -> int:
    """Serve the search page until Ctrl-C (needs the ``web`` extra)."""
    from podsearch.errors import MissingExtraError

    try:
        from podsearch.web.server import serve
    except ImportError as error:
        if isinstance(error, MissingExtraError) or (error.name or "").split(".")[0] not in WEB_EXTRA:
            raise
        raise MissingExtraError(
            f"podsearch serve needs the web extra ({error.name} is not installed); "
            "install it with: pip install 'podsearch[web]'"
        ) from error
    serve(options.index, options.host, options.port)
    return EXIT_OK


RUNNERS: dict[type, Callable[[Any], int]] = {
    spec.Search: run_search,
    spec.Reindex: run_index,
    spec.Show: run_show,
    spec.Episodes: run_episodes,
    spec.Stats: run_stats,
    spec.Check: run_check,
    spec.Serve: run_serve,
}
