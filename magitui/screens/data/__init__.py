"""The Data screen and its widgets: the virtual record table, one record's view, statistics."""
