"""EasyPost API v2 objects -> the connector's values. Pure functions, tested
without the ORM (``tests/test_easypost.py``); the models only do ORM work.

Objects read here: Shipment, Rate, PostageLabel, Tracker, TrackingDetail,
TrackingLocation, Refund and Event (``tracker.updated``).
"""

import hashlib
import hmac
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="
TRACKER_UPDATED = "tracker.updated"

# Delivery state on pickings and packages, from the tracker's status (and,
# for in-transit problems, its status_detail).
DELIVERY_STATES = [
    ("label_created", "Label created"),
    ("in_transit", "In transit"),
    ("out_for_delivery", "Out for delivery"),
    ("available_for_pickup", "Available for pickup"),
    ("delivered", "Delivered"),
    ("returned", "Returned to sender"),
    ("failure", "Delivery failure"),
    ("exception", "Exception"),
    ("cancelled", "Cancelled"),
    ("unknown", "Unknown"),
]
STATUS_TO_STATE = {
    "unknown": "unknown",
    "pre_transit": "label_created",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "available_for_pickup",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "failure",
    "cancelled": "cancelled",
    "error": "exception",
}
# status_detail values of an in-transit parcel that are really a problem
EXCEPTION_DETAILS = frozenset(
    {
        "damaged",
        "delivery_exception",
        "lost",
        "refused",
        "transit_exception",
        "missorted",
        "expired",
        "awaiting_information",
    }
)
# Delivery states that put the parcel on the desk for operations
PROBLEM_STATES = frozenset({"failure", "returned", "exception"})
# Tracker statuses after which nothing more is expected (no polling)
FINAL_STATUSES = frozenset({"delivered", "return_to_sender", "cancelled"})
# Progress of a parcel: ties between events of the same time go to the later
# stage (a "delivered" and an "out_for_delivery" of one minute: delivered)
STATUS_RANK = {
    "unknown": 0,
    "error": 0,
    "pre_transit": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "available_for_pickup": 4,
    "failure": 5,
    "delivered": 6,
    "return_to_sender": 7,
    "cancelled": 8,
}
REFUND_STATES = [
    ("submitted", "Refund submitted"),
    ("refunded", "Refunded"),
    ("rejected", "Refund rejected"),
    ("not_applicable", "Refund not applicable"),
]
LABEL_FORMATS = [("PDF", "PDF"), ("ZPL", "ZPL (thermal printers)")]
LABEL_EXTENSIONS = {"PDF": "pdf", "ZPL": "zpl", "PNG": "png"}
# weight units of Odoo -> ounces (EasyPost's parcel.weight)
OUNCES_PER = {
    "kg": Decimal("35.27396195"),
    "g": Decimal("0.03527396195"),
    "lb": Decimal("16"),
    "lbs": Decimal("16"),
    "oz": Decimal("1"),
}


class PayloadError(ValueError):
    """The body is not what the API documents; the text says what is wrong."""


# -- signature -------------------------------------------------------------------
def signature(secret, body):
    """The ``X-Hmac-Signature`` value EasyPost sends: HMAC-SHA256 of the raw
    body with the NFKD-normalised webhook secret, hex, behind a prefix."""
    key = unicodedata.normalize("NFKD", secret or "").encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret, body, header):
    """Constant-time check; False without a secret or a header."""
    if not secret or not header:
        return False
    return hmac.compare_digest(
        signature(secret, body).encode(), header.strip().encode()
    )


# -- values ----------------------------------------------------------------------
def parse_time(value):
    """An EasyPost timestamp ("2030-01-02T10:00:00Z", with an offset or
    not) as a naive UTC datetime (Odoo's); None when empty."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadError(f"'{value}' is not a date and time") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def money(value):
    """A Rate's ``rate`` ("10.46") as a Decimal; PayloadError otherwise."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise PayloadError(f"'{value}' is not an amount") from exc
    if not amount.is_finite():
        raise PayloadError(f"'{value}' is not an amount")
    return amount


def ounces(weight, uom_name="kg"):
    """Odoo weight -> EasyPost ounces (one decimal, at least 0.1)."""
    factor = OUNCES_PER.get((uom_name or "kg").lower(), OUNCES_PER["kg"])
    value = (Decimal(str(weight or 0)) * factor).quantize(Decimal("0.1"))
    return float(max(value, Decimal("0.1")))


