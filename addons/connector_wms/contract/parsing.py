"""Parsers and validators of the bodies the WMS sends (webhooks and events
of the poll). Each returns plain dataclasses with ``Decimal`` quantities, or
raises :class:`ContractError` listing every problem with its path, in words
a clerk can act on. Nothing here knows Odoo."""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from jsonschema import Draft202012Validator

from .checksum import snapshot_checksum
from .schemas import INBOUND_SCHEMAS, MESSAGE_TYPE_OF_EVENT

_VALIDATORS = {
    code: Draft202012Validator(schema) for code, schema in INBOUND_SCHEMAS.items()
}


class ContractError(ValueError):
    """A body that breaks the contract: ``problems`` lists each one."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [message])


def _path(parts):
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _validate(code, body):
    errors = sorted(
        _VALIDATORS[code].iter_errors(body), key=lambda e: list(e.absolute_path)
    )
    if errors:
        problems = [f"{_path(e.absolute_path)}: {e.message}" for e in errors]
        raise ContractError(
            f"The {code} body does not follow the WMS contract "
            f"({len(problems)} problem(s)): {problems[0]}",
            problems,
        )


def parse_datetime(text, where="$"):
    """Aware UTC datetime of an ISO 8601 text (``Z`` or an offset); a
    :class:`ContractError` naming ``where`` when it is no real moment (the
    schema's pattern lets month 13 or 30 February through)."""
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ContractError(
            f"{where} is not a date and time ({str(text)[:40]!r}: {exc})."
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _date(text, where):
    try:
        return date.fromisoformat(str(text))
    except ValueError as exc:
        raise ContractError(f"{where} is not a date ({str(text)[:40]!r}).") from exc


def _decimal(value):
    return Decimal(str(value))


# -- the envelope ---------------------------------------------------------------
def envelope_of(body):
    """``{"event_id", "event_type", "message_type", "reference"}`` read from a
    raw webhook body, for intake; never raises (an unreadable body gives
    Nones, and processing then says what is wrong with it)."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {"event_id": None, "event_type": None, "message_type": None}
    if not isinstance(data, dict):
        return {"event_id": None, "event_type": None, "message_type": None}
    event_type = data.get("event_type")
    event_id = data.get("event_id")
    inner = data.get("data") if isinstance(data.get("data"), dict) else {}
    reference = (
        inner.get("order_ref")
        or inner.get("receipt_ref")
        or inner.get("snapshot_id")
        or None
    )
    return {
        "event_id": str(event_id) if isinstance(event_id, str | int) else None,
        "event_type": event_type if isinstance(event_type, str) else None,
        "message_type": MESSAGE_TYPE_OF_EVENT.get(event_type)
        if isinstance(event_type, str)
        else None,
        "reference": str(reference)[:100] if reference else None,
    }


def parse_event(body):
    """Validate one event (a dict) against the schema of its type; returns
    ``(message_type, event)``."""
    if not isinstance(body, dict):
        raise ContractError("The event is not a JSON object.")
    code = MESSAGE_TYPE_OF_EVENT.get(body.get("event_type"))
    if not code:
        raise ContractError(
            f"Unknown event type {body.get('event_type')!r}: the contract knows "
            + ", ".join(sorted(MESSAGE_TYPE_OF_EVENT))
        )
    _validate(code, body)
    return code, body


# -- shipments --------------------------------------------------------------------
@dataclass
class Lot:
    name: str
    quantity: Decimal
    expiry_date: date | None = None


@dataclass
class ParsedLine:
    sku: str
    quantity: Decimal
    line_id: str | None = None
    lots: list = field(default_factory=list)
    serials: list = field(default_factory=list)
    quantity_rejected: Decimal = Decimal(0)
    reject_reason: str | None = None


@dataclass
class PackageLine:
    sku: str
    quantity: Decimal
    lot: str | None = None


@dataclass
class ParsedPackage:
    ref: str
    weight_kg: Decimal | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    contents: list = field(default_factory=list)


@dataclass
class Shipment:
    event_id: str
    occurred_at: datetime
    shipment_id: str
    order_ref: str
    sequence: int
    final: bool
    shipment_count: int | None
    shipped_at: datetime | None
    carrier: str | None
    lines: list
    packages: list

    def tracking_numbers(self):
        return [p.tracking_number for p in self.packages if p.tracking_number]

    def quantities_by_sku(self):
        totals = {}
        for line in self.lines:
            totals[line.sku] = totals.get(line.sku, Decimal(0)) + line.quantity
        return totals


def _lots(raw_lots):
    return [
        Lot(
            name=lot["lot"],
            quantity=_decimal(lot["quantity"]),
            expiry_date=_date(lot["expiry_date"], "expiry_date")
            if lot.get("expiry_date")
            else None,
        )
        for lot in raw_lots or []
    ]


def _check_lots_and_serials(lines, where, quantity_of):
    """Lots must add up to the line; serials must be one per unit."""
    problems = []
    for index, line in enumerate(lines):
        quantity = quantity_of(line)
        if line.lots and sum(lot.quantity for lot in line.lots) != quantity:
            problems.append(
                f"{where}[{index}] SKU '{line.sku}': the lots add up to "
                f"{sum(lot.quantity for lot in line.lots)}, the line says {quantity}"
            )
        if line.serials and Decimal(len(line.serials)) != quantity:
            problems.append(
                f"{where}[{index}] SKU '{line.sku}': {len(line.serials)} serial "
                f"number(s) for a quantity of {quantity}"
            )
    return problems


def parse_shipment(body, validate=True):
    """A ``shipment.confirmed`` event -> :class:`Shipment`."""
    if validate:  # False: the caller checked the body against the schema
        _validate("wms.shipment", body)
    data = body["data"]
    lines = [
        ParsedLine(
            sku=line["sku"],
            quantity=_decimal(line["quantity"]),
            line_id=line.get("line_id") or None,
            lots=_lots(line.get("lots")),
            serials=list(line.get("serials") or []),
        )
        for line in data["lines"]
    ]
    packages = [
        ParsedPackage(
            ref=package["package_ref"],
            weight_kg=_decimal(package["weight_kg"])
            if package.get("weight_kg") is not None
            else None,
            tracking_number=package.get("tracking_number") or None,
            carrier=package.get("carrier") or None,
            contents=[
                PackageLine(
                    sku=item["sku"],
                    quantity=_decimal(item["quantity"]),
                    lot=item.get("lot") or None,
                )
                for item in package.get("contents") or []
            ],
        )
        for package in data.get("packages") or []
    ]
    shipment = Shipment(
        event_id=body["event_id"],
        occurred_at=parse_datetime(body["occurred_at"], "$.occurred_at"),
        shipment_id=data["shipment_id"],
        order_ref=data["order_ref"],
        sequence=data["sequence"],
        final=data["final"],
        shipment_count=data.get("shipment_count"),
        shipped_at=parse_datetime(data["shipped_at"], "$.data.shipped_at")
        if data.get("shipped_at")
        else None,
        carrier=data.get("carrier") or None,
        lines=lines,
        packages=packages,
    )
    problems = _check_lots_and_serials(
        lines, "$.data.lines", lambda line: line.quantity
    )
    if shipment.final and shipment.shipment_count < shipment.sequence:
        problems.append(
            f"$.data.shipment_count: {shipment.shipment_count} shipment(s) in "
            f"all, but this is number {shipment.sequence}"
        )
    shipped = shipment.quantities_by_sku()
    packed = {}
    for package in packages:
        for item in package.contents:
            packed[item.sku] = packed.get(item.sku, Decimal(0)) + item.quantity
    for sku, quantity in packed.items():
        if quantity > shipped.get(sku, Decimal(0)):
            problems.append(
                f"$.data.packages: {quantity} of SKU '{sku}' packed, "
                f"{shipped.get(sku, 0)} shipped"
            )
    if problems:
        raise ContractError(
            f"Shipment {shipment.shipment_id} of {shipment.order_ref}: "
            + "; ".join(problems),
            problems,
        )
    return shipment


# -- receipts ---------------------------------------------------------------------
@dataclass
class Receipt:
    event_id: str
    occurred_at: datetime
    receipt_id: str
    receipt_ref: str
    sequence: int
    final: bool
    lines: list


def parse_receipt(body, validate=True):
    """A ``receipt.confirmed`` event -> :class:`Receipt`."""
    if validate:  # False: the caller checked the body against the schema
        _validate("wms.receipt_confirmed", body)
    data = body["data"]
    lines = [
        ParsedLine(
            sku=line["sku"],
            quantity=_decimal(line["quantity_received"]),
            line_id=line.get("line_id") or None,
            lots=_lots(line.get("lots")),
            serials=list(line.get("serials") or []),
            quantity_rejected=_decimal(line.get("quantity_rejected") or 0),
            reject_reason=line.get("reject_reason") or None,
        )
        for line in data["lines"]
    ]
    problems = _check_lots_and_serials(
        lines, "$.data.lines", lambda line: line.quantity
    )
    receipt = Receipt(
        event_id=body["event_id"],
        occurred_at=parse_datetime(body["occurred_at"], "$.occurred_at"),
        receipt_id=data["receipt_id"],
        receipt_ref=data["receipt_ref"],
        sequence=data["sequence"],
        final=data["final"],
        lines=lines,
    )
    if problems:
        raise ContractError(
            f"Receipt {receipt.receipt_id} of {receipt.receipt_ref}: "
            + "; ".join(problems),
            problems,
        )
    return receipt


# -- order status -------------------------------------------------------------------
@dataclass
class Status:
    event_id: str
    occurred_at: datetime
    order_ref: str
    kind: str
    status: str
    revision: int | None
    reason: str | None


def parse_order_status(body, validate=True):
    if validate:  # False: the caller checked the body against the schema
        _validate("wms.order_status", body)
    data = body["data"]
    return Status(
        event_id=body["event_id"],
        occurred_at=parse_datetime(body["occurred_at"], "$.occurred_at"),
        order_ref=data["order_ref"],
        kind=data.get("kind") or "outbound",
        status=data["status"],
        revision=data.get("revision"),
        reason=data.get("reason") or None,
    )


# -- stock snapshots ------------------------------------------------------------------
@dataclass
class SnapshotLine:
    sku: str
    lot: str | None
    location: str | None
    quantity: Decimal


@dataclass
class Snapshot:
    event_id: str
    snapshot_id: str
    as_of: datetime
    lines: list

    def totals(self):
        """``{(sku, lot): quantity}`` over the locations of the WMS."""
        totals = {}
        for line in self.lines:
            key = (line.sku, line.lot)
            totals[key] = totals.get(key, Decimal(0)) + line.quantity
        return totals


def parse_snapshot(body, validate=True):
    """A ``stock.snapshot`` event -> :class:`Snapshot`; refused when its
    declared line count or checksum does not match the lines that came."""
    if validate:  # False: the caller checked the body against the schema
        _validate("wms.snapshot", body)
    data = body["data"]
    problems = []
    if data["line_count"] != len(data["lines"]):
        problems.append(
            f"the snapshot declares {data['line_count']} line(s) but "
            f"{len(data['lines'])} arrived"
        )
    checksum = snapshot_checksum(data["lines"])
    if checksum != data["checksum"]:
        problems.append(
            "its checksum does not match the lines that arrived "
            f"(declared {data['checksum'][:12]}..., computed {checksum[:12]}...)"
        )
    if problems:
        raise ContractError(
            f"Stock snapshot {data['snapshot_id']} refused: " + "; ".join(problems),
            problems,
        )
    return Snapshot(
        event_id=body["event_id"],
        snapshot_id=data["snapshot_id"],
        as_of=parse_datetime(data["as_of"], "$.data.as_of"),
        lines=[
            SnapshotLine(
                sku=line["sku"],
                lot=line.get("lot") or None,
                location=line.get("location") or None,
                quantity=_decimal(line["quantity"]),
            )
            for line in data["lines"]
        ],
    )
