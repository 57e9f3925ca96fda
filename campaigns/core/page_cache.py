"""A small in-process cache of rendered pages, for the pages everyone sees alike.

Each web worker keeps its own copy (no network round trip on a hit); entries expire after a few
seconds and the least recently used go first when it is full. Callers put whatever makes a page
different into the key (for a petition: the language, the count, the `?source=` code), so a hit is
never stale in what matters to a visitor.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

from flask import current_app

# Rendered into a cached page where each visitor's own CSRF token goes.
CSRF_PLACEHOLDER = "__csrf-token-placeholder__"


class PageCache:
    def __init__(self, max_entries: int = 512) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def page_cache() -> PageCache:
    return current_app.extensions.setdefault("page_cache", PageCache())
