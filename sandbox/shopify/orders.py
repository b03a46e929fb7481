"""Pure construction of Shopify orders and refunds in REST JSON shape.

``build_order`` turns a compact spec into the full REST order (what
``GET orders/<id>.json`` returns inside ``{"order": ...}`` and what order
webhooks carry as a bare object). ``build_refund`` does the same for refunds.
No HTTP and no shared state here: a small context object supplies ids,
product lookups and customers, so the arithmetic is unit-testable.
"""

import secrets
from decimal import Decimal

from ..core.util import format_datetime, parse_datetime
from .money import (
    ZERO,
    MoneyError,
    allocate,
    fmt,
    money_set,
    number,
    prorate,
    q2,
    rate_str,
    to_decimal,
)

FINANCIAL_STATUSES = {
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
}
CANCEL_REASONS = {"customer", "declined", "fraud", "inventory", "other", "staff"}
RESTOCK_TYPES = {"no_restock", "cancel", "return", "legacy_restock"}


class OrderSpecError(ValueError):
    """The compact spec is invalid (control API answers 422)."""


def gid(kind, value):
    return f"gid://shopify/{kind}/{value}"


def _taxes_of(spec, default_title):
    """[(title, Decimal rate)] from ``taxes`` or ``tax_rate``/``tax_title``."""
    if spec.get("taxes") is not None:
        result = []
        for tax in spec["taxes"]:
            result.append(
                (
                    tax.get("title") or default_title,
                    to_decimal(tax.get("rate"), "tax rate"),
                )
            )
        return result
    if spec.get("tax_rate") not in (None, ""):
        rate = to_decimal(spec["tax_rate"], "tax_rate")
        return [(spec.get("tax_title") or default_title, rate)]
    return []


def _tax_amounts(base, taxes, taxes_included):
    """Tax per tax line on a (discounted) base, rounded per line."""
    if not taxes:
        return []
    if taxes_included:
        divisor = 1 + sum(rate for _title, rate in taxes)
        return [q2(base * rate / divisor) for _title, rate in taxes]
    return [q2(base * rate) for _title, rate in taxes]


def _tax_line(title, rate, amount, currency):
    return {
        "title": title,
        "price": fmt(amount),
        "rate": float(rate),
        "channel_liable": False,
        "price_set": money_set(amount, currency),
    }


def _allocation(amount, index, currency):
    return {
        "amount": fmt(amount),
        "amount_set": money_set(amount, currency),
        "discount_application_index": index,
    }


def _listify(value):
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def _address(spec, customer, default):
    if spec is None and default is None:
        return None
    data = {
        "first_name": (customer or {}).get("first_name"),
        "last_name": (customer or {}).get("last_name"),
        "company": None,
        "address1": "1 Sandbox Street",
        "address2": None,
        "city": "Brussels",
        "zip": "1000",
        "province": None,
        "province_code": None,
        "country": "Belgium",
        "country_code": "BE",
        "phone": None,
        "latitude": None,
        "longitude": None,
    }
    data.update(default or {})
    data.update(spec or {})
    names = [data.get("first_name"), data.get("last_name")]
    data["name"] = " ".join(n for n in names if n) or None
    return data


def _discount_value_type(discount):
    value_type = discount.get("type") or discount.get("value_type") or "fixed_amount"
    if value_type not in ("fixed_amount", "percentage"):
        raise OrderSpecError("discount type must be fixed_amount or percentage")
    return value_type


def _parse_lines(spec, ctx):
    lines = []
    for n, line in enumerate(_listify(spec.get("lines"))):
        if not isinstance(line, dict):
            raise OrderSpecError(f"lines[{n}] must be an object")
        quantity = int(line.get("quantity", 1))
        if quantity < 1:
            raise OrderSpecError(f"lines[{n}].quantity must be >= 1")
        info = ctx.resolve_line(line)
        price = line.get("price")
        price = to_decimal(price, f"lines[{n}].price") if price is not None else None
        if price is None:
            price = info.get("price")
        if price is None:
            raise OrderSpecError(f"lines[{n}].price is required")
        taxes = _taxes_of(line, spec.get("tax_title") or "VAT")
        if not taxes and spec.get("tax_rate") not in (None, ""):
            taxes = _taxes_of(spec, spec.get("tax_title") or "VAT")
        if line.get("taxable", True) is False:
            taxes = []
        line_discount = line.get("discount")
        lines.append(
            {
                "spec": line,
                "info": info,
                "quantity": quantity,
                "price": q2(price),
                "total": q2(price) * quantity,
                "taxes": taxes,
                "line_discount": q2(line_discount) if line_discount else ZERO,
                "allocations": [],  # (application index, amount, explicit)
            }
        )
    if not lines:
        raise OrderSpecError("an order needs at least one line")
    return lines


