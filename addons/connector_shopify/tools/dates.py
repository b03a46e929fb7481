"""Shopify timestamps: ISO 8601 with the shop's offset (REST, webhooks) or
``Z`` (GraphQL). Odoo stores naive UTC datetimes."""

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


def to_iso_utc(moment):
    """``2026-07-01T10:00:00Z`` for a naive UTC datetime (search syntax and
    REST filters)."""
    return moment.replace(microsecond=0).isoformat() + "Z"


def version_key(value):
    """The ``updated_at`` part of an idempotency key, normalised to UTC so
    that the webhook (shop offset) and polling (any offset) agree."""
    moment = parse_datetime(value)
    return to_iso_utc(moment) if moment else "none"


def minus_minutes(moment, minutes):
    return moment - timedelta(minutes=minutes)
