"""magitui's terminal interface (Textual). The engine it drives lives in magitui_core.

Importing this package is cheap on purpose: the app and its screens are imported
only when the TUI starts, so the CLI's other commands never pay for Textual.
"""

from magitui_core import __version__

__all__ = ["__version__"]
