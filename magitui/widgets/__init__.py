"""Widgets and modals shared by several screens; a widget of one screen lives with that screen."""