def delivery_state(status, status_detail=None):
    state = STATUS_TO_STATE.get(status or "unknown", "unknown")
    if state == "in_transit" and (status_detail or "") in EXCEPTION_DETAILS:
        return "exception"
    return state


def is_final(status):
    return status in FINAL_STATUSES


def version(at, status):
    """What orders two tracker states: the carrier's time, then the stage."""
    return (at or datetime.min, STATUS_RANK.get(status, 0))


def is_newer(at, status, applied_at, applied_status):
    """Does the state (``at``, ``status``) replace the applied one? An older
    event never overwrites a newer status; the same version is not newer."""
    if not applied_at:
        return True
    return version(at, status) > version(applied_at, applied_status)


def location_text(location):
    """TrackingLocation -> "BROOKLYN, NY 11201, US" (empty parts left out)."""
    location = location or {}
    city = location.get("city") or ""
    region = " ".join(p for p in (location.get("state"), location.get("zip")) if p)
    return ", ".join(p for p in (city, region, location.get("country") or "") if p)


def humanize(code):
    """ "address_not_found" -> "address not found"."""
    return (code or "").replace("_", " ").strip()


def problem_text(tracking_code, customer, state, message=None, status_detail=None):
    """One line for the desk: "Parcel EZ4000000004 to Dana O'Neil: address
    not found"."""
    reason = (
        humanize(status_detail) if status_detail not in (None, "", "unknown") else ""
    )
    if not reason or reason in ("failure", "return"):
        reason = (message or "").strip() or dict(DELIVERY_STATES).get(state, state)
    reason = reason[:1].lower() + reason[1:]
    return f"Parcel {tracking_code} to {customer or 'the customer'}: {reason}"


def detail_values(detail):
    """TrackingDetail -> a timeline line."""
    if not isinstance(detail, dict):
        raise PayloadError("a tracking detail is not an object")
    status = detail.get("status") or "unknown"
    status_detail = detail.get("status_detail") or ""
    at = parse_time(detail.get("datetime"))
    message = (detail.get("message") or detail.get("description") or "").strip()
    location = location_text(detail.get("tracking_location"))
    return {
        "status": status,
        "status_detail": status_detail,
        "delivery_state": delivery_state(status, status_detail),
        "message": message,
        "location": location,
        "event_time": at,
        "key": detail_key(at, status, status_detail, message),
    }


def detail_key(at, status, status_detail, message):
    """A tracking detail's identity (events repeat the whole history)."""
    raw = f"{at.isoformat() if at else ''}|{status}|{status_detail}|{message}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()


def tracker_values(tracker):
    """Tracker -> what the connector applies: status, its time (the latest
    tracking detail's, else ``updated_at``), proof of delivery, timeline."""
    if not isinstance(tracker, dict) or tracker.get("object") != "Tracker":
        raise PayloadError("the event's result is not a Tracker")
    code = tracker.get("tracking_code")
    if not code:
        raise PayloadError("the Tracker has no tracking_code")
    details = [detail_values(d) for d in tracker.get("tracking_details") or []]
    details.sort(key=lambda d: version(d["event_time"], d["status"]))
    status = tracker.get("status") or "unknown"
    status_detail = tracker.get("status_detail") or ""
    at = details[-1]["event_time"] if details else None
    at = at or parse_time(tracker.get("updated_at"))
    last = details[-1] if details else {}
    delivered = next((d for d in reversed(details) if d["status"] == "delivered"), None)
    return {
        "tracker_id": tracker.get("id"),
        "tracking_code": code,
        "shipment_id": tracker.get("shipment_id"),
        "status": status,
        "status_detail": status_detail,
        "delivery_state": delivery_state(status, status_detail),
        "status_at": at,
        "message": last.get("message") or humanize(status_detail),
        "location": last.get("location") or "",
        "signed_by": tracker.get("signed_by") or None,
        "delivered_at": delivered["event_time"] if delivered else None,
        "delivered_place": delivered["location"] if delivered else None,
        "public_url": tracker.get("public_url"),
        "est_delivery_date": parse_time(tracker.get("est_delivery_date")),
        "final": is_final(status),
        "details": details,
    }


