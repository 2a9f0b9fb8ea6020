"""`python -m foodcls.bench`: see cli.py."""

from foodcls.bench.cli import main

main()
