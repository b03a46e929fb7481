import logging
from collections import defaultdict
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare

from odoo.addons.integration_core.exceptions import SkipMessage

from ..tools.money import ZERO, cents, exact_discount_percent, fmt, to_decimal
from ..tools.refund_mapping import RefundDataError, parse_refund, refund_figures
from .shopify_order_importer import QUIET

_logger = logging.getLogger(__name__)
# Shopify's prorated refund tax and Odoo's recomputed one may differ by
# rounding: up to this much the credit note takes Shopify's figure.
MAX_TAX_ALIGNMENT = Decimal("0.05")


class ShopifyRefundImporter(models.AbstractModel):
    """Applies a Shopify refund once: a credit note for the refunded lines
    and shipping (linked to the sale lines, so that Odoo's invoiced
    quantities follow), fewer units to ship for refunded units not shipped
    yet, and a return for units restocked after delivery."""

    _name = "shopify.refund.importer"
    _description = "Shopify refund import"

    @api.model
    def _import_refund_message(self, backend, message, data):
        Importer = self.env["shopify.order.importer"]
        refund = Importer._read_payload(
            backend, parse_refund, RefundDataError, data, _("refund")
        )
        Importer._lock_order(backend, refund["order_id"])
        existing = self._find(backend, refund["id"])
        if existing:
            raise SkipMessage(_("Shopify refund %s is already applied.", refund["id"]))
        sale = self.env["integration.binding"]._find(
            backend, "sale.order", refund["order_id"]
        )
        notes = []
        if not sale:
            # The refund came before its order: read the order (which lists
            # this refund) and import it whole.
            response = backend._shopify_request(
                "GET", f"orders/{refund['order_id']}.json", "shopify.order.fetch"
            )
            result = Importer._import_order(backend, message, response.json()["order"])
            if isinstance(result, dict):
                sale = result["records"]
                notes.append(result.get("business_exception"))
            else:
                sale = result
        record = self._find(backend, refund["id"])
        if not record:
            record, note = self._apply_refund(
                backend, sale, data, sale.shopify_taxes_included
            )
            notes.append(note)
        notes = [n for n in notes if n]
        records = record.credit_note_id or sale
        if notes:
            return {"records": records, "business_exception": "\n".join(notes)}
        return records

    def _find(self, backend, refund_id):
        return self.env["shopify.refund"].search(
            [("backend_id", "=", backend.id), ("shopify_id", "=", str(refund_id))],
            limit=1,
        )

    # ------------------------------------------------------------------
    # Apply
    # ------------------------------------------------------------------
    def _apply_refund(
        self, backend, sale, refund_data, taxes_included, order_cancelled=False
    ):
        """``(shopify.refund, note or None)``; nothing happens twice.
        ``order_cancelled``: the refund comes with the order's cancellation,
        which Odoo has asked for (and may still wait on: a delivery at the
        WMS is cancelled in two phases)."""
        try:
            refund = parse_refund(refund_data)
        except (RefundDataError, ValueError, TypeError) as exc:
            return self.env["shopify.refund"], _(
                "A Shopify refund of order %(order)s cannot be read: %(error)s",
                order=sale.client_order_ref,
                error=exc,
            )
        record = self._find(backend, refund["id"])
        if record:
            return record, None
        values = {
            "backend_id": backend.id,
            "shopify_id": refund["id"],
            "sale_order_id": sale.id,
            "currency_id": sale.currency_id.id,
            "amount": float(refund["refunded_amount"]),
            "refunded_at": refund["created_at"],
        }
        invoiced = sale.invoice_ids.filtered(lambda m: m.state == "posted")
        label = _(
            "Shopify refund %(refund)s of order %(order)s",
            refund=refund["id"],
            order=sale.client_order_ref,
        )
        # a cancel asked and still waiting (a delivery at the WMS) covers every
        # unit: cancelled when confirmed, shipped (a desk item) when refused
        if (sale.state == "cancel" or order_cancelled) and not invoiced:
            values.update(
                outcome="no_credit",
                note=_("The order was cancelled before it was invoiced."),
            )
            return self.env["shopify.refund"].create(values), None
        if sale.state != "sale":
            note = _(
                "%(label)s: the Odoo order %(order)s is not confirmed; nothing "
                "was credited. Review the quotation.",
                label=label,
                order=sale.name,
            )
            values.update(outcome="review", note=note)
            return self.env["shopify.refund"].create(values), note
        notes = []
        notes += self._reduce_unshipped(sale, refund)
        returns, return_notes = self._return_shipped(sale, refund)
        notes += return_notes
        credit, credit_notes = self._credit_note(
            backend, sale, refund, taxes_included, label
        )
        notes += credit_notes
        values.update(
            credit_note_id=credit.id,
            return_picking_ids=[(6, 0, returns.ids)],
            outcome="review" if notes else "credited",
            note="\n".join(notes) or False,
        )
        record = self.env["shopify.refund"].create(values)
        return record, "\n".join(f"{label}: {n}" for n in notes) or None

    def _sale_line(self, sale, line_item_id):
        return sale.order_line.filtered(
            lambda line: line.shopify_line_id == line_item_id
        )[:1]

    def _reduce_unshipped(self, sale, refund):
        """Refunded units Odoo has not shipped yet are not to be shipped."""
        notes = []
        wanted = defaultdict(float)
        for line in refund["lines"]:
            if line["restock_type"] == "return":
                continue  # refunded after delivery: a return, not fewer units
            sale_line = self._sale_line(sale, line["line_item_id"])
            if sale_line:
                wanted[sale_line] += line["quantity"]
        for sale_line, quantity in wanted.items():
            unshipped = sale_line.product_uom_qty - sale_line.qty_delivered
            reduce = min(quantity, max(unshipped, 0))
            if reduce <= 0:
                continue
            try:
                with self.env.cr.savepoint():
                    locked = sale.locked
                    if locked:
                        sale.action_unlock()
                    sale_line.with_context(**QUIET).product_uom_qty = (
                        sale_line.product_uom_qty - reduce
                    )
                    if locked:
                        sale.action_lock()
            except (UserError, ValidationError) as exc:
                notes.append(
                    _(
                        "%(qty)s x %(product)s refunded before shipping could not be "
                        "removed from the order: %(error)s",
                        qty=reduce,
                        product=sale_line.product_id.display_name,
                        error=exc.args[0] if exc.args else exc,
                    )
                )
        return notes

    def _return_shipped(self, sale, refund):
        """A return (to be received by the warehouse) of the units Shopify
        restocked as returned, from the deliveries that shipped them."""
        Picking = self.env["stock.picking"]
        per_picking = defaultdict(lambda: defaultdict(float))
        notes = []
        for line in refund["lines"]:
            if line["restock_type"] not in ("return", "legacy_restock"):
                continue
            sale_line = self._sale_line(sale, line["line_item_id"])
            if not sale_line or sale_line.product_id.type != "product":
                continue
            remaining = float(line["quantity"])
            moves = sale_line.move_ids.filtered(
                lambda m: (
                    m.state == "done"
                    and m.picking_code == "outgoing"
                    and m.location_dest_id.usage == "customer"
                )
            ).sorted("date", reverse=True)
            for move in moves:
                returned = sum(
                    m.quantity for m in move.returned_move_ids if m.state != "cancel"
                )
                free = move.quantity - returned - per_picking[move.picking_id][move]
                take = min(free, remaining)
                if take > 0:
                    per_picking[move.picking_id][move] += take
                    remaining -= take
                if remaining <= 0:
                    break
            if remaining > 0 and line["restock_type"] == "return":
                notes.append(
                    _(
                        "%(qty)s x %(product)s returned in Shopify were never shipped "
                        "by Odoo: no return made for them.",
                        qty=remaining,
                        product=sale_line.product_id.display_name,
                    )
                )
        returns = Picking
        for picking, quantities in per_picking.items():
            try:
                with self.env.cr.savepoint():
                    wizard = (
                        self.env["stock.return.picking"]
                        .with_context(
                            active_id=picking.id, active_model="stock.picking"
                        )
                        .create({"picking_id": picking.id})
                    )
                    for return_line in wizard.product_return_moves:
                        return_line.quantity = quantities.get(return_line.move_id, 0.0)
                        if "to_refund" in return_line._fields:
                            return_line.to_refund = True
                    new_id, _type = wizard._create_returns()
                    returns |= Picking.browse(new_id)
            except (UserError, ValidationError) as exc:
                notes.append(
                    _(
                        "the return from %(picking)s could not be created: %(error)s",
                        picking=picking.name,
                        error=exc.args[0] if exc.args else exc,
                    )
                )
        return returns, notes

    def _credit_note(self, backend, sale, refund, taxes_included, label):
        """The credit note of the refund, posted when its total is the
        refund's to the cent (else left in draft with the reason)."""
        lines, notes = [], []
        for line in refund["lines"]:
            sale_line = self._sale_line(sale, line["line_item_id"])
            if not sale_line:
                notes.append(
                    _(
                        "line item %(line)s (%(sku)s) is not on the Odoo order",
                        line=line["line_item_id"],
                        sku=line["sku"] or "-",
                    )
                )
                continue
            vals = sale_line._prepare_invoice_line(quantity=line["quantity"])
            vals.update(
                self._exact_price(sale_line, line["quantity"], line["subtotal"])
            )
            lines.append(vals)
        delivery = sale.order_line.filtered("is_delivery")[:1]
        for shipping in refund["shipping"]:
            if shipping["amount"] <= ZERO:
                continue
            product = delivery.product_id or backend.shopify_shipping_product_id
            lines.append(
                {
                    "product_id": product.id,
                    "name": _("Shipping refund"),
                    "quantity": 1,
                    "price_unit": float(shipping["amount"]),
                    "tax_ids": [(6, 0, delivery.tax_id.ids)],
                }
            )
        for adjustment in refund["adjustments"]:
            if adjustment["amount"] == ZERO:
                continue
            lines.append(
                {
                    "product_id": backend.shopify_discount_product_id.id,
                    "name": adjustment["reason"] or adjustment["kind"],
                    "quantity": 1,
                    "price_unit": float(adjustment["amount"]),
                    "tax_ids": [(5, 0, 0)],
                }
            )
        if not lines:
            return self.env["account.move"], notes
        values = sale._prepare_invoice()
        values.update(
            move_type="out_refund",
            ref=label,
            invoice_date=(refund["created_at"] or fields.Datetime.now()).date(),
            invoice_line_ids=[(0, 0, vals) for vals in lines],
            integration_correlation_id=sale.integration_correlation_id,
        )
        values.pop("payment_reference", None)
        credit = (
            self.env["account.move"]
            .with_company(sale.company_id)
            .with_context(default_move_type="out_refund", **QUIET)
            .create(values)
        )
        figures = refund_figures(refund, taxes_included)
        expected = figures["total"]
        self._align_tax(credit, figures["tax"])
        if cents(to_decimal(credit.amount_total)) != cents(expected):
            notes.append(
                _(
                    "the credit note %(move)s makes %(odoo)s but the refunded lines "
                    "and shipping make %(shopify)s (difference %(diff)s): left in "
                    "draft",
                    move=credit.name or credit.id,
                    odoo=fmt(to_decimal(credit.amount_total)),
                    shopify=fmt(expected),
                    diff=fmt(to_decimal(credit.amount_total) - expected),
                )
            )
        elif not notes:
            try:
                with self.env.cr.savepoint():
                    credit.action_post()
            except (UserError, ValidationError) as exc:
                notes.append(
                    _(
                        "the credit note could not be posted: %(error)s",
                        error=exc.args[0] if exc.args else exc,
                    )
                )
        refunded = refund["refunded_amount"]
        if refunded and cents(refunded) != cents(expected):
            notes.append(
                _(
                    "Shopify paid back %(paid)s while the refunded lines and "
                    "shipping make %(lines)s",
                    paid=fmt(refunded),
                    lines=fmt(expected),
                )
            )
        return credit, notes

    def _align_tax(self, credit, shopify_tax):
        """Shopify refunds a share of the tax it charged on the line, which
        may differ by a cent from the tax Odoo computes on the refunded
        amount: the credit note books Shopify's figure (what was paid back),
        as a person would in the tax totals. Larger differences are left
        for a person."""
        delta = cents(shopify_tax) - cents(to_decimal(credit.amount_tax))
        if not delta or abs(delta) > MAX_TAX_ALIGNMENT:
            return
        totals = credit.tax_totals
        groups = [
            group
            for subtotal_groups in totals["groups_by_subtotal"].values()
            for group in subtotal_groups
        ]
        if not groups:
            return
        group = max(groups, key=lambda g: abs(g["tax_group_amount"]))
        group["tax_group_amount"] += float(delta)
        credit.tax_totals = totals

    def _exact_price(self, sale_line, quantity, subtotal):
        """price_unit and discount of a credit line worth ``subtotal``."""
        currency = sale_line.currency_id
        digits = self.env["decimal.precision"].precision_get("Discount")
        price = to_decimal(sale_line.price_unit)
        percent = exact_discount_percent(
            price, quantity, subtotal, digits, rounder=currency.round
        )
        if percent is not None:
            return {"price_unit": float(price), "discount": float(percent)}
        unit = subtotal / quantity
        if float_compare(float(cents(unit)) * quantity, float(subtotal), 2) == 0:
            return {"price_unit": float(cents(unit)), "discount": 0.0}
        # no exact unit price: one line of the whole amount
        return {"price_unit": float(subtotal) / quantity, "discount": 0.0}
