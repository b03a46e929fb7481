"""Leaky-bucket rate limiting (pure logic, injectable clock)."""

import threading
import time


class LeakyBucket:
    """A bucket of ``capacity`` points that refills at ``rate`` points/second.

    ``available`` is what a caller may spend now. Shopify's GraphQL cost limit
    (maximumAvailable/currentlyAvailable/restoreRate) and its REST call limit
    ("used/40", leaking 2/s) are both this bucket seen from different sides.
    """

    def __init__(self, capacity, rate, clock=time.monotonic):
        self.capacity = float(capacity)
        self.rate = float(rate)
        self._clock = clock
        self._available = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self):
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._available = min(self.capacity, self._available + elapsed * self.rate)

    @property
    def available(self):
        with self._lock:
            self._refill()
            return self._available

    @property
    def used(self):
        return self.capacity - self.available

    def try_consume(self, amount):
        """Take ``amount`` points if available; return True on success."""
        with self._lock:
            self._refill()
            if amount <= self._available:
                self._available -= amount
                return True
            return False

    def refund(self, amount):
        with self._lock:
            self._refill()
            self._available = min(self.capacity, self._available + max(0, amount))

    def drain(self):
        """Empty the bucket (used to simulate a rate-limit fault)."""
        with self._lock:
            self._refill()
            self._available = 0.0

    def wait_time(self, amount=1.0):
        """Seconds until ``amount`` points are available."""
        with self._lock:
            self._refill()
            missing = amount - self._available
            if missing <= 0:
                return 0.0
            if self.rate <= 0:
                return float("inf")
            return missing / self.rate

    def configure(self, capacity=None, rate=None):
        with self._lock:
            self._refill()
            if capacity is not None:
                self.capacity = float(capacity)
                self._available = min(self._available, self.capacity)
            if rate is not None:
                self.rate = float(rate)

    def reset(self):
        with self._lock:
            self._available = self.capacity
            self._stamp = self._clock()
