"""Shopify order JSON (REST shape, also the webhook body) -> plain dicts.

No ORM here: the importer turns these dicts into Odoo records, the tests
exercise them directly. Amounts are ``Decimal`` in shop money.
"""

import hashlib
import json

from .dates import read_datetime, version_key
from .money import CENT, ZERO, cents, fmt, shop_amount, to_decimal


class OrderDataError(ValueError):
    """The payload lacks something an order cannot do without."""


def _text(value):
    return (value or "").strip() if isinstance(value, str) else (value or "")


def parse_address(data):
    """An address as partner values; ``None`` when there is none."""
    if not isinstance(data, dict):
        return None
    name = _text(data.get("name")) or " ".join(
        part
        for part in (_text(data.get("first_name")), _text(data.get("last_name")))
        if part
    )
    address = {
        "name": name,
        "company": _text(data.get("company")),
        "street": _text(data.get("address1")),
        "street2": _text(data.get("address2")),
        "city": _text(data.get("city")),
        "zip": _text(data.get("zip")),
        "state_code": _text(data.get("province_code")),
        "country_code": _text(data.get("country_code")).upper(),
        "phone": _text(data.get("phone")),
    }
    if not any(address.values()):
        return None
    return address


def parse_customer(data, email=""):
    """The buyer: Shopify customer id (if any), email and name."""
    if not isinstance(data, dict):
        data = {}
    first, last = _text(data.get("first_name")), _text(data.get("last_name"))
    email = _text(data.get("email")) or email
    customer_id = data.get("id")
    return {
        "id": str(customer_id) if customer_id else "",
        "email": email,
        "name": " ".join(p for p in (first, last) if p),
        "phone": _text(data.get("phone")),
        "default_address": parse_address(data.get("default_address")),
    }


def _taxes(item):
    taxes = []
    for tax in item.get("tax_lines") or []:
        rate = to_decimal(tax.get("rate"))
        taxes.append(
            {
                "title": _text(tax.get("title")) or "Tax",
                "rate": rate,
                "amount": shop_amount(tax, "price"),
            }
        )
    return taxes


def _allocated_discount(item, fallback_key):
    allocations = item.get("discount_allocations")
    if allocations:
        return sum((shop_amount(a, "amount") for a in allocations), ZERO)
    return shop_amount(item, fallback_key) if fallback_key else ZERO


def parse_line(item):
    price = shop_amount(item, "price")
    quantity = int(item.get("quantity") or 0)
    gross = price * quantity
    discount = _allocated_discount(item, "total_discount")
    return {
        "id": str(item.get("id") or ""),
        "sku": _text(item.get("sku")),
        "title": _text(item.get("name")) or _text(item.get("title")) or "Item",
        "variant_id": str(item.get("variant_id") or ""),
        "quantity": quantity,
        # after removals and refunds (older payloads: the quantity)
        "current_quantity": int(
            item["current_quantity"]
            if item.get("current_quantity") is not None
            else quantity
        ),
        "price": price,
        "gross": gross,
        "discount": discount,
        "net": gross - discount,
        "taxable": item.get("taxable", True),
        "requires_shipping": item.get("requires_shipping", True),
        "gift_card": bool(item.get("gift_card")),
        "taxes": _taxes(item),
    }


def parse_shipping_line(item):
    price = shop_amount(item, "price")
    if item.get("discount_allocations"):
        discount = _allocated_discount(item, None)
    elif item.get("discounted_price") not in (None, ""):
        discount = price - shop_amount(item, "discounted_price")
    else:
        discount = ZERO
    return {
        "id": str(item.get("id") or ""),
        "title": _text(item.get("title")) or "Shipping",
        "code": _text(item.get("code")),
        "source": _text(item.get("source")),
        "price": price,
        "discount": discount,
        "net": price - discount,
        "taxes": _taxes(item),
    }


def order_currency(data):
    price_set = data.get("total_price_set") or {}
    shop_money = price_set.get("shop_money") or {}
    return _text(data.get("currency")) or _text(shop_money.get("currency_code"))


def parse_order(data):
    """The order as plain values; raises ``OrderDataError`` when unusable."""
    if not isinstance(data, dict) or not data.get("id"):
        raise OrderDataError("the order has no id")
    order_id = int(data["id"])
    lines = [parse_line(item) for item in data.get("line_items") or []]
    if not lines:
        raise OrderDataError("the order has no line items")
    if data.get("total_price") in (None, "") and not data.get("total_price_set"):
        raise OrderDataError("the order has no total_price")
    email = _text(data.get("email")) or _text(data.get("contact_email"))
    customer = parse_customer(data.get("customer"), email)
    return {
        "id": order_id,
        "gid": data.get("admin_graphql_api_id") or f"gid://shopify/Order/{order_id}",
        "name": _text(data.get("name")) or f"#{data.get('order_number') or order_id}",
        "updated_at": read_datetime(data, "updated_at"),
        "version": version_key(data.get("updated_at")),
        "created_at": read_datetime(data, "processed_at", "created_at"),
        "currency": order_currency(data),
        "taxes_included": bool(data.get("taxes_included")),
        "financial_status": _text(data.get("financial_status")),
        "fulfillment_status": _text(data.get("fulfillment_status")),
        "cancelled_at": read_datetime(data, "cancelled_at"),
        "cancel_reason": _text(data.get("cancel_reason")),
        "email": customer["email"],
        "phone": _text(data.get("phone")),
        "note": _text(data.get("note")),
        "tags": _text(data.get("tags")),
        "location_id": str(data.get("location_id") or ""),
        "total_price": shop_amount(data, "total_price"),
        "subtotal_price": shop_amount(data, "subtotal_price"),
        "total_tax": shop_amount(data, "total_tax"),
        "total_discounts": shop_amount(data, "total_discounts"),
        "customer": customer,
        "billing_address": parse_address(data.get("billing_address")),
        "shipping_address": parse_address(data.get("shipping_address")),
        "lines": lines,
        "shipping_lines": [
            parse_shipping_line(item) for item in data.get("shipping_lines") or []
        ],
        "refunds": [r for r in data.get("refunds") or [] if isinstance(r, dict)],
        "digest": state_digest(data),
    }


