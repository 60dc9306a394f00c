"""Speech with known turns for scoring speaker diarization.

Three kinds of item, each in a ``tuning`` and an ``evaluation`` split:

- ``mix``: recorded single-speaker clips of different real people (``recorded.py``), cut at
  pauses and put one after another, 2 to 4 speakers;
- ``espeak``: meeting scripts spoken by 2 to 4 espeak-ng voices (``dialogues.py``);
- ``real``: recorded meeting excerpts with their own turn annotation (``recorded.py``).

``long.py`` makes the hour-long meetings of the time and memory figures.
"""

from __future__ import annotations

from bench.speakers.dialogues import load_dialogues
from bench.speakers.item import KINDS, SPLITS, Item, Kind, Split
from bench.speakers.recorded import load_conversations, load_mixes

__all__ = ["KINDS", "SPLITS", "Item", "Kind", "Split", "load_items"]


def load_items(*, split: Split | None = None, kinds: tuple[Kind, ...] = KINDS) -> list[Item]:
    """The items of the given kinds (in ``KINDS`` order), of one split or both.

    ``espeak`` items need espeak-ng and sox; their audio is kept in the cache directory
    (``BENCH_SPEAKERS_CACHE``, else ``~/.cache/mina/bench-speakers``).
    """
    items: list[Item] = []
    if "mix" in kinds:
        items.extend(load_mixes())
    if "espeak" in kinds:
        items.extend(load_dialogues())
    if "real" in kinds:
        items.extend(load_conversations())
    return [item for item in items if split is None or item.split == split]
