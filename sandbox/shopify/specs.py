"""Order specs for the control API (``POST /_control/shopify/shops/<shop>/
orders``): one builder for the connector's tests, the benchmarks and the demo.
"""


def customer(email, first_name, last_name):
    """A customer with a Belgian default address."""
    return {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "default_address": {
            "address1": "Korenmarkt 1",
            "city": "Gent",
            "zip": "9000",
            "country_code": "BE",
        },
    }


def order_spec(
    buyer,
    lines,
    *,
    tax_rate="0.21",
    discount=None,
    shipping_price="4.95",
    financial_status="paid",
    currency="EUR",
):
    """``lines``: ``(sku, quantity, price)``; every line and the standard
    shipping line taxed at ``tax_rate``; ``discount``: a fixed amount off the
    order (code TENOFF)."""
    spec = {
        "customer": buyer,
        "lines": [
            {"sku": sku, "quantity": quantity, "price": price, "tax_rate": tax_rate}
            for sku, quantity, price in lines
        ],
        "shipping": {
            "title": "Standard",
            "code": "STD",
            "price": shipping_price,
            "tax_rate": tax_rate,
        },
        "financial_status": financial_status,
        "currency": currency,
    }
    if discount:
        spec["discount"] = {"code": "TENOFF", "type": "fixed_amount", "value": discount}
    return spec
