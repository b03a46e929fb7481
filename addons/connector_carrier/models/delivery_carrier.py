import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.integration_core.exceptions import IntegrationError

from ..tools import easypost as ep
from .integration_backend import INVOICE_POLICIES

DELIVERY_TYPE = "integration_carrier"


def _fall_back_to_fixed(carriers):
    carriers.write({"delivery_type": "fixed", "fixed_price": 0.0})


class DeliveryCarrier(models.Model):
    """The provider ``integration_carrier`` (Odoo's way: a ``delivery_type``
    and its ``<type>_rate_shipment``, ``<type>_send_shipping``,
    ``<type>_get_tracking_link``, ``<type>_cancel_shipment``), over an
    integration backend of connector type *carrier*. Its code does not
    collide with Enterprise's ``easypost``."""

    _inherit = "delivery.carrier"

    delivery_type = fields.Selection(
        selection_add=[(DELIVERY_TYPE, "Carrier API (EasyPost-compatible)")],
        ondelete={DELIVERY_TYPE: _fall_back_to_fixed},
    )
    integration_backend_id = fields.Many2one(
        "integration.backend",
        "Carrier backend",
        domain=[("connector_type", "=", "carrier")],
        ondelete="restrict",
    )
    integration_carrier_account = fields.Char(
        "Carrier account",
        help="The carrier account (ca_...) whose rates are bought; empty: "
        "any account of the backend.",
    )
    integration_service = fields.Char(
        "Service",
        help="carrier:service to buy, e.g. USPS:Priority. Services can also be "
        "mapped to this shipping method with the backend's value maps "
        "(kind Carrier service); empty and unmapped: the cheapest rate.",
    )
    integration_label_format = fields.Selection(
        ep.LABEL_FORMATS, "Label format", help="Empty: the backend's."
    )
    integration_invoice_policy = fields.Selection(
        INVOICE_POLICIES, "Invoice deliveries", help="Empty: the backend's."
    )

    # ------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------
    def _integration_backend(self):
        """The backend, as superuser: credentials and call logs are the
        integration's, not the warehouse clerk's or the salesman's."""
        self.ensure_one()
        backend = self.integration_backend_id.sudo()
        if not backend or not backend.active:
            raise UserError(
                _(
                    "Shipping method %s has no active carrier backend: set one "
                    "on the shipping method.",
                    self.name,
                )
            )
        return backend

    def _integration_services(self):
        """Service codes to buy, in order: the method's own, then those its
        backend's value maps send to it."""
        self.ensure_one()
        codes = [self.integration_service] if self.integration_service else []
        maps = (
            self.env["integration.value.map"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", self.integration_backend_id.id),
                    ("kind", "=", "carrier_service"),
                    ("record_ref", "=", f"delivery.carrier,{self.id}"),
                    ("external_code", "!=", False),
                ]
            )
        )
        return codes + [c for c in maps.mapped("external_code") if c not in codes]

    def _integration_label_format(self):
        self.ensure_one()
        return (
            self.integration_label_format
            or self.integration_backend_id.carrier_label_format
            or "PDF"
        )

    def _integration_invoice_policy(self):
        self.ensure_one()
        return (
            self.integration_invoice_policy
            or self.integration_backend_id.carrier_invoice_policy
            or "manual"
        )

    def _integration_company_price(self, amount, currency_name, company):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", currency_name)], limit=1)
        )
        if not currency or currency == company.currency_id:
            return amount
        return currency._convert(
            amount, company.currency_id, company, fields.Date.context_today(self)
        )

    def _integration_address(self, partner):
        return ep.address(
            partner.name if not partner.is_company else None,
            partner.street,
            partner.street2,
            partner.city,
            partner.state_id.code,
            partner.zip,
            partner.country_id.code,
            partner.phone,
            partner.email,
            company=partner.commercial_company_name or None,
        )

    def _integration_shipment_spec(self, partner, document, weight_oz, reference=None):
        warehouse = (
            document.picking_type_id.warehouse_id
            if document._name == "stock.picking"
            else document.warehouse_id
        )
        origin = warehouse.partner_id or document.company_id.partner_id
        spec = {
            "to_address": self._integration_address(partner),
            "from_address": self._integration_address(origin),
            "parcel": {"weight": weight_oz},
            "options": {"label_format": self._integration_label_format()},
        }
        if reference:
            spec["reference"] = reference
        if self.integration_carrier_account:
            spec["carrier_accounts"] = [self.integration_carrier_account]
        return spec

    def _integration_weight_uom(self):
        return self.env[
            "product.template"
        ]._get_weight_uom_name_from_ir_config_parameter()

    # ------------------------------------------------------------------
    # The provider
    # ------------------------------------------------------------------
    def integration_carrier_rate_shipment(self, order):
        """A quote: a shipment (free until bought) and its rate for the service."""
        self.ensure_one()
        try:
            backend = self._integration_backend()
            weight = order._get_estimated_weight()
            if not weight:
                raise UserError(
                    _("Set the weight of the products to get a carrier rate.")
                )
            remote = backend._carrier_create_shipment(
                self._integration_shipment_spec(
                    order.partner_shipping_id,
                    order,
                    ep.ounces(weight, self._integration_weight_uom()),
                ),
                _("a rate for %s", order.name),
            )
            rate = ep.pick_rate(
                remote.get("rates"),
                self._integration_services(),
                [self.integration_carrier_account]
                if self.integration_carrier_account
                else (),
            )
        except (IntegrationError, UserError) as exc:
            return {
                "success": False,
                "price": 0.0,
                "error_message": getattr(exc, "message", None) or exc.args[0],
                "warning_message": False,
            }
        if rate is None:
            return {
                "success": False,
                "price": 0.0,
                "error_message": _(
                    "%(backend)s offers no rate for %(services)s to this address.",
                    backend=self.integration_backend_id.name,
                    services=", ".join(self._integration_services())
                    or _("any service"),
                ),
                "warning_message": False,
            }
        company = order.company_id
        price = self._integration_company_price(
            float(ep.money(rate["rate"])), rate.get("currency"), company
        )
        if order.currency_id != company.currency_id:
            price = company.currency_id._convert(
                price,
                order.currency_id,
                company,
                order.date_order or fields.Date.today(),
            )
        return {
            "success": True,
            "price": price,
            "error_message": False,
            "warning_message": False,
        }

    def integration_carrier_send_shipping(self, pickings):
        return [self._integration_send_one(picking) for picking in pickings]

    def _integration_parcels(self, picking):
        uom = self._integration_weight_uom()
        parcels = [
            (package, package.shipping_weight or package.weight)
            for package in picking.package_ids
        ]
        if picking.weight_bulk or not parcels:
            parcels.append(
                (
                    self.env["stock.quant.package"],
                    picking.weight_bulk or picking.shipping_weight or picking.weight,
                )
            )
        for package, weight in parcels:
            if not weight:
                raise UserError(
                    _(
                        "%(parcel)s weighs nothing: set the products' weight or "
                        "the package's shipping weight.",
                        parcel=package.name or picking.name,
                    )
                )
        return [(package, ep.ounces(weight, uom)) for package, weight in parcels]

    def _integration_send_one(self, picking):
        """One label per package (and one for the goods outside packages),
        each bought exactly once. As superuser, as Odoo's validation calls
        providers (whoever presses *Validate* or *Send to Shipper*)."""
        carrier, picking = self.sudo(), picking.sudo()
        backend = carrier._integration_backend()
        Shipment = carrier.env["carrier.shipment"]
        shipments = Shipment
        try:
            backend._advisory_lock(
                "carrier.label",
                picking.id,
                busy_message=_(
                    "The labels of %s are being bought right now; try again in "
                    "a moment.",
                    picking.name,
                ),
            )
            for package, weight in carrier._integration_parcels(picking):
                shipments |= Shipment._buy_label(carrier, picking, package, weight)
            if carrier.return_label_on_delivery:
                carrier._integration_return_label(picking)
        except IntegrationError as exc:
            raise UserError(
                _("%(picking)s: %(error)s", picking=picking.name, error=exc.message)
            ) from exc
        picking._integration_labels_bought(shipments)
        return {
            "exact_price": sum(shipments.mapped("price_company")),
            "tracking_number": ",".join(shipments.mapped("tracking_code")),
        }

    @api.depends("delivery_type")
    def _compute_can_generate_return(self):
        result = super()._compute_can_generate_return()
        for carrier in self.filtered(
            lambda c: c.delivery_type == "integration_carrier"
        ):
            carrier.can_generate_return = True
        return result

    def integration_carrier_get_return_label(
        self, pickings, tracking_number=None, origin_date=None
    ):
        """Odoo's *Print return label* (and *Generate Return Label* at
        delivery): one return label per delivery, bought once like the
        others (keyed, found again), attached as ``LabelReturn-<type>-...``."""
        carrier = self.sudo()
        for picking in pickings.sudo():
            try:
                shipment = carrier._integration_return_label(picking)
            except IntegrationError as exc:
                raise UserError(
                    _("%(picking)s: %(error)s", picking=picking.name, error=exc.message)
                ) from exc
            picking.message_post(
                body=_(
                    "Return label %(code)s bought at %(backend)s.",
                    code=shipment.tracking_code,
                    backend=shipment.backend_id.name,
                ),
                attachment_ids=shipment.label_attachment_id.ids,
            )
        return True

    def _integration_return_label(self, picking):
        """The delivery's return label: the one bought, else one parcel of
        the delivery's weight, coming back."""
        bought = picking.carrier_return_shipment_ids.filtered(
            lambda s: s.state == "bought"
        )
        if bought:
            return bought[:1]
        weight = sum(w for _package, w in self._integration_parcels(picking))
        return self.env["carrier.shipment"]._buy_label(
            self, picking, self.env["stock.quant.package"], weight, is_return=True
        )

    def integration_carrier_get_tracking_link(self, picking):
        shipments = picking.carrier_shipment_ids.filtered(lambda s: s.state == "bought")
        if not shipments:
            return False
        if len(shipments) == 1:
            return shipments.public_url or False
        return json.dumps([[s.tracking_code, s.public_url] for s in shipments])

    def integration_carrier_cancel_shipment(self, pickings):
        for picking in pickings.sudo():
            # the return label goes with the delivery's labels
            labels = picking.carrier_shipment_ids | picking.carrier_return_shipment_ids
            labels.filtered(lambda s: s.state == "bought")._void()
        return True
