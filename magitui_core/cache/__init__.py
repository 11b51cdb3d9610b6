"""Cache: the Hugging Face cache and its neighbours, scanned, explained and safely cleaned.

Exposes the hub cache walk (`hub_scan`), the neighbouring caches (`extras`), their locations and
one combined scan (`catalog`), who uses an entry (`usage`) and planned, measured deletion
(`delete`).
"""
