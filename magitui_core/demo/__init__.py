"""Demo: the whole recipe on a tiny model, offline, as one detached job the Demo screen follows.

Exposes starting and finding the tour (`tour`), the job that runs its stages (`pipeline`), the
tiny model it trains (`tiny_model`) and the labelled teacher stand-in (`stand_in_teacher`).
"""