def _parse_shipping(spec):
    result = []
    for n, ship in enumerate(_listify(spec.get("shipping"))):
        price = q2(to_decimal(ship.get("price", "0"), f"shipping[{n}].price"))
        taxes = _taxes_of(ship, spec.get("tax_title") or "VAT")
        if not taxes and ship.get("tax_rate") is None and "taxes" not in ship:
            if spec.get("tax_rate") not in (None, "") and spec.get("tax_shipping"):
                taxes = _taxes_of(spec, spec.get("tax_title") or "VAT")
        discount = ship.get("discount")
        result.append(
            {
                "spec": ship,
                "price": price,
                "taxes": taxes,
                "discount": q2(discount) if discount else ZERO,
                "allocations": [],
            }
        )
    return result


def _apply_discounts(spec, lines, shipping):
    """Fill allocations; return (discount_applications, discount_codes).

    Line-level discounts come first, then order-level ones are allocated
    across the remaining line amounts, then shipping discounts.
    """
    applications = []
    codes = []
    # line-level manual discounts (amount for the whole line)
    for line in lines:
        if line["line_discount"]:
            index = len(applications)
            amount = min(line["line_discount"], line["total"])
            applications.append(
                {
                    "target_type": "line_item",
                    "type": "manual",
                    "value": rate_str(amount),
                    "value_type": "fixed_amount",
                    "allocation_method": "one",
                    "target_selection": "explicit",
                    "title": line["spec"].get("discount_title") or "Line discount",
                    "description": None,
                }
            )
            line["allocations"].append((index, amount, True))
    # order-level discounts, allocated across lines in proportion
    for discount in _listify(spec.get("discount")) + _listify(spec.get("discounts")):
        value_type = _discount_value_type(discount)
        value = to_decimal(discount.get("value", discount.get("amount")), "discount")
        bases = [
            line["total"] - sum(a[1] for a in line["allocations"]) for line in lines
        ]
        base_total = sum(bases)
        if value_type == "percentage":
            amount = q2(base_total * value / 100)
        else:
            amount = q2(value)
        amount = min(amount, base_total)
        index = len(applications)
        code = discount.get("code")
        app = {
            "target_type": "line_item",
            "type": "discount_code" if code else "manual",
            "value": rate_str(value),
            "value_type": value_type,
            "allocation_method": "across",
            "target_selection": "all",
        }
        if code:
            app["code"] = code
        else:
            app["title"] = discount.get("title") or ""
            app["description"] = discount.get("description")
        applications.append(app)
        shares = allocate(amount, bases)
        for line, share in zip(lines, shares):
            if share:
                line["allocations"].append((index, share, False))
        codes.append({"code": code or "", "amount": fmt(amount), "type": value_type})
    for ship in shipping:
        if ship["discount"]:
            index = len(applications)
            amount = min(ship["discount"], ship["price"])
            applications.append(
                {
                    "target_type": "shipping_line",
                    "type": "manual",
                    "value": rate_str(amount),
                    "value_type": "fixed_amount",
                    "allocation_method": "one",
                    "target_selection": "explicit",
                    "title": ship["spec"].get("discount_title") or "Shipping discount",
                    "description": None,
                }
            )
            ship["allocations"].append((index, amount, True))
    return applications, codes


def build_order(spec, ctx, order_number, now):
    """Full REST order from a compact spec.

    ``ctx`` provides: ``currency`` (shop), ``offset_minutes``, ``domain``,
    ``new_id()``, ``resolve_line(line_spec) -> dict`` (variant_id,
    product_id, title, variant_title, vendor, grams, price, sku) and
    ``customer(spec) -> dict | None`` (REST customer).
    """
    if not isinstance(spec, dict):
        raise OrderSpecError("the order spec must be a JSON object")
    try:
        return _build_order(spec, ctx, order_number, now)
    except MoneyError as exc:
        raise OrderSpecError(str(exc)) from exc


