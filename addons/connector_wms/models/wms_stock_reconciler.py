from collections import defaultdict
from decimal import Decimal

from odoo import _, models

from odoo.addons.integration_core.exceptions import BusinessRuleError, ValidationFailed

from ..contract import ContractError, parse_snapshot
from .wms_shipment_importer import _naive, qty_text

LISTED = 50  # differences written out in a desk item; the rest are counted


class WmsStockReconciler(models.AbstractModel):
    """Compares a stock snapshot of the WMS with Odoo's quants of the mapped
    warehouses, per product and lot, as of the snapshot's time, counting
    released deliveries the WMS has not confirmed yet. Where the WMS is the
    system of record for stock (the ``stock_level`` sync rule), the
    differences become one inventory adjustment per snapshot; where Odoo
    is, they are listed for a person."""

    _name = "wms.stock.reconciler"
    _description = "WMS: reconcile stock snapshots"

    def _reconcile(self, backend, message, event):
        try:
            snapshot = parse_snapshot(event, validate=False)
        except ContractError as exc:
            raise ValidationFailed(
                _(
                    "%(wms)s: %(error)s Nothing was applied.",
                    wms=backend.name,
                    error=exc.message,
                ),
                exc.problems,
            ) from exc
        warehouses = backend.wms_warehouse_ids
        if not warehouses:
            raise BusinessRuleError(
                _(
                    "%s: no warehouse is mapped to this WMS; its stock cannot be "
                    "compared.",
                    backend.name,
                )
            )
        backend._advisory_lock(
            "wms.snapshot",
            "stock",
            busy_message=_("Another snapshot is reconciled now."),
        )
        rule = backend._sync_rule("stock_level")
        wms_owns_stock = not rule or rule.system_of_record == "external"
        as_of = _naive(snapshot.as_of)
        wms_totals = snapshot.totals()
        skus = {sku for sku, _lot in wms_totals}
        products = self._products(backend, warehouses, skus)
        by_sku = {p.default_code: p for p in products}
        odoo = self._odoo_quantities(warehouses, products, as_of)
        pending = self._pending(backend, products)
        tolerance = Decimal(str(backend.wms_stock_tolerance or 0))

        rows, unknown = [], []
        wms_by_key = defaultdict(Decimal)
        for (sku, lot), quantity in wms_totals.items():
            product = by_sku.get(sku)
            if product is None:
                unknown.append((sku, lot, quantity))
                continue
            wms_by_key[(product.id, lot)] += quantity
        keys = set(wms_by_key) | set(odoo)
        product_diff = defaultdict(Decimal)
        for key in keys:
            product_diff[key[0]] += wms_by_key.get(key, Decimal(0)) - odoo.get(
                key, Decimal(0)
            )
        for key in sorted(keys, key=lambda k: (k[0], k[1] or "")):
            product_id, lot = key
            difference = wms_by_key.get(key, Decimal(0)) - odoo.get(key, Decimal(0))
            if abs(difference) <= tolerance:
                continue
            waiting = pending.get(product_id, Decimal(0))
            # shipped by the WMS, confirmation on its way: not a difference
            if (
                waiting
                and -waiting - tolerance <= product_diff[product_id] <= tolerance
            ):
                continue
            rows.append(
                (
                    key,
                    odoo.get(key, Decimal(0)),
                    wms_by_key.get(key, Decimal(0)),
                    waiting,
                    difference,
                )
            )

        Product = self.env["product.product"]
        moves = self.env["stock.move"]
        name = _("WMS snapshot %s", snapshot.snapshot_id)
        if wms_owns_stock and rows:
            moves = self._adjust(warehouses[:1].lot_stock_id, rows, Product, name)
        outcome = "adjusted" if wms_owns_stock else "exception"
        Difference = self.env["wms.stock.difference"]
        values = [
            {
                "message_id": message.id,
                "backend_id": backend.id,
                "snapshot_ref": snapshot.snapshot_id,
                "as_of": as_of,
                "product_id": product_id,
                "sku": Product.browse(product_id).default_code,
                "lot_name": lot,
                "odoo_qty": float(odoo_qty),
                "wms_qty": float(wms_qty),
                "pending_qty": float(waiting),
                "difference": float(difference),
                "outcome": outcome,
                "move_ids": [
                    (
                        6,
                        0,
                        moves.filtered(
                            lambda m, p=product_id: m.product_id.id == p
                        ).ids,
                    )
                ],
            }
            for (product_id, lot), odoo_qty, wms_qty, waiting, difference in rows
        ] + [
            {
                "message_id": message.id,
                "backend_id": backend.id,
                "snapshot_ref": snapshot.snapshot_id,
                "as_of": as_of,
                "sku": sku,
                "lot_name": lot,
                "wms_qty": float(quantity),
                "difference": float(quantity),
                "outcome": "unknown",
            }
            for sku, lot, quantity in unknown
        ]
        differences = Difference.create(values) if values else Difference
        problem = self._problem(
            backend, snapshot, rows, unknown, wms_owns_stock, Product
        )
        return {"records": differences[:1] or False, "business_exception": problem}

    # -- Odoo's side -------------------------------------------------------------------
    def _products(self, backend, warehouses, skus):
        """The products of the snapshot, and those Odoo holds in the mapped
        warehouses (stock the WMS does not list is a difference too)."""
        # (``_read_group``, not ``read_group``: no display name of every
        # product and lot, which cost more than the comparison itself)
        Product = self.env["product.product"].with_context(active_test=False)
        held = self.env["stock.quant"]._read_group(
            [
                ("location_id", "child_of", warehouses.lot_stock_id.ids),
                ("quantity", "!=", 0),
            ],
            [],
            ["product_id:array_agg"],
        )[0][0]
        return Product.search(
            [
                ("default_code", "!=", False),
                "|",
                ("default_code", "in", list(skus)),
                ("id", "in", list(set(held or ()))),
            ]
        )

    def _odoo_quantities(self, warehouses, products, as_of):
        """``{(product id, lot name): quantity}`` in the warehouses' stock as
        of ``as_of``: today's quants, less what came in since, plus what left."""
        # The products are kept in Python, not as ``product_id in [...]`` in
        # the queries: PostgreSQL compared every quant with every id of that
        # list, which made the reconciliation grow with the square of the
        # snapshot (10,000 lines took 16x the time of 1,000).
        wanted = set(products.ids)
        locations = warehouses.lot_stock_id.ids
        result = defaultdict(Decimal)
        # (ordered by the sum: ordering by the groups would join products,
        # templates and lots only to sort them by name, for nothing)
        rows = self.env["stock.quant"]._read_group(
            [("location_id", "child_of", locations)],
            ["product_id", "lot_id"],
            ["quantity:sum"],
            order="quantity:sum",
        )
        # the lots' names alone, in one query (not every field of the lots)
        self.env["stock.lot"].browse({lot.id for _p, lot, _q in rows if lot}).fetch(
            ["name"]
        )
        for product, lot, quantity in rows:
            if product.id in wanted:
                result[(product.id, lot.name or None)] += Decimal(str(quantity))
        MoveLine = self.env["stock.move.line"]
        tree = self.env["stock.location"].search([("id", "child_of", locations)]).ids
        inside = [("location_dest_id", "in", tree), ("location_id", "not in", tree)]
        outside = [("location_id", "in", tree), ("location_dest_id", "not in", tree)]
        since = [("state", "=", "done"), ("date", ">", as_of)]
        for domain, sign in ((inside, -1), (outside, 1)):
            for product, lot, quantity in MoveLine._read_group(
                since + domain,
                ["product_id", "lot_id"],
                ["quantity_product_uom:sum"],
            ):
                if product.id in wanted:
                    result[(product.id, lot.name or None)] += sign * Decimal(
                        str(quantity)
                    )
        return {key: value for key, value in result.items() if value}

    def _pending(self, backend, products):
        """``{product id: quantity}`` on deliveries released to the WMS and not
        confirmed: the WMS may have shipped them already."""
        wanted = set(products.ids)
        result = {}
        for product, quantity in self.env["stock.move"]._read_group(
            [
                ("picking_id.wms_backend_id", "=", backend.id),
                (
                    "picking_id.wms_state",
                    "in",
                    ("released", "acknowledged", "cancel_requested"),
                ),
                ("state", "not in", ("done", "cancel")),
            ],
            ["product_id"],
            ["product_qty:sum"],
        ):
            if product.id in wanted:
                result[product.id] = Decimal(str(quantity))
        return result

    def _adjust(self, location, rows, Product, name):
        """One inventory adjustment: every difference applied to the
        warehouse's stock location, moves named after the snapshot."""
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        quants = Quant.browse()
        for (product_id, lot_name), _odoo_qty, _wms_qty, _waiting, difference in rows:
            product = Product.browse(product_id)
            lot = self.env["stock.lot"]
            if lot_name:
                lot = self.env["wms.confirmation.mixin"]._lot(
                    product, location.company_id, lot_name
                )
            quant = Quant._gather(product, location, lot_id=lot, strict=True)[:1]
            if not quant:
                quant = Quant.create(
                    {
                        "product_id": product.id,
                        "location_id": location.id,
                        "lot_id": lot.id or False,
                    }
                )
            quant.inventory_quantity = quant.quantity + float(difference)
            quants |= quant
        quants.with_context(inventory_name=name)._apply_inventory()
        return self.env["stock.move"].search(
            [("is_inventory", "=", True), ("reference", "=like", f"{name}%")]
        )

    def _problem(self, backend, snapshot, rows, unknown, wms_owns_stock, Product):
        if not unknown and (wms_owns_stock or not rows):
            return False
        lines = []
        if rows and not wms_owns_stock:
            lines.append(
                _(
                    "WMS stock snapshot %(id)s: %(count)s difference(s) with "
                    "Odoo, which "
                    "is the system of record for stock (nothing was adjusted).",
                    id=snapshot.snapshot_id,
                    count=len(rows),
                )
            )
            for (product_id, lot), odoo_qty, wms_qty, waiting, _diff in rows[:LISTED]:
                product = Product.browse(product_id)
                lines.append(
                    _(
                        "- SKU '%(sku)s'%(lot)s: Odoo %(odoo)s, WMS %(wms)s%(pending)s",
                        sku=product.default_code,
                        lot=_(" lot %s", lot) if lot else "",
                        odoo=qty_text(odoo_qty),
                        wms=qty_text(wms_qty),
                        pending=_(" (%s on released deliveries)", qty_text(waiting))
                        if waiting
                        else "",
                    )
                )
            if len(rows) > LISTED:
                lines.append(
                    _("... and %s more (see Stock differences).", len(rows) - LISTED)
                )
        if unknown:
            if not lines:
                lines.append(
                    _(
                        "WMS stock snapshot %(id)s: %(count)s SKU(s) unknown to Odoo.",
                        id=snapshot.snapshot_id,
                        count=len(unknown),
                    )
                )
            for sku, lot, quantity in unknown[:LISTED]:
                lines.append(
                    _(
                        "- SKU '%(sku)s'%(lot)s: WMS %(wms)s, no product has this "
                        "internal "
                        "reference",
                        sku=sku,
                        lot=_(" lot %s", lot) if lot else "",
                        wms=qty_text(quantity),
                    )
                )
        return "\n".join(lines)
