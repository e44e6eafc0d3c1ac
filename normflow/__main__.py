"""``python -m normflow`` is the ``normflow`` command."""

from normflow.cli import main

main()
