"""`python -m app.cli`: the same command as `frontline`."""

from app.cli import main

main()
