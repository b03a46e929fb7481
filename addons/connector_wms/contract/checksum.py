"""The checksum of a stock snapshot: what makes a truncated or altered
snapshot recognisable before anything of it is applied."""

import hashlib
from decimal import Decimal


def quantity_text(value):
    """A quantity as the checksum writes it: plain decimal, no exponent, no
    trailing zeros (``2``, ``2.5``, ``-1``)."""
    number = Decimal(str(value)).normalize()
    text = format(number, "f")
    return "0" if text in ("-0", "") else text


def snapshot_checksum(lines):
    """Hex SHA-256 of the snapshot's lines, in a canonical order.

    Each line is written ``sku|lot|location|quantity`` (empty for no lot or
    location, the quantity by :func:`quantity_text`); the lines are sorted
    and joined with ``\\n``. Order of the lines in the body does not matter.
    """
    rows = sorted(
        "|".join(
            (
                str(line.get("sku") or ""),
                str(line.get("lot") or ""),
                str(line.get("location") or ""),
                quantity_text(line.get("quantity") or 0),
            )
        )
        for line in lines
    )
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()
