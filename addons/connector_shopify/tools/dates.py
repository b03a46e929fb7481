"""Shopify timestamps: ISO 8601 with the shop's offset (REST, webhooks) or
``Z`` (GraphQL). Odoo stores naive UTC datetimes."""

import hashlib
from datetime import datetime, timedelta, timezone


def parse_datetime(value):
    """Naive UTC ``datetime`` of a Shopify timestamp; ``None`` when empty."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def read_datetime(data, *keys):
    """The first of ``keys`` present in ``data``, parsed; a ``ValueError``
    naming the field when it is not a date."""
    key = next((k for k in keys if data.get(k)), keys[0])
    try:
        return parse_datetime(data.get(key))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{key} is not a date ({str(data.get(key))[:40]!r})") from exc


def to_iso_utc(moment):
    """``2026-07-01T10:00:00Z`` for a naive UTC datetime (search syntax and
    REST filters)."""
    return moment.replace(microsecond=0).isoformat() + "Z"


def version_key(value):
    """The ``updated_at`` part of an idempotency key, normalised to UTC so
    that the webhook (shop offset) and polling (any offset) agree."""
    try:
        moment = parse_datetime(value)
    except (TypeError, ValueError, OverflowError):
        # stored under its own text (processing says the date is unreadable)
        return "unreadable:" + hashlib.sha256(repr(value).encode()).hexdigest()[:16]
    return to_iso_utc(moment) if moment else "none"


def minus_minutes(moment, minutes):
    return moment - timedelta(minutes=minutes)