def event_values(event):
    """A ``tracker.updated`` Event -> its id and the tracker's values."""
    if not isinstance(event, dict) or event.get("object") != "Event":
        raise PayloadError("the body is not an EasyPost Event")
    if event.get("description") != TRACKER_UPDATED:
        raise PayloadError(
            f"event '{event.get('description')}' is not {TRACKER_UPDATED}"
        )
    values = tracker_values(event.get("result"))
    values["event_id"] = event.get("id")
    return values


def envelope(body_data):
    """Event id, description and tracking code of a parsed webhook body, for
    intake; never raises (anything may be signed)."""
    if not isinstance(body_data, dict):
        return {}
    result = (
        body_data.get("result") if isinstance(body_data.get("result"), dict) else {}
    )
    return {
        "event_id": body_data.get("id")
        if isinstance(body_data.get("id"), str)
        else None,
        "description": body_data.get("description")
        if isinstance(body_data.get("description"), str)
        else None,
        "tracking_code": result.get("tracking_code")
        if isinstance(result.get("tracking_code"), str)
        else None,
    }


# -- shipments -------------------------------------------------------------------
def pick_rate(rates, services=(), carrier_accounts=()):
    """The rate to buy: the first service asked for ("USPS:Priority" or just
    "Priority") in the order given, else the cheapest; None when none fits."""
    rates = [r for r in rates or [] if isinstance(r, dict) and r.get("id")]
    if carrier_accounts:
        rates = [r for r in rates if r.get("carrier_account_id") in carrier_accounts]
    for wanted in services or ():
        carrier, _sep, service = wanted.rpartition(":")
        for rate in rates:
            if rate.get("service") == service and (
                not carrier or rate.get("carrier") == carrier
            ):
                return rate
    if services:
        return None
    return min(rates, key=lambda r: money(r.get("rate")), default=None)


def service_code(rate):
    return f"{rate.get('carrier')}:{rate.get('service')}"


def label_url(postage_label, file_format):
    """The URL of the label in ``file_format`` (PDF, ZPL), None if not made."""
    label = postage_label or {}
    specific = label.get(f"label_{file_format.lower()}_url")
    if specific:
        return specific
    content_type = {"PDF": "application/pdf", "ZPL": "application/zpl"}.get(file_format)
    if label.get("label_file_type") == content_type:
        return label.get("label_url")
    return None


def purchased(shipment):
    """A shipment whose label was bought and not refunded or asked to be."""
    return bool(
        isinstance(shipment, dict)
        and shipment.get("postage_label")
        and shipment.get("tracking_code")
        and shipment.get("refund_status") in (None, "", "rejected")
    )


def shipment_values(shipment):
    """Shipment (bought) -> the label's values."""
    rate = shipment.get("selected_rate") or {}
    return {
        "shipment_ext_id": shipment.get("id"),
        "tracking_code": shipment.get("tracking_code"),
        "tracker_ext_id": (shipment.get("tracker") or {}).get("id"),
        "public_url": (shipment.get("tracker") or {}).get("public_url"),
        "service": service_code(rate) if rate else None,
        "price": float(money(rate["rate"])) if rate.get("rate") else 0.0,
        "currency": rate.get("currency"),
        "refund_status": shipment.get("refund_status") or False,
    }


def address(
    name,
    street,
    street2,
    city,
    state,
    zip_code,
    country,
    phone=None,
    email=None,
    company=None,
):
    return {
        key: value
        for key, value in {
            "name": name,
            "company": company,
            "street1": street,
            "street2": street2,
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": country,
            "phone": phone,
            "email": email,
        }.items()
        if value
    }


def error_text(body):
    """EasyPost's ``{"error": {"code", "message", "errors"}}`` as one line."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    parts = [error.get("message") or error.get("code") or ""]
    for item in error.get("errors") or []:
        if isinstance(item, dict) and item.get("field"):
            parts.append(f"{item['field']} {item.get('message', '')}".strip())
    return "; ".join(p for p in parts if p)
