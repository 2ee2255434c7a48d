"""``python -m podsearch …`` is the ``podsearch`` command."""

from podsearch.cli.launcher import main

if __name__ == "__main__":
    main()
