"""One module per screen; the app imports each only when it is first shown."""
