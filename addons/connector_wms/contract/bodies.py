"""Bodies Odoo sends to the WMS, built from plain values and checked against
the contract's schemas before they leave (a body the contract refuses is
our bug, named here, not the WMS's 422)."""

from decimal import Decimal

from jsonschema import Draft202012Validator

from .parsing import ContractError
from .schemas import CANCEL_BODY, RECEIPT_BODY, RELEASE_BODY

_VALIDATORS = {
    id(schema): Draft202012Validator(schema)
    for schema in (RELEASE_BODY, CANCEL_BODY, RECEIPT_BODY)
}


def _number(value):
    """A quantity as JSON: an int when whole, else a float of its decimal."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _check(schema, body, what):
    errors = sorted(
        _VALIDATORS[id(schema)].iter_errors(body), key=lambda e: list(e.path)
    )
    if errors:
        raise ContractError(
            f"{what} does not follow the WMS contract: "
            + "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"
                for e in errors
            ),
            [e.message for e in errors],
        )
    return body


def _lines(lines):
    return [
        {
            "line_id": str(line["line_id"]),
            "sku": line["sku"],
            "name": line.get("name") or None,
            "quantity": _number(line["quantity"]),
            "uom": line.get("uom") or "Units",
            "tracking": line.get("tracking") or "none",
        }
        for line in lines
    ]


def _address(values):
    values = values or {}
    return {
        key: (values.get(key) or None)
        for key in (
            "name",
            "street",
            "street2",
            "zip",
            "city",
            "state",
            "country",
            "phone",
            "email",
        )
    } | {"name": values.get("name") or "-"}


def release_body(
    order_ref,
    revision,
    reference,
    ship_to,
    lines,
    *,
    origin=None,
    warehouse=None,
    carrier=None,
    scheduled_date=None,
):
    """``POST /outbound-orders``: one outbound order at one revision."""
    body = {
        "order_ref": order_ref,
        "revision": int(revision),
        "reference": reference,
        "origin": origin or None,
        "warehouse": warehouse or None,
        "ship_to": _address(ship_to),
        "carrier": carrier or None,
        "scheduled_date": scheduled_date or None,
        "lines": _lines(lines),
    }
    return _check(RELEASE_BODY, body, f"Release of {reference}")


def cancel_body(order_ref, reason=None):
    """``POST /outbound-orders/{order_ref}/cancel``."""
    return _check(
        CANCEL_BODY,
        {"order_ref": order_ref, "reason": reason or None},
        f"Cancel of {order_ref}",
    )


def receipt_body(
    receipt_ref,
    revision,
    reference,
    lines,
    *,
    supplier=None,
    origin=None,
    warehouse=None,
    expected_date=None,
):
    """``POST /inbound-receipts``: an expected receipt at one revision."""
    body = {
        "receipt_ref": receipt_ref,
        "revision": int(revision),
        "reference": reference,
        "origin": origin or None,
        "warehouse": warehouse or None,
        "supplier": _address(supplier),
        "expected_date": expected_date or None,
        "lines": _lines(lines),
    }
    return _check(RECEIPT_BODY, body, f"Receipt announcement of {reference}")
