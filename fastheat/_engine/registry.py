"""``FAMILIES``: every registered family by name (``fastheat.warmup`` prepares them all, sparse
targets name theirs)."""

from __future__ import annotations

FAMILIES: dict = {}


def register(family):
    """Add ``family`` (a ``family.Family``) to ``FAMILIES``; returns it."""
    FAMILIES[family.name] = family
    return family
