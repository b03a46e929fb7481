"""Exact money arithmetic for the Shopify sandbox (Decimal, cent rounding)."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class MoneyError(ValueError):
    pass


def to_decimal(value, what="amount"):
    """Decimal from a string/int (floats go through str to keep their digits)."""
    if isinstance(value, Decimal):
        return value
    if value is None or isinstance(value, bool):
        raise MoneyError(f"{what}: a number is required")
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"{what}: {value!r} is not a number") from exc


def q2(value):
    """Round half up to cents."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value):
    """Money as Shopify REST writes it: a string with 2 decimals."""
    return str(q2(value))


def number(value):
    """Money as a JSON number (refund_line_items subtotal/total_tax quirk)."""
    value = q2(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def rate_str(value):
    """Discount/pricing value like Shopify's "10.0" / "12.5"."""
    value = to_decimal(value)
    if value == value.to_integral_value():
        return f"{int(value)}.0"
    return format(value.normalize(), "f")


def money_set(amount, currency, presentment_currency=None):
    text = fmt(amount)
    return {
        "shop_money": {"amount": text, "currency_code": currency},
        "presentment_money": {
            "amount": text,
            "currency_code": presentment_currency or currency,
        },
    }


def allocate(total, weights):
    """Split ``total`` over ``weights`` in cents, exactly.

    Largest-remainder method: every share is rounded down to the cent, then
    the remaining cents go to the largest fractional parts (earlier index on
    ties). 10.00 over three equal weights -> 3.34, 3.33, 3.33.
    """
    total = q2(total)
    count = len(weights)
    if count == 0:
        return []
    weights = [max(to_decimal(w), Decimal(0)) for w in weights]
    if sum(weights) == 0:
        weights = [Decimal(1)] * count
    sign = -1 if total < 0 else 1
    cents_total = int((abs(total) / CENT).to_integral_value())
    weight_sum = sum(weights)
    raw = [Decimal(cents_total) * w / weight_sum for w in weights]
    floors = [int(r.to_integral_value(rounding=ROUND_DOWN)) for r in raw]
    leftover = cents_total - sum(floors)
    order = sorted(range(count), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * Decimal(c) * CENT for c in floors]


def prorate(amount, part, whole, already=0):
    """Share of ``amount`` for ``part`` of ``whole`` units after ``already``.

    Cumulative rounding: refunding a line in several steps adds up to exactly
    the full amount.
    """
    amount = to_decimal(amount)
    if whole <= 0:
        return ZERO
    before = q2(amount * Decimal(already) / Decimal(whole))
    after = q2(amount * Decimal(already + part) / Decimal(whole))
    return after - before
