"""What one SQL store remembers between its units of work, so a command skips work it has done.

- :class:`Heads`: the last value this store wrote or read of each one-row head (an audit
  shard's sequence and hash, the event log's position). A command moves a head with one
  compare-and-set ``UPDATE … WHERE <head> = <remembered>`` instead of ``SELECT … FOR UPDATE``
  then ``UPDATE``; when another process moved it meanwhile (or a transaction that moved it rolled
  back) the update matches no row and the command falls back to the locking read. The
  remembered value is never trusted, only compared, so a stale one costs a statement, never a
  wrong sequence, hash or position.
- :class:`Decoded`: aggregates already decrypted and structured, by (table, row key, digest of
  the stored document). Opening and structuring a document is deterministic, so an entry is
  exact: the same stored text in the same row is the same aggregate. The row key keeps a sealed
  document copied to another row from hitting: it is opened, and refused
  (``crypto.tampered``), as before. The store empties it whenever it destroys a data key
  (crypto-shredding): a document sealed under a destroyed key then fails to open
  (``crypto.key_unknown``), as without the cache; an aggregate that was being opened while it
  was emptied is not kept.

Both are bounded, thread-safe and per store.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Decoded", "Heads"]

T = TypeVar("T")


class Heads:
    """The last known value of each head row, by (table, key)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[Any, ...]] = {}

    def get(self, table: str, key: str) -> tuple[Any, ...] | None:
        """The remembered value of the head ``key`` of ``table``, if any."""
        return self._known.get((table, key))

    def put(self, table: str, key: str, value: tuple[Any, ...]) -> None:
        """Remember ``value`` (written or read under the row's lock)."""
        self._known[(table, key)] = value  # one dict store: atomic under the GIL


class Decoded:
    """A bounded least-recently-used map from a stored document to its aggregate."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0  # moved by clear(): what was opened before it is not kept after it

    def load(self, table: str, key: Hashable, stored: str, make: Callable[[], T]) -> T:
        """The aggregate of ``stored`` in row ``key`` of ``table``: remembered, or ``make()``
        (which opens and structures it, and may raise: nothing is remembered then)."""
        entry = (table, key, _digest(stored))
        with self._lock:
            found = self._entries.get(entry)
            if found is not None:
                self._entries.move_to_end(entry)
                return found  # type: ignore[no-any-return]
            epoch = self._epoch
        made = make()
        self._keep(entry, made, epoch)
        return made

    def put(self, table: str, key: Hashable, stored: str, aggregate: object) -> None:
        """Remember that row ``key`` of ``table`` holding ``stored`` (just written) is
        ``aggregate``, so the next unit reading it back skips opening it. Should the write
        roll back, the entry matches nothing: a sealed text carries a random nonce, and a
        clear one is the aggregate's own document."""
        self._keep((table, key, _digest(stored)), aggregate, self._epoch)

    def _keep(self, entry: Hashable, aggregate: object, epoch: int) -> None:
        with self._lock:
            if epoch != self._epoch:
                return
            self._entries[entry] = aggregate
            self._entries.move_to_end(entry)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every aggregate (a data key was destroyed)."""
        with self._lock:
            self._epoch += 1
            self._entries.clear()


def _digest(stored: str) -> bytes:
    return hashlib.blake2b(stored.encode(), digest_size=20).digest()
