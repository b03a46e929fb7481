"""Retry delays: exponential backoff, or what the remote asked for."""

import datetime
from email.utils import parsedate_to_datetime


def backoff_seconds(attempt, base=30, cap=3600):
    """Delay before retry number ``attempt`` (1-based): base, 2*base, 4*base..."""
    attempt = max(int(attempt), 1)
    return min(base * 2 ** (attempt - 1), cap)


def parse_retry_after(value, now=None):
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value in (None, ""):
        return None
    if str(value).strip().replace(".", "", 1).isdigit():
        return max(float(value), 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def retry_delay(attempt, retry_after=None, base=30, cap=3600):
    """The remote's ``retry_after`` wins when given, else exponential backoff."""
    if retry_after is not None:
        return min(max(float(retry_after), 1.0), cap)
    return backoff_seconds(attempt, base=base, cap=cap)
