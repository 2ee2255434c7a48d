"""Running the ``podsearch`` typer app in-process, for the command-line tests."""

from __future__ import annotations

from typer.testing import CliRunner

from podsearch.cli.app import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the typer app; (exit code, stdout, stderr)."""
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
