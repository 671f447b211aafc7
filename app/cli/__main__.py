"""`python -m app.cli ...`, the same as the `anju` command."""

from app.cli import main

main()
