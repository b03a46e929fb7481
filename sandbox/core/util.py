"""Small helpers shared by all systems: time, JSON, ids, HTTP responses."""

import base64
import itertools
import json
import threading
import time
from datetime import datetime, timedelta, timezone

from werkzeug.wrappers import Response


def utcnow():
    """Current time as an aware UTC datetime truncated to whole seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_datetime(value):
    """Parse an ISO 8601 date or datetime; naive values are taken as UTC.

    Returns an aware datetime or raises ValueError.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty date")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        if len(text) == 10:
            dt = datetime.fromisoformat(text + "T00:00:00")
        else:
            dt = datetime.fromisoformat(text.replace(" ", "T", 1))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def format_datetime(dt, offset_minutes=0):
    """ISO 8601 with an explicit offset, e.g. 2024-01-02T09:28:43-05:00."""
    if dt is None:
        return None
    tz = timezone(timedelta(minutes=offset_minutes))
    return dt.astimezone(tz).replace(microsecond=0).isoformat()


def format_utc(dt):
    """ISO 8601 in UTC with a Z suffix (GraphQL DateTime style)."""
    if dt is None:
        return None
    return (
        dt.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat()
        + "Z"
    )


def dumps(data):
    """Compact UTF-8 JSON bytes (what real APIs send)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def b64url_json(data):
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_json_decode(token):
    """Inverse of b64url_json; raises ValueError on anything malformed."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except Exception as exc:  # noqa: BLE001 - any decoding problem is "invalid"
        raise ValueError("invalid cursor") from exc
    if not isinstance(data, dict):
        raise ValueError("invalid cursor")
    return data


def json_response(data, status=200, headers=None):
    resp = Response(dumps(data), status=status, content_type="application/json")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


class ApiError(Exception):
    """Raise inside a handler to answer with a JSON error body."""

    def __init__(self, status, body, headers=None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self):
        return json_response(self.body, self.status, self.headers)


def read_json(request, default=None):
    """Parse the JSON body of a control request (empty body -> default)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {} if default is None else default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, {"error": f"invalid JSON body: {exc}"}) from exc


class IdGenerator:
    """Monotonic 64-bit ids, unique across resource types and across resets.

    Ids start above 2**32 (like real Shopify ids) and, by default, at a value
    derived from the start time so that two sandbox runs against the same Odoo
    database do not hand out the same ids.
    """

    BASE = 5_000_000_000_000

    def __init__(self, start=None):
        if start is None:
            start = self.BASE + (int(time.time()) % 100_000_000) * 10_000
        self._counter = itertools.count(int(start))
        self._lock = threading.Lock()

    def next(self):
        with self._lock:
            return next(self._counter)

    def reseed(self, start):
        with self._lock:
            self._counter = itertools.count(int(start))
