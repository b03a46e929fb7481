"""Bounded log of API requests served (for tests and benchmarks)."""

import collections
import threading


class RequestLog:
    def __init__(self, keep=20000):
        self._items = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, entry):
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._items.append(entry)

    def list(self, **filters):
        with self._lock:
            items = list(self._items)
        result = []
        for item in items:
            ok = True
            for key, value in filters.items():
                if value in (None, ""):
                    continue
                actual = item.get(key)
                if isinstance(actual, list):
                    ok = value in actual
                else:
                    ok = str(actual) == str(value)
                if not ok:
                    break
            if ok:
                result.append(item)
        return result

    def clear(self):
        with self._lock:
            self._items.clear()
