"""Money as Shopify sends it, kept exact with ``Decimal``.

Shopify sends amounts as strings ("199.00") with a ``*_set`` twin holding the
shop and presentment money; a few are JSON numbers (refund line subtotals,
tax rates). Floats never enter a computation here.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")


def to_decimal(value, default=ZERO):
    """``Decimal`` of a string, int or float (via its shortest repr)."""
    if value is None or value == "":
        return default
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def cents(value):
    """Round half up to the cent, as Shopify does."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def shop_amount(obj, key):
    """The shop-money amount of ``obj[key]``: ``<key>_set.shop_money`` when
    present (what accounting uses), else the plain field."""
    money_set = obj.get(f"{key}_set")
    if isinstance(money_set, dict):
        shop_money = money_set.get("shop_money") or {}
        if shop_money.get("amount") not in (None, ""):
            return to_decimal(shop_money["amount"])
    return to_decimal(obj.get(key))


def fmt(value):
    """``"12.30"``: an amount for people and for logs."""
    return f"{cents(value):.2f}"


def exact_discount_percent(price_unit, quantity, net, digits=2, rounder=None):
    """A discount percentage with ``digits`` decimals that turns
    ``price_unit * quantity`` into exactly ``net`` once rounded to the cent,
    the way Odoo computes a line (price * (1 - d/100) * qty, then rounded);
    ``None`` when no percentage at that precision hits the cent.

    Between ``net - 0.005`` and ``net + 0.005`` lies a band of percentages
    ``100 / gross`` wide: below a gross of 100 there is always a two-decimal
    percentage in it, above it only sometimes. ``rounder`` rounds a float
    subtotal to the cent (Odoo passes its currency's rounding).
    """
    rounder = rounder or _round_half_up
    price_unit, quantity, net = (
        to_decimal(price_unit),
        to_decimal(quantity),
        cents(net),
    )
    gross = price_unit * quantity
    if gross <= 0:
        return None
    if net == cents(gross):
        return ZERO
    step = Decimal(1).scaleb(-digits)
    ideal = (1 - net / gross) * 100
    if ideal < 0 or ideal > 100:
        return None
    base = ideal.quantize(step)
    for offset in (0, -1, 1, -2, 2):
        candidate = base + offset * step
        if candidate < 0 or candidate > 100:
            continue
        subtotal = float(price_unit) * (1 - float(candidate) / 100.0) * float(quantity)
        if cents(rounder(subtotal)) == net:
            return candidate
    return None


def _round_half_up(value):
    """A float rounded to the cent half up, through its shortest repr."""
    return cents(Decimal(repr(value)))
