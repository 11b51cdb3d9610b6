"""`python -m magitui` is the `magitui` command."""

from magitui.entry import main

main()
