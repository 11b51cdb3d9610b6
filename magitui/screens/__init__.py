"""One module or package per screen, its own widgets beside it; each imported when first shown."""