def payload_figures(order):
    """What the payload's own parts add up to: untaxed, tax and total."""
    parts = order["lines"] + order["shipping_lines"]
    net = sum((part["net"] for part in parts), ZERO)
    tax = sum((t["amount"] for part in parts for t in part["taxes"]), ZERO)
    if order["taxes_included"]:
        return {"untaxed": net - tax, "tax": tax, "total": net}
    return {"untaxed": net, "tax": tax, "total": net + tax}


def explain_total_difference(order, odoo_untaxed, odoo_tax, odoo_total):
    """One sentence for the exception desk: by how much and why Odoo's total
    differs from Shopify's; ``None`` when they agree to the cent."""
    shopify_total = cents(order["total_price"])
    odoo_total = cents(odoo_total)
    if odoo_total == shopify_total:
        return None
    figures = payload_figures(order)
    reasons = []
    if cents(figures["total"]) != shopify_total:
        reasons.append(
            f"Shopify's own lines, shipping and taxes make {fmt(figures['total'])} "
            f"but its total_price says {fmt(shopify_total)} (the payload carries "
            "amounts Odoo cannot see, e.g. order-level taxes without tax lines, "
            "tips or duties)"
        )
    if cents(odoo_untaxed) != cents(figures["untaxed"]):
        reasons.append(
            f"untaxed amounts differ (Odoo {fmt(odoo_untaxed)}, Shopify "
            f"{fmt(figures['untaxed'])})"
        )
    inconsistent = inconsistent_tax_lines(order)
    if inconsistent:
        part, tax, computed = inconsistent[0]
        code = tax_code(tax["title"], tax["rate"])
        reasons.append(
            f"Shopify's tax amounts are not its rates applied to the lines "
            f"({len(inconsistent)} tax line(s), e.g. '{code}'"
            f" on {part.get('sku') or part['title']}: {fmt(computed)} at that rate, "
            f"the payload says {fmt(tax['amount'])})"
        )
    if cents(odoo_tax) != cents(figures["tax"]):
        reasons.append(
            f"taxes differ (Odoo {fmt(odoo_tax)}, Shopify {fmt(figures['tax'])}): "
            "check the tax mapping, or per-line rounding of discounted lines"
        )
    if not reasons:
        reasons.append("rounding")
    difference = odoo_total - shopify_total
    return (
        f"Shopify order {order['name']}: Odoo's total {fmt(odoo_total)} differs "
        f"from Shopify's {fmt(shopify_total)} {order['currency']} by "
        f"{'+' if difference > 0 else ''}{fmt(difference)}: "
        + "; ".join(reasons)
        + ". The order stays a quotation."
    )


def inconsistent_tax_lines(order, tolerance=CENT):
    """Tax lines whose amount is not their rate applied to their line (more
    than a cent apart): ``[(line, tax, amount at that rate)]``."""
    found = []
    for part in order["lines"] + order["shipping_lines"]:
        rates = sum((t["rate"] for t in part["taxes"]), ZERO)
        for tax in part["taxes"]:
            if order["taxes_included"]:
                computed = cents(part["net"] * tax["rate"] / (1 + rates))
            else:
                computed = cents(part["net"] * tax["rate"])
            if abs(computed - tax["amount"]) > tolerance:
                found.append((part, tax, computed))
    return found


def tax_code(title, rate):
    """The value-map code of a Shopify tax: ``"VAT 21%"``."""
    percent = (to_decimal(rate) * 100).normalize()
    text = format(percent, "f")
    return f"{title} {text}%"


def state_digest(data):
    """A short fingerprint of what the import applies from an order body.

    Shopify's ``updated_at`` has whole seconds: two versions of one second
    share it. With this fingerprint a version of the same second but other
    content is still applied, while the same content (by webhook or by
    polling) is recognised as already applied.
    """
    address = data.get("shipping_address") or {}
    state = [
        data.get("financial_status"),
        data.get("fulfillment_status"),
        data.get("cancelled_at"),
        str(data.get("total_price")),
        str(data.get("current_total_price")),
        data.get("email"),
        data.get("note"),
        [
            (item.get("id"), item.get("quantity"), str(item.get("price")))
            for item in data.get("line_items") or []
        ],
        sorted(str(r.get("id")) for r in data.get("refunds") or [] if r),
        [address.get(k) for k in ("address1", "address2", "city", "zip")],
    ]
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
