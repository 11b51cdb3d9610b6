"""The Monitor screen and its widgets: machine panels and the cache table with its confirmation."""
