"""Shopify refund JSON -> plain dicts (the ``refunds/create`` body, and each
entry of an order's ``refunds``)."""

from .dates import read_datetime
from .money import ZERO, shop_amount


class RefundDataError(ValueError):
    """The payload lacks something a refund cannot do without."""


def parse_refund(data):
    if not isinstance(data, dict) or not data.get("id"):
        raise RefundDataError("the refund has no id")
    if not data.get("order_id"):
        raise RefundDataError("the refund has no order_id")
    lines = []
    for item in data.get("refund_line_items") or []:
        quantity = int(item.get("quantity") or 0)
        if quantity <= 0:
            continue
        line_item = item.get("line_item") or {}
        lines.append(
            {
                "line_item_id": str(item.get("line_item_id") or line_item.get("id")),
                "sku": (line_item.get("sku") or "").strip(),
                "quantity": quantity,
                "restock_type": item.get("restock_type") or "no_restock",
                "location_id": str(item.get("location_id") or ""),
                # numbers on Shopify (not strings): shop_amount reads the *_set
                "subtotal": shop_amount(item, "subtotal"),
                "tax": shop_amount(item, "total_tax"),
            }
        )
    shipping, adjustments = [], []
    for adjustment in data.get("order_adjustments") or []:
        entry = {
            "kind": adjustment.get("kind") or "",
            "reason": adjustment.get("reason") or "",
            # negative on Shopify: a refund of 4.95 is "-4.95"
            "amount": -shop_amount(adjustment, "amount"),
            "tax": -shop_amount(adjustment, "tax_amount"),
        }
        (shipping if entry["kind"] == "shipping_refund" else adjustments).append(entry)
    for item in data.get("refund_shipping_lines") or []:
        shipping.append(
            {
                "kind": "shipping_refund",
                "reason": "Shipping refund",
                "amount": shop_amount(item, "subtotal_amount"),
                "tax": ZERO,
            }
        )
    refunded = sum(
        (
            shop_amount(t, "amount")
            for t in data.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status", "success") == "success"
        ),
        ZERO,
    )
    return {
        "id": str(data["id"]),
        "order_id": str(data["order_id"]),
        "created_at": read_datetime(data, "processed_at", "created_at"),
        "note": (data.get("note") or "").strip(),
        "restock": bool(data.get("restock")),
        "lines": lines,
        "shipping": shipping,
        "adjustments": adjustments,
        "refunded_amount": refunded,
    }


def refund_figures(refund, taxes_included=False):
    """What the refund credits: the lines' and shipping's amounts (tax
    included when the order's prices are) and their tax."""
    parts = refund["lines"] + refund["shipping"] + refund["adjustments"]
    amount = sum((p.get("subtotal", p.get("amount", ZERO)) for p in parts), ZERO)
    tax = sum((p["tax"] for p in parts), ZERO)
    if taxes_included:
        return {"untaxed": amount - tax, "tax": tax, "total": amount}
    return {"untaxed": amount, "tax": tax, "total": amount + tax}
