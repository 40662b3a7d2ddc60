"""`python -m backdrop.cli`: the same as the `backdrop` command."""

from backdrop.cli.main import main

main()
