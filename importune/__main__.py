"""``python -m importune`` runs the same command line as the ``importune`` script."""

from importune.cli import main

main()
