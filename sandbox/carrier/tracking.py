"""Tracker statuses, EasyPost's test tracking codes and the scripted walks a
control call plays (pure data and functions)."""

import hashlib
import hmac
import unicodedata

# Tracker.status values of EasyPost's API v2.
STATUSES = (
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
)

# EasyPost's test-mode tracking codes and the status each reports.
TEST_TRACKING_CODES = {
    "EZ1000000001": "pre_transit",
    "EZ2000000002": "in_transit",
    "EZ3000000003": "out_for_delivery",
    "EZ4000000004": "delivered",
    "EZ5000000005": "return_to_sender",
    "EZ6000000006": "failure",
    "EZ7000000007": "unknown",
}

# Each step: (status, status_detail, message)
_PRE = ("pre_transit", "label_created", "Shipping Label Created")
_ACCEPTED = ("in_transit", "received_at_origin_facility", "Accepted at origin facility")
_DEPARTED = ("in_transit", "departed_facility", "Departed facility")
_ARRIVED = ("in_transit", "arrived_at_destination", "Arrived at destination facility")
_OUT = ("out_for_delivery", "out_for_delivery", "Out for delivery")
_DELIVERED = ("delivered", "arrived_at_destination", "Delivered")
_PICKUP = ("available_for_pickup", "arrived_at_pickup_location", "Available for pickup")
_FAILURE = ("failure", "address_not_found", "Address not found")
_RETURN = ("return_to_sender", "return", "Returned to sender")
_EXCEPTION = ("in_transit", "delivery_exception", "Delivery exception: damaged")

WALKS = {
    "pre_transit": [_PRE],
    "in_transit": [_PRE, _ACCEPTED, _DEPARTED],
    "out_for_delivery": [_PRE, _ACCEPTED, _DEPARTED, _ARRIVED, _OUT],
    "delivered": [_PRE, _ACCEPTED, _DEPARTED, _ARRIVED, _OUT, _DELIVERED],
    "available_for_pickup": [_PRE, _ACCEPTED, _ARRIVED, _PICKUP],
    "failure": [_PRE, _ACCEPTED, _ARRIVED, _OUT, _FAILURE],
    "return_to_sender": [_PRE, _ACCEPTED, _ARRIVED, _OUT, _FAILURE, _RETURN],
    "exception": [_PRE, _ACCEPTED, _EXCEPTION],
    "unknown": [("unknown", "unknown", "No information yet")],
}

LOCATIONS = [
    {"city": "SALT LAKE CITY", "state": "UT", "country": "US", "zip": "84101"},
    {"city": "DENVER", "state": "CO", "country": "US", "zip": "80202"},
    {"city": "CHICAGO", "state": "IL", "country": "US", "zip": "60601"},
    {"city": "BROOKLYN", "state": "NY", "country": "US", "zip": "11201"},
]


def walk_steps(name):
    """The remaining steps of a named walk; ValueError for an unknown name."""
    if name not in WALKS:
        raise ValueError(f"unknown walk {name!r}; one of {sorted(WALKS)}")
    return list(WALKS[name])


def webhook_signature(secret, body):
    """``X-Hmac-Signature`` as EasyPost computes it: HMAC-SHA256 of the raw
    body with the NFKD-normalised webhook secret, hex, behind a prefix."""
    key = unicodedata.normalize("NFKD", secret or "").encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