def _build_order(spec, ctx, order_number, now):  # noqa: C901 - one flat recipe
    currency = (spec.get("currency") or ctx.currency).upper()
    presentment = (spec.get("presentment_currency") or currency).upper()
    taxes_included = bool(spec.get("taxes_included", False))
    financial_status = spec.get("financial_status") or "paid"
    if financial_status not in FINANCIAL_STATUSES:
        raise OrderSpecError(f"financial_status must be one of {FINANCIAL_STATUSES}")
    offset = ctx.offset_minutes
    created = parse_datetime(spec["created_at"]) if spec.get("created_at") else now
    processed = (
        parse_datetime(spec["processed_at"]) if spec.get("processed_at") else created
    )

    def mset(amount):
        return money_set(amount, currency, presentment)

    lines = _parse_lines(spec, ctx)
    shipping = _parse_shipping(spec)
    applications, discount_codes = _apply_discounts(spec, lines, shipping)

    order_id = ctx.new_id()
    tax_totals = {}
    line_items = []
    for line in lines:
        info = line["info"]
        discount_total = sum((a[1] for a in line["allocations"]), ZERO)
        explicit_total = sum((a[1] for a in line["allocations"] if a[2]), ZERO)
        base = line["total"] - discount_total
        amounts = _tax_amounts(base, line["taxes"], taxes_included)
        tax_lines = []
        for (title, rate), amount in zip(line["taxes"], amounts):
            tax_lines.append(_tax_line(title, rate, amount, currency))
            key = (title, rate)
            tax_totals[key] = tax_totals.get(key, ZERO) + amount
        line_id = ctx.new_id()
        title = line["spec"].get("title") or info.get("title") or info.get("sku")
        variant_title = info.get("variant_title")
        line_items.append(
            {
                "id": line_id,
                "admin_graphql_api_id": gid("LineItem", line_id),
                "current_quantity": line["quantity"],
                "fulfillable_quantity": line["quantity"],
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": int(line["spec"].get("grams", info.get("grams") or 0)),
                "name": f"{title} - {variant_title}" if variant_title else title,
                "price": fmt(line["price"]),
                "price_set": mset(line["price"]),
                "product_exists": info.get("product_id") is not None,
                "product_id": info.get("product_id"),
                "properties": list(line["spec"].get("properties") or []),
                "quantity": line["quantity"],
                "requires_shipping": bool(line["spec"].get("requires_shipping", True)),
                "sku": line["spec"].get("sku", info.get("sku")),
                "taxable": bool(line["taxes"]),
                "title": title,
                "total_discount": fmt(explicit_total),
                "total_discount_set": mset(explicit_total),
                "variant_id": info.get("variant_id"),
                "variant_inventory_management": "shopify"
                if info.get("variant_id")
                else None,
                "variant_title": variant_title,
                "vendor": info.get("vendor"),
                "tax_lines": tax_lines,
                "duties": [],
                "discount_allocations": [
                    _allocation(a[1], a[0], currency) for a in line["allocations"]
                ],
            }
        )

    shipping_lines = []
    shipping_net_total = ZERO
    shipping_discount_total = ZERO
    for ship in shipping:
        discount = sum((a[1] for a in ship["allocations"]), ZERO)
        net = ship["price"] - discount
        shipping_net_total += net
        shipping_discount_total += discount
        amounts = _tax_amounts(net, ship["taxes"], taxes_included)
        tax_lines = []
        for (title, rate), amount in zip(ship["taxes"], amounts):
            tax_lines.append(_tax_line(title, rate, amount, currency))
            key = (title, rate)
            tax_totals[key] = tax_totals.get(key, ZERO) + amount
        ship_id = ctx.new_id()
        title = ship["spec"].get("title") or "Standard Shipping"
        shipping_lines.append(
            {
                "id": ship_id,
                "carrier_identifier": ship["spec"].get("carrier_identifier"),
                "code": ship["spec"].get("code") or title,
                "delivery_category": None,
                "discounted_price": fmt(net),
                "discounted_price_set": mset(net),
                "phone": None,
                "price": fmt(ship["price"]),
                "price_set": mset(ship["price"]),
                "requested_fulfillment_service_id": None,
                "source": ship["spec"].get("source") or "shopify",
                "title": title,
                "tax_lines": tax_lines,
                "discount_allocations": [
                    _allocation(a[1], a[0], currency) for a in ship["allocations"]
                ],
            }
        )

    total_line_items = sum((line["total"] for line in lines), ZERO)
    line_discounts = sum(
        (a[1] for line in lines for a in line["allocations"]),
        ZERO,
    )
    subtotal = total_line_items - line_discounts
    total_tax = sum(tax_totals.values(), ZERO)
    total_discounts = line_discounts + shipping_discount_total
    total_price = subtotal + shipping_net_total
    if not taxes_included:
        total_price += total_tax
    order_tax_lines = [
        _tax_line(title, rate, amount, currency)
        for (title, rate), amount in tax_totals.items()
    ]

    customer = ctx.customer(spec.get("customer")) if spec.get("customer") else None
    email = spec.get("email") or (customer or {}).get("email")
    default_address = (customer or {}).get("default_address")
    default_address = (
        {k: v for k, v in default_address.items() if k not in ("id", "customer_id")}
        if default_address
        else None
    )
    shipping_address = _address(spec.get("shipping_address"), customer, default_address)
    billing_address = _address(
        spec.get("billing_address"), customer, default_address
    ) or (dict(shipping_address) if shipping_address else None)
    tags = spec.get("tags") or ""
    if isinstance(tags, list):
        tags = ", ".join(tags)
    token = secrets.token_hex(16)
    name = f"#{order_number}"
    when = format_datetime(created, offset)
    gateway = spec.get("gateway") or "manual"
    paid = financial_status in ("paid", "partially_refunded", "refunded")
    order = {
        "id": order_id,
        "admin_graphql_api_id": gid("Order", order_id),
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "client_details": None,
        "closed_at": None,
        "company": None,
        "confirmation_number": secrets.token_hex(4).upper(),
        "confirmed": True,
        "contact_email": email,
        "created_at": when,
        "currency": currency,
        "current_subtotal_price": fmt(subtotal),
        "current_total_additional_fees_set": None,
        "current_subtotal_price_set": mset(subtotal),
        "current_total_discounts": fmt(total_discounts),
        "current_total_discounts_set": mset(total_discounts),
        "current_total_duties_set": None,
        "current_total_price": fmt(total_price),
        "current_total_price_set": mset(total_price),
        "current_total_tax": fmt(total_tax),
        "current_total_tax_set": mset(total_tax),
        "customer_locale": spec.get("customer_locale") or "en",
        "device_id": None,
        "discount_codes": discount_codes,
        "email": email,
        "estimated_taxes": False,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": name,
        "note": spec.get("note"),
        "note_attributes": list(spec.get("note_attributes") or []),
        "number": order_number - 1000,
        "order_number": order_number,
        "order_status_url": f"https://{ctx.domain}/orders/{token}/authenticate?key="
        + secrets.token_hex(8),
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": [gateway],
        "phone": spec.get("phone") or (customer or {}).get("phone"),
        "po_number": spec.get("po_number"),
        "presentment_currency": presentment,
        "processed_at": format_datetime(processed, offset),
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": spec.get("source_name") or "web",
        "source_url": None,
        "subtotal_price": fmt(subtotal),
        "subtotal_price_set": mset(subtotal),
        "tags": tags,
        "tax_lines": order_tax_lines,
        "tax_exempt": False,
        "taxes_included": taxes_included,
        "test": bool(spec.get("test", False)),
        "token": token,
        "total_discounts": fmt(total_discounts),
        "total_discounts_set": mset(total_discounts),
        "total_line_items_price": fmt(total_line_items),
        "total_line_items_price_set": mset(total_line_items),
        "total_outstanding": fmt(ZERO if paid else total_price),
        "total_price": fmt(total_price),
        "total_price_set": mset(total_price),
        "total_shipping_price_set": mset(shipping_net_total),
        "total_tax": fmt(total_tax),
        "total_tax_set": mset(total_tax),
        "total_tip_received": "0.00",
        "total_weight": sum(li["grams"] * li["quantity"] for li in line_items),
        "updated_at": when,
        "user_id": None,
        "billing_address": billing_address,
        "customer": customer,
        "discount_applications": applications,
        "fulfillments": [],
        "line_items": line_items,
        "payment_terms": None,
        "refunds": [],
        "shipping_address": shipping_address,
        "shipping_lines": shipping_lines,
    }
    return order


