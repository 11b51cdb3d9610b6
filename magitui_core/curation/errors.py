"""The one error curation raises for a run that cannot go ahead."""


class CurationError(Exception):
    """Curation that cannot go ahead; the message names the file or option and the fix."""
