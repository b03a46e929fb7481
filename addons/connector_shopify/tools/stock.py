"""Stock levels out: what changed since the last export, in batches."""


def plan_changes(targets, known):
    """Quantities to send: ``targets`` ``{key: quantity}`` (Odoo's available
    quantity per product and Shopify location), ``known`` ``{key: quantity or
    None}`` (what Shopify holds as far as we know). Returns ``[(key,
    quantity, previous)]`` for every key whose quantity differs or is unknown,
    in key order; ``previous`` is the compare-and-swap guard."""
    changes = []
    for key in sorted(targets):
        quantity = max(int(targets[key]), 0)
        previous = known.get(key)
        if previous is None or int(previous) != quantity:
            changes.append((key, quantity, previous))
    return changes


def sellable_quantity(on_hand, reserved):
    """What Shopify may sell: Odoo's free quantity, never negative, whole."""
    return max(int(on_hand - reserved), 0)
