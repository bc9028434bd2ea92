"""`python -m qa` is the `articleqa` command."""

from qa.cli import main

main()
