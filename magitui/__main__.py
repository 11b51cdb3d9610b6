"""`python -m magitui` is the `magitui` command."""

from magitui.cli import main

main(prog_name="magitui")
