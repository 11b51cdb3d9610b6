"""The Home screen and its runs table: runs and jobs at a glance."""
