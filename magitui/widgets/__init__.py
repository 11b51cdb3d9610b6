"""Reusable widgets and modals of the magitui TUI."""
