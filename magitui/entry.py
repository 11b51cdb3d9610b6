"""The `magitui` executable: the terminal app at once when run bare, the command line
otherwise.

Bare `magitui` is what is typed most, and importing the command-line parser alone takes a
tenth of the time to the first frame. Run bare, it opens the workspace as the parser's
path does (same resolution, same one-line error and exit status, same warnings) and
starts the app; with any argument, the parser takes over.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    if sys.argv[1:]:
        from magitui.cli import main as command_line

        command_line(prog_name="magitui")
        return
    # Start-up makes tens of thousands of objects, most of them living as long as the app;
    # collecting garbage while it makes them took a twentieth of the time to the first
    # frame. Once that frame is up, the app collects once, freezes what is left out of
    # later collections and turns collection back on.
    gc.disable()
    from magitui_core.context import open_context
    from magitui_core.workspace import WorkspaceError

    try:
        context = open_context()
    except WorkspaceError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    colour = sys.stderr.isatty()
    for warning in context.warnings:
        line = f"warning: {warning}"
        print(f"\x1b[33m{line}\x1b[0m" if colour else line, file=sys.stderr)

    from magitui.app import run_app

    run_app(context=context)


if __name__ == "__main__":
    main()
