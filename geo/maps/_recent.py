"""The last few values computed, by key, shared by the threads of one process (one per Streamlit session).

:mod:`geo.maps.geometry` keeps the simplified outlines and :mod:`geo.maps._tooltip` the parsed ones here.
Every read and write holds a lock: the sessions' script threads use one instance at the same time, and an
``OrderedDict`` changed by two threads at once can lose or raise on a key another thread just evicted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """At most ``size`` values, the least recently used evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """The value of ``key`` (now the most recent), or ``None``."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` under ``key``, evicting the oldest beyond ``size``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._items.clear()