def sale_transaction(order, kind, amount, new_id, now, offset):
    """An order transaction (sale / authorization / capture / refund)."""
    txn_id = new_id()
    when = format_datetime(now, offset)
    return {
        "id": txn_id,
        "admin_graphql_api_id": gid("OrderTransaction", txn_id),
        "amount": fmt(amount),
        "authorization": None,
        "created_at": when,
        "currency": order["currency"],
        "device_id": None,
        "error_code": None,
        "gateway": order["payment_gateway_names"][0]
        if order["payment_gateway_names"]
        else "manual",
        "kind": kind,
        "location_id": None,
        "message": None,
        "order_id": order["id"],
        "parent_id": None,
        "payment_id": None,
        "processed_at": when,
        "receipt": {},
        "source_name": "web",
        "status": "success",
        "test": order.get("test", False),
        "user_id": None,
    }


def line_net(line):
    """Line total after all discount allocations."""
    total = q2(line["price"]) * line["quantity"]
    return total - sum(
        (to_decimal(a["amount"]) for a in line["discount_allocations"]), ZERO
    )


def line_tax(line):
    return sum((to_decimal(t["price"]) for t in line["tax_lines"]), ZERO)


def refunded_quantities(order):
    done = {}
    for refund in order["refunds"]:
        for rli in refund["refund_line_items"]:
            done[rli["line_item_id"]] = (
                done.get(rli["line_item_id"], 0) + rli["quantity"]
            )
    return done


