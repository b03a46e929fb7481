import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from odoo.addons.integration_core.exceptions import (
    MappingError,
    SkipMessage,
    ValidationFailed,
)

from ..tools.money import ZERO, exact_discount_percent, fmt, to_decimal
from ..tools.order_mapping import (
    OrderDataError,
    explain_total_difference,
    parse_order,
    tax_code,
)

_logger = logging.getLogger(__name__)

PAID = {"paid", "partially_refunded"}
AUTHORIZED = PAID | {"authorized", "partially_paid"}
# Quiet document creation: no chatter per order on the hot path.
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}


class ShopifyOrderImporter(models.AbstractModel):
    """Applies a Shopify order (any topic, or polled) to its Odoo sale order.

    The order's whole state is applied, so that deliveries may come in any
    order: the first version seen creates the order, a newer one updates it
    (or cancels it), an older or equal one is skipped. Refunds listed in the
    order are applied too (each once).
    """

    _name = "shopify.order.importer"
    _description = "Shopify order import"

    # ------------------------------------------------------------------
    # Entry point
    # ------------------------------------------------------------------
    @api.model
    def _read_payload(self, backend, parse, data_error, data, what):
        """``parse(data)``, or a validation error naming the backend and the
        record (``what``: "order", "refund")."""
        try:
            return parse(data)
        except (data_error, ValueError, TypeError) as exc:
            data = data if isinstance(data, dict) else {}
            raise ValidationFailed(
                _(
                    "%(backend)s: Shopify %(what)s %(ref)s cannot be read: %(error)s",
                    backend=backend.name,
                    what=what,
                    ref=data.get("name") or data.get("id") or "",
                    error=exc,
                )
            ) from exc

    @api.model
    def _import_order(self, backend, message, data):
        order = self._read_payload(
            backend, parse_order, OrderDataError, data, _("order")
        )
        self._lock_order(backend, order["id"])
        Binding = self.env["integration.binding"]
        binding = Binding._bindings_by_external_id(
            backend, "sale.order", [order["id"]]
        ).get(str(order["id"]))
        sale = binding._record() if binding else None
        if sale:
            same_version = backend._skip_if_stale(
                binding, order["updated_at"], _("Shopify order %s", order["name"])
            )
            if same_version and order["digest"] == sale.shopify_digest:
                raise SkipMessage(
                    _(
                        "Shopify order %(name)s: version %(version)s is already "
                        "applied.",
                        name=order["name"],
                        version=order["updated_at"],
                    )
                )
        if sale:
            notes = self._update_order(backend, sale, order)
            Binding._bind(
                backend, sale, order["id"], external_updated_at=order["updated_at"]
            )
        else:
            sale, notes = self._create_order(backend, order, message)
        notes += self._apply_refunds(backend, sale, order)
        notes = [n for n in notes if n]
        if notes:
            return {"records": sale, "business_exception": "\n".join(notes)}
        return sale

    def _lock_order(self, backend, order_id):
        """One transaction at a time per Shopify order (its order and refund
        messages): another worker busy with it makes this message retry."""
        backend._advisory_lock(
            "shopify.order",
            order_id,
            _("Shopify order %s is being processed by another job.", order_id),
            retry_after=2,
        )

    # ------------------------------------------------------------------
    # Create / update
    # ------------------------------------------------------------------
    def _create_order(self, backend, order, message):
        company = backend.company_id
        env = self.with_company(company).with_context(**QUIET).env
        pricelist = self._pricelist(backend, order)
        partner, invoice, shipping = self._partners(backend, order)
        lines, carrier = self._order_lines(backend, order, pricelist.currency_id)
        values = {
            "partner_id": partner.id,
            "partner_invoice_id": invoice.id,
            "partner_shipping_id": shipping.id,
            "company_id": company.id,
            "client_order_ref": order["name"],
            "origin": f"Shopify {order['name']}",
            "date_order": order["created_at"] or fields.Datetime.now(),
            "pricelist_id": pricelist.id,
            "warehouse_id": self._warehouse(backend, order).id,
            "order_line": [(0, 0, line) for line in lines],
            "shopify_backend_id": backend.id,
            "shopify_order_id": str(order["id"]),
            "shopify_financial_status": order["financial_status"],
            "shopify_taxes_included": order["taxes_included"],
            "shopify_digest": order["digest"],
            "integration_correlation_id": message.correlation_id,
        }
        if carrier:
            values["carrier_id"] = carrier.id
        # Another transaction binding this order meanwhile fails the binding's
        # unique key: the core retries the message once, as an update.
        sale = env["sale.order"].create(values)
        self.env["integration.binding"]._bind(
            backend, sale, order["id"], external_updated_at=order["updated_at"]
        )
        if order["note"]:
            sale.with_context(mail_notrack=True).message_post(
                body=_("Shopify note: %s", order["note"])
            )
        if order["cancelled_at"]:
            return sale, [self._cancel(sale, order)]
        return sale, [self._check_and_confirm(backend, sale, order)]

    def _update_order(self, backend, sale, order):
        notes = []
        sale.with_context(**QUIET).write(
            {
                "shopify_financial_status": order["financial_status"],
                "shopify_digest": order["digest"],
            }
        )
        if order["cancelled_at"]:
            return [self._cancel(sale, order)]
        if sale.state in ("draft", "sent"):
            if self._lines_changed(sale, order) or self._total_differs(sale, order):
                self._replace_lines(backend, sale, order)
            notes.append(self._check_and_confirm(backend, sale, order))
        elif sale.state == "sale":
            notes.append(self._edited_after_confirmation(sale, order))
        elif sale.state == "cancel":
            notes.append(
                _(
                    "Shopify order %(name)s is open in Shopify but cancelled in "
                    "Odoo (%(order)s): the update was not applied.",
                    name=order["name"],
                    order=sale.name,
                )
            )
        return notes

    def _lines_changed(self, sale, order):
        current = {
            (line.shopify_line_id, line.product_uom_qty)
            for line in sale.order_line
            if line.shopify_line_id
        }
        wanted = {(line["id"], line["quantity"]) for line in order["lines"]}
        return current != wanted

    def _total_differs(self, sale, order):
        return sale.currency_id.compare_amounts(
            sale.amount_total, float(order["total_price"])
        )

    def _replace_lines(self, backend, sale, order):
        lines, carrier = self._order_lines(backend, order, sale.currency_id)
        commands = [(5, 0, 0)] + [(0, 0, line) for line in lines]
        values = {"order_line": commands}
        if carrier:
            values["carrier_id"] = carrier.id
        sale.with_context(**QUIET).write(values)

    def _edited_after_confirmation(self, sale, order):
        known = {line.shopify_line_id: line for line in sale.order_line}
        changes = []
        for line in order["lines"]:
            odoo_line = known.get(line["id"])
            if odoo_line is None and line["quantity"] > 0:
                changes.append(_("new line %s", line["sku"] or line["title"]))
            elif odoo_line and line["current_quantity"] > odoo_line.product_uom_qty:
                # more than Odoo ships (refunded units are fewer on both sides)
                changes.append(
                    _(
                        "%(item)s quantity %(old)s -> %(new)s",
                        item=line["sku"] or line["title"],
                        old=odoo_line.product_uom_qty,
                        new=line["current_quantity"],
                    )
                )
        if not changes:
            return None
        return _(
            "Shopify order %(name)s was edited after Odoo confirmed %(order)s "
            "(%(changes)s): adjust the Odoo order by hand.",
            name=order["name"],
            order=sale.name,
            changes=", ".join(changes),
        )

    # ------------------------------------------------------------------
    # Totals, confirmation, cancellation
    # ------------------------------------------------------------------
    def _check_and_confirm(self, backend, sale, order):
        """Confirm per the backend's policy, but only an order whose total
        is Shopify's to the cent; otherwise say by how much and why."""
        problem = explain_total_difference(
            order,
            to_decimal(sale.amount_untaxed),
            to_decimal(sale.amount_tax),
            to_decimal(sale.amount_total),
        )
        if problem:
            return problem
        if not self._should_confirm(backend, order["financial_status"]):
            return None
        try:
            with self.env.cr.savepoint():
                sale.with_context(**QUIET).action_confirm()
                # Odoo makes the deliveries in a clean context (without the
                # handler's default correlation id): they carry the order's
                sale.picking_ids.filtered(
                    lambda p: not p.integration_correlation_id
                ).integration_correlation_id = sale.integration_correlation_id
        except (UserError, ValidationError) as exc:
            return _(
                "Shopify order %(name)s could not be confirmed: %(error)s",
                name=order["name"],
                error=exc.args[0] if exc.args else exc,
            )
        return None

    @api.model
    def _should_confirm(self, backend, financial_status):
        policy = backend.shopify_confirm_policy or "authorized"
        if policy == "never":
            return False
        if policy == "always":
            return True
        allowed = PAID if policy == "paid" else AUTHORIZED
        return financial_status in allowed

    def _cancel(self, sale, order):
        """Cancel while nothing is shipped; after that it is for a person."""
        if sale.state == "cancel":
            return None
        shipped = sale.picking_ids.filtered(
            lambda p: p.state == "done" and p.picking_type_code == "outgoing"
        )
        if shipped:
            return _(
                "Shopify order %(name)s was cancelled in Shopify (%(reason)s) but "
                "Odoo already shipped it (%(pickings)s): the order is not "
                "cancelled; arrange the return and refund by hand.",
                name=order["name"],
                reason=order["cancel_reason"] or _("no reason given"),
                pickings=", ".join(shipped.mapped("name")),
            )
        try:
            with self.env.cr.savepoint():
                if sale.locked:
                    sale.action_unlock()
                sale.with_context(disable_cancel_warning=True).action_cancel()
        except (UserError, ValidationError) as exc:
            return _(
                "Shopify order %(name)s was cancelled in Shopify but Odoo refused "
                "to cancel %(order)s: %(error)s",
                name=order["name"],
                order=sale.name,
                error=exc.args[0] if exc.args else exc,
            )
        return None

    def _apply_refunds(self, backend, sale, order):
        notes = []
        Refunds = self.env["shopify.refund.importer"]
        for refund_data in order["refunds"]:
            _record, note = Refunds._apply_refund(
                backend,
                sale,
                refund_data,
                order["taxes_included"],
                order_cancelled=bool(order["cancelled_at"]),
            )
            notes.append(note)
        return notes

    # ------------------------------------------------------------------
    # Partners
    # ------------------------------------------------------------------
    def _partners(self, backend, order):
        """(customer, invoice address, delivery address): the core's
        resolver finds or creates the customer and its child addresses."""
        partner = self._customer(backend, order)
        shipping = order["shipping_address"] or order["billing_address"]
        invoice, delivery = self.env["integration.partner.resolver"]._addresses(
            partner,
            [
                (
                    "invoice",
                    order["billing_address"]
                    and self._address_values(order["billing_address"]),
                ),
                ("delivery", shipping and self._address_values(shipping)),
            ],
        )
        return partner, invoice, delivery

    def _customer(self, backend, order):
        """By binding of the Shopify customer, else by email, else created
        (the core's resolver): a returning customer never becomes a second
        partner. Shopify's web data (name, email, phone) is written where the
        partner sync rule lets Shopify write it."""
        customer = order["customer"]
        address = (
            customer["default_address"]
            or order["billing_address"]
            or order["shipping_address"]
        )
        name = (
            customer["name"]
            or (address or {}).get("name")
            or customer["email"]
            or _("Shopify customer %s", customer["id"] or order["name"])
        )
        create_values = {
            "name": name,
            "email": customer["email"] or False,
            "phone": customer["phone"] or (address or {}).get("phone") or False,
            "customer_rank": 1,
        }
        if address:
            create_values.update(self._address_values(address, with_name=False))
        return self.env["integration.partner.resolver"]._resolve(
            backend,
            customer["id"],
            {key: customer[key] for key in ("name", "email", "phone") if customer[key]},
            email=customer["email"],
            create_values=create_values,
        )

    def _address_values(self, address, with_name=True):
        Country = self.env["res.country"]
        country = (
            Country.browse(self._country_id(address["country_code"]))
            if address["country_code"]
            else Country
        )
        state = self.env["res.country.state"]
        if country and address["state_code"]:
            state = state.search(
                [("country_id", "=", country.id), ("code", "=", address["state_code"])],
                limit=1,
            )
        values = {
            "street": address["street"] or False,
            "street2": address["street2"] or False,
            "city": address["city"] or False,
            "zip": address["zip"] or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
        }
        if with_name:
            values["name"] = address["name"] or address["company"] or False
            if address["phone"]:
                values["phone"] = address["phone"]
        return values

    @api.model
    @tools.ormcache("code")
    def _country_id(self, code):
        return self.env["res.country"].search([("code", "=", code)], limit=1).id

    # ------------------------------------------------------------------
    # Lines
    # ------------------------------------------------------------------
    def _order_lines(self, backend, order, currency):
        """Values of the order lines and the delivery carrier (if mapped).
        Every SKU must resolve, else nothing is created."""
        tax_cache, values, missing = {}, [], []
        bound = self._bound_products(backend, [line["sku"] for line in order["lines"]])
        sequence = 10
        for line in order["lines"]:
            if line["quantity"] <= 0:
                continue
            product = bound.get(line["sku"]) or self._product(backend, line)
            if not product:
                missing.append(line["sku"])
                continue
            taxes = self._taxes(backend, order, line["taxes"], tax_cache)
            vals = {
                "sequence": sequence,
                "product_id": product.id,
                "product_uom_qty": line["quantity"],
                "price_unit": float(line["price"]),
                "discount": 0.0,
                "tax_id": [(6, 0, taxes.ids)],
                "shopify_line_id": line["id"],
            }
            if not line["sku"] or product == backend.shopify_custom_product_id:
                vals["name"] = line["title"]
            values.append(vals)
            sequence += 1
            extra = self._apply_discount(backend, vals, line, currency)
            if extra:
                extra["sequence"] = sequence
                values.append(extra)
                sequence += 1
        if missing:
            self._raise_unmapped(backend, order, missing)
        carrier = self.env["delivery.carrier"]
        for shipping in order["shipping_lines"]:
            mapped = self._carrier(backend, shipping)
            carrier = carrier or mapped
            product = (
                mapped.product_id if mapped else backend.shopify_shipping_product_id
            )
            if not product:
                raise MappingError(
                    backend.name,
                    "carrier_service",
                    shipping["code"] or shipping["title"],
                    message=_(
                        "Shopify order %(name)s: shipping '%(title)s' has no carrier "
                        "and the backend has no shipping product.",
                        name=order["name"],
                        title=shipping["title"],
                    ),
                )
            taxes = self._taxes(backend, order, shipping["taxes"], tax_cache)
            vals = {
                "sequence": sequence,
                "product_id": product.id,
                "name": shipping["title"],
                "product_uom_qty": 1,
                "price_unit": float(shipping["price"]),
                "discount": 0.0,
                "tax_id": [(6, 0, taxes.ids)],
                "is_delivery": True,
                "shopify_line_id": f"shipping:{shipping['id']}"
                if shipping["id"]
                else False,
            }
            values.append(vals)
            sequence += 1
            extra = self._apply_discount(backend, vals, shipping, currency, 1)
            if extra:
                extra.update(sequence=sequence, is_delivery=True)
                values.append(extra)
                sequence += 1
        return values, carrier

    def _raise_unmapped(self, backend, order, skus):
        first = skus[0]
        others = [s for s in dict.fromkeys(skus[1:]) if s != first]
        text = _(
            "Shopify order %(name)s: SKU '%(sku)s' is not mapped to a product",
            name=order["name"],
            sku=first,
        )
        if others:
            text += _(" (nor: %s)", ", ".join(f"'{s}'" for s in others))
        raise MappingError(backend.name, "product", first, message=text)

    def _apply_discount(self, backend, vals, line, currency, quantity=None):
        """Keep the line's net exact: a discount percentage when one lands on
        the cent, else a separate discount line (returned) with the same
        taxes."""
        discount = line["discount"]
        if discount <= ZERO:
            return None
        quantity = quantity or line["quantity"]
        digits = self.env["decimal.precision"].precision_get("Discount")
        percent = exact_discount_percent(
            line["price"], quantity, line["net"], digits, rounder=currency.round
        )
        if percent is not None:
            vals["discount"] = float(percent)
            return None
        product = backend.shopify_discount_product_id
        if not product:
            raise MappingError(
                backend.name,
                "product",
                "discount",
                message=_(
                    "%(backend)s: a discount of %(amount)s cannot be a line "
                    "percentage and the backend has no discount product.",
                    backend=backend.name,
                    amount=fmt(discount),
                ),
            )
        return {
            "product_id": product.id,
            "name": _("Discount on %s", line["title"]),
            "product_uom_qty": 1,
            "price_unit": -float(discount),
            "discount": 0.0,
            "tax_id": vals["tax_id"],
        }

    def _bound_products(self, backend, skus):
        """``{sku: product}`` of the SKUs already bound, in one query."""
        return self.env["integration.binding"]._find_many(
            backend, "product.product", skus
        )

    def _product(self, backend, line):
        """By SKU: binding, then internal reference, then value map; lines
        without SKU use the backend's custom-item product."""
        sku = line["sku"]
        if not sku:
            return backend.shopify_custom_product_id
        Binding = self.env["integration.binding"]
        product = Binding._find(backend, "product.product", sku)
        if product:
            return product
        product = self.env["product.product"].search(
            [
                ("default_code", "=", sku),
                ("company_id", "in", (False, backend.company_id.id)),
            ],
            limit=2,
        )
        if len(product) > 1:
            raise MappingError(
                backend.name,
                "product",
                sku,
                message=_(
                    "SKU '%s' is the internal reference of several products: map "
                    "it to one.",
                    sku,
                ),
            )
        if not product:
            product = (
                self.env["integration.value.map"]._lookup(
                    backend, "product", sku, default=False
                )
                or product
            )
        if product and not Binding._binding_of(backend, product):
            Binding._bind(backend, product, sku)
        return product

    def _taxes(self, backend, order, taxes, cache):
        """Odoo sales taxes of Shopify tax lines: value map by ``"<title>
        <rate>%"``, else a sales tax of that percentage whose price-included
        flag matches the order's ``taxes_included``."""
        result = self.env["account.tax"]
        included = order["taxes_included"]
        for tax in taxes:
            if tax["rate"] == ZERO and tax["amount"] == ZERO:
                continue
            code = tax_code(tax["title"], tax["rate"])
            key = (code, included)
            if key not in cache:
                cache[key] = self._find_tax(backend, code, tax["rate"], included)
            found = cache[key]
            if not found:
                raise MappingError(
                    backend.name,
                    "tax",
                    code,
                    message=_(
                        "Shopify order %(name)s: tax '%(code)s' (%(kind)s) has no "
                        "Odoo sales tax",
                        name=order["name"],
                        code=code,
                        kind=_("price included") if included else _("price excluded"),
                    ),
                )
            result |= found
        return result

    def _find_tax(self, backend, code, rate, included):
        mapped = self.env["integration.value.map"]._lookup(
            backend, "tax", code, default=False
        )
        if mapped:
            return mapped
        percent = float(rate * 100)
        return self.env["account.tax"].search(
            [
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
                ("price_include", "=", included),
                ("company_id", "=", backend.company_id.id),
                ("amount", ">=", percent - 0.00001),
                ("amount", "<=", percent + 0.00001),
            ],
            order="sequence, id",
            limit=1,
        )

    def _carrier(self, backend, shipping):
        """The delivery carrier mapped to the shipping line's code, else to
        its title, else the default mapping (one query)."""
        codes = [code for code in (shipping["code"], shipping["title"]) if code]
        lines = self.env["integration.value.map"].search(
            [
                ("backend_id", "=", backend.id),
                ("kind", "=", "carrier_service"),
                "|",
                ("external_code", "in", codes),
                ("is_default", "=", True),
            ]
        )
        for code in codes:
            line = lines.filtered(lambda m, code=code: m.external_code == code)[:1]
            if line:
                return line.record_ref
        default = lines.filtered("is_default")[:1]
        return default.record_ref if default else self.env["delivery.carrier"]

    # ------------------------------------------------------------------
    # Currency, warehouse
    # ------------------------------------------------------------------
    def _pricelist(self, backend, order):
        """A pricelist in the order's currency (created when missing)."""
        company = backend.company_id
        code = order["currency"] or company.currency_id.name
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code)], limit=1)
        )
        if not currency or not currency.active:
            raise MappingError(
                backend.name,
                "currency",
                code,
                message=_(
                    "Shopify order %(name)s: currency %(code)s is not active in Odoo.",
                    name=order["name"],
                    code=code,
                ),
            )
        Pricelist = self.env["product.pricelist"]
        pricelist = Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (False, company.id)),
            ],
            order="company_id, sequence, id",
            limit=1,
        )
        if not pricelist:
            pricelist = Pricelist.sudo().create(
                {
                    "name": f"Shopify {currency.name}",
                    "currency_id": currency.id,
                    "company_id": company.id,
                }
            )
        return pricelist

    def _warehouse(self, backend, order):
        if order["location_id"]:
            location = self.env["shopify.location"].search(
                [
                    ("backend_id", "=", backend.id),
                    ("shopify_id", "=", order["location_id"]),
                ],
                limit=1,
            )
            if location.warehouse_ids:
                return location.warehouse_ids[0]
        return backend.shopify_warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", backend.company_id.id)], limit=1
        )
