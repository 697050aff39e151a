"""`python -m schuldenlab` is the `schuldenlab` command."""

from schuldenlab.cli import main

main()
