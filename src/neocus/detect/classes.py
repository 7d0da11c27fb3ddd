"""The detector's classes: the structures that define the standard views (left and right share a class)."""

from __future__ import annotations

from neocus.vocab import VIEW_KEY_STRUCTURES, Structure

DETECTOR_CLASSES: tuple[Structure, ...] = tuple(
    s for s in Structure if any(s in keys for keys in VIEW_KEY_STRUCTURES.values())
)
"""Class index -> structure, in the order of :class:`neocus.vocab.Structure`."""

CLASS_INDEX: dict[Structure, int] = {s: i for i, s in enumerate(DETECTOR_CLASSES)}
