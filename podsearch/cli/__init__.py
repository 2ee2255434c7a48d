"""The ``podsearch`` command line.

One definition of the commands and options (:mod:`~podsearch.cli.spec`, plain
data), read by the fast parser (:mod:`~podsearch.cli.fastparse`) and by the typer
app generated from it (:mod:`~podsearch.cli.app`: help, completion, usage
errors); what each command does (:mod:`~podsearch.cli.commands`); the one table
of exit codes and mapping from errors to them (:mod:`~podsearch.cli.exits`);
the console script (:mod:`~podsearch.cli.launcher`).

May import: :mod:`podsearch.api`, :mod:`podsearch.output`, the top-level modules,
typer, and, for ``podsearch serve`` only,
:mod:`podsearch.web`.
"""
