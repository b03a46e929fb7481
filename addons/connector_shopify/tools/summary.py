"""What a Shopify order message is about, for the top of its desk item:
customer, total, lines (the one the problem is about marked). Reads the raw
REST body defensively: a summary is shown even for an order that cannot be
imported."""


def _text(value):
    return (
        value.strip()
        if isinstance(value, str)
        else ("" if value is None else str(value))
    )


def readable_time(value):
    """``2026-12-01T15:00:45+01:00`` as ``2026-12-01 15:00 (UTC+01:00)``."""
    text = _text(value)
    if len(text) < 16 or text[10] != "T":
        return text
    zone = text[19:]
    zone = "UTC" if zone in ("Z", "+00:00") else f"UTC{zone}" if zone else ""
    return f"{text[:10]} {text[11:16]}" + (f" ({zone})" if zone else "")


def order_title(data):
    if not isinstance(data, dict):
        return None
    name = _text(data.get("name")) or (
        f"#{data.get('order_number') or data.get('id')}" if data.get("id") else ""
    )
    return f"Shopify order {name}".strip()


def order_summary(data, marked_sku=None):
    """``{"title", "fields", "lines"}`` of an order body, or None."""
    if not isinstance(data, dict):
        return None
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    name = " ".join(
        p
        for p in (_text(customer.get("first_name")), _text(customer.get("last_name")))
        if p
    )
    email = _text(customer.get("email")) or _text(data.get("email"))
    currency = _text(data.get("currency"))
    total = _text(data.get("total_price"))
    rows, marked = [], []
    items = data.get("line_items") if isinstance(data.get("line_items"), list) else []
    for index, item in enumerate(i for i in items if isinstance(i, dict)):
        sku = _text(item.get("sku"))
        rows.append(
            [
                sku or "-",
                _text(item.get("name")) or _text(item.get("title")),
                _text(item.get("quantity")),
                f"{_text(item.get('price'))} {currency}".strip(),
            ]
        )
        if marked_sku and sku == marked_sku:
            marked.append(index)
    shipping = [
        _text(s.get("title"))
        for s in data.get("shipping_lines") or []
        if isinstance(s, dict)
    ]
    return {
        "fields": [
            ("Customer", " - ".join(p for p in (name, email) if p) or "(no name)"),
            ("Total", f"{total} {currency}".strip()),
            ("Payment", _text(data.get("financial_status")).replace("_", " ")),
            ("Ordered at", readable_time(data.get("created_at"))),
            ("Shipping", ", ".join(p for p in shipping if p)),
        ],
        "lines": {
            "columns": ["SKU", "Item", "Quantity", "Price"],
            "rows": rows,
            "marked": marked,
        },
    }


def line_suggestion(data, sku):
    """What the order says of the line with ``sku``: ``name``, ``reference``,
    ``price`` (for a new product prefilled from it), or {}."""
    if not isinstance(data, dict):
        return {}
    for item in data.get("line_items") or []:
        if isinstance(item, dict) and _text(item.get("sku")) == sku:
            try:
                price = float(item.get("price") or 0)
            except (TypeError, ValueError):
                price = 0.0
            return {
                "name": _text(item.get("title")) or _text(item.get("name")),
                "reference": sku,
                "price": price,
            }
    return {}