def refunded_shipping(order):
    """(amount, tax) of shipping already refunded, as positive Decimals."""
    amount = tax = ZERO
    for refund in order["refunds"]:
        for adj in refund.get("order_adjustments", []):
            if adj.get("kind") == "shipping_refund":
                amount += -to_decimal(adj["amount"])
                tax += -to_decimal(adj["tax_amount"])
    return amount, tax


def paid_amount(transactions):
    """Money captured minus money refunded, from successful transactions."""
    total = ZERO
    for txn in transactions:
        if txn["status"] != "success":
            continue
        if txn["kind"] in ("sale", "capture"):
            total += to_decimal(txn["amount"])
        elif txn["kind"] == "refund":
            total -= to_decimal(txn["amount"])
    return total


def build_refund(order, spec, transactions, new_id, now, offset):  # noqa: C901
    """A REST refund for ``order`` from a compact spec.

    spec: ``{"lines": [{"line_item_id" | "sku", "quantity", "restock_type",
    "location_id"}], "shipping": {"full_refund": true} | {"amount": "5.00"},
    "note": "...", "amount": "override of the money refunded"}``.
    Returns (refund, restocks) where restocks is
    [(line, quantity, restock_type, location_id)].
    """
    currency = order["currency"]
    taxes_included = order["taxes_included"]
    refund_id = new_id()
    when = format_datetime(now, offset)
    done = refunded_quantities(order)
    by_id = {line["id"]: line for line in order["line_items"]}
    refund_lines = []
    restocks = []
    money = ZERO
    try:
        for n, item in enumerate(_listify(spec.get("lines"))):
            line = None
            if item.get("line_item_id") is not None:
                line = by_id.get(int(item["line_item_id"]))
            elif item.get("sku") is not None:
                line = next(
                    (
                        li
                        for li in order["line_items"]
                        if li["sku"] == item["sku"]
                        and li["quantity"] - done.get(li["id"], 0) > 0
                    ),
                    None,
                )
            if line is None:
                raise OrderSpecError(f"lines[{n}]: no such line item on the order")
            quantity = int(item.get("quantity", 1))
            already = done.get(line["id"], 0)
            if quantity < 1 or already + quantity > line["quantity"]:
                raise OrderSpecError(
                    f"lines[{n}]: quantity {quantity} exceeds the refundable "
                    f"quantity {line['quantity'] - already}"
                )
            restock_type = item.get("restock_type") or "no_restock"
            if restock_type not in RESTOCK_TYPES:
                raise OrderSpecError(f"lines[{n}].restock_type: {restock_type!r}")
            subtotal = prorate(line_net(line), quantity, line["quantity"], already)
            tax = prorate(line_tax(line), quantity, line["quantity"], already)
            done[line["id"]] = already + quantity
            money += subtotal + (ZERO if taxes_included else tax)
            location_id = item.get("location_id")
            rli_id = new_id()
            refund_lines.append(
                {
                    "id": rli_id,
                    "line_item_id": line["id"],
                    "location_id": location_id
                    if restock_type != "no_restock"
                    else None,
                    "quantity": quantity,
                    "restock_type": restock_type,
                    "subtotal": number(subtotal),
                    "subtotal_set": money_set(subtotal, currency),
                    "total_tax": number(tax),
                    "total_tax_set": money_set(tax, currency),
                    "line_item": dict(line),
                }
            )
            if restock_type != "no_restock":
                restocks.append((line, quantity, restock_type, location_id))
        adjustments = []
        shipping_spec = spec.get("shipping") or {}
        if shipping_spec:
            ship_net = sum(
                (to_decimal(s["discounted_price"]) for s in order["shipping_lines"]),
                ZERO,
            )
            ship_tax = sum(
                (
                    to_decimal(t["price"])
                    for s in order["shipping_lines"]
                    for t in s["tax_lines"]
                ),
                ZERO,
            )
            done_amount, done_tax = refunded_shipping(order)
            if shipping_spec.get("full_refund"):
                amount = ship_net - done_amount
                tax = ship_tax - done_tax
            else:
                amount = q2(to_decimal(shipping_spec.get("amount", "0")))
                if amount > ship_net - done_amount:
                    raise OrderSpecError("shipping refund exceeds the shipping paid")
                tax = q2(ship_tax * amount / ship_net) if ship_net else ZERO
            if amount > 0:
                adj_id = new_id()
                adjustments.append(
                    {
                        "id": adj_id,
                        "amount": fmt(-amount),
                        "amount_set": money_set(-amount, currency),
                        "kind": "shipping_refund",
                        "order_id": order["id"],
                        "reason": "Shipping refund",
                        "refund_id": refund_id,
                        "tax_amount": fmt(-tax),
                        "tax_amount_set": money_set(-tax, currency),
                    }
                )
                money += amount + (ZERO if taxes_included else tax)
        if spec.get("amount") is not None:
            money = q2(to_decimal(spec["amount"], "amount"))
    except MoneyError as exc:
        raise OrderSpecError(str(exc)) from exc
    if not refund_lines and not adjustments and money <= 0:
        raise OrderSpecError("a refund needs lines, shipping or an amount")
    refund_transactions = []
    captured = paid_amount(transactions)
    money = min(money, max(captured, ZERO))
    if money > 0:
        parent = next(
            (
                t
                for t in transactions
                if t["kind"] in ("sale", "capture") and t["status"] == "success"
            ),
            None,
        )
        txn = sale_transaction(order, "refund", money, new_id, now, offset)
        txn["parent_id"] = parent["id"] if parent else None
        txn["message"] = f"Refunded {fmt(money)} from manual gateway"
        count = len(transactions) + 1
        txn["payment_id"] = f"{order['name']}.{count}"
        refund_transactions.append(txn)
    refund = {
        "id": refund_id,
        "admin_graphql_api_id": gid("Refund", refund_id),
        "created_at": when,
        "note": spec.get("note"),
        "order_id": order["id"],
        "processed_at": when,
        "restock": bool(restocks),
        "total_duties_set": money_set(ZERO, currency),
        "user_id": None,
        "order_adjustments": adjustments,
        "transactions": refund_transactions,
        "refund_line_items": refund_lines,
        "duties": [],
        "additional_fees": [],
        "total_additional_fees_set": money_set(ZERO, currency),
        "return": None,
    }
    return refund, restocks


def refresh_order_totals(order):
    """Recompute the ``current_*`` fields and line current quantities."""
    currency = order["currency"]
    presentment = order["presentment_currency"]
    done = refunded_quantities(order)
    refunded_subtotal = refunded_tax = refunded_discount = ZERO
    for line in order["line_items"]:
        qty = done.get(line["id"], 0)
        line["current_quantity"] = line["quantity"] - qty
        if qty:
            refunded_subtotal += prorate(line_net(line), qty, line["quantity"])
            refunded_tax += prorate(line_tax(line), qty, line["quantity"])
            discount = sum(
                (to_decimal(a["amount"]) for a in line["discount_allocations"]),
                ZERO,
            )
            refunded_discount += prorate(discount, qty, line["quantity"])
    ship_amount, ship_tax = refunded_shipping(order)
    subtotal = to_decimal(order["subtotal_price"]) - refunded_subtotal
    tax = to_decimal(order["total_tax"]) - refunded_tax - ship_tax
    discounts = to_decimal(order["total_discounts"]) - refunded_discount
    total = to_decimal(order["total_price"]) - refunded_subtotal - ship_amount
    if not order["taxes_included"]:
        total -= refunded_tax + ship_tax
    for key, value in (
        ("current_subtotal_price", subtotal),
        ("current_total_tax", tax),
        ("current_total_discounts", discounts),
        ("current_total_price", total),
    ):
        order[key] = fmt(value)
        order[key + "_set"] = money_set(value, currency, presentment)


def refund_total(refund):
    return sum(
        (
            to_decimal(t["amount"])
            for t in refund["transactions"]
            if t["kind"] == "refund"
        ),
        Decimal(0),
    )
