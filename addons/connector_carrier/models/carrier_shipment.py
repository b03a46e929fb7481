import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.integration_core.exceptions import IntegrationError

from ..tools import easypost as ep

_logger = logging.getLogger(__name__)


class CarrierShipment(models.Model):
    """One parcel's label bought at the carrier: the EasyPost Shipment (with
    its reference, the idempotency key of the purchase), its tracker, the
    tracking timeline and the proof of delivery.

    The reference names the picking, the package and the how-many-th label
    of that parcel (a voided label is followed by a new one): a retried
    validation, a timeout after the purchase or a crash before Odoo saved
    it finds the same shipment at the carrier by that reference, never buys
    a second label.
    """

    _name = "carrier.shipment"
    _description = "Carrier label"
    _order = "id desc"
    _rec_names_search = ["name", "tracking_code", "reference"]

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "integration.backend", required=True, index=True, ondelete="restrict"
    )
    carrier_id = fields.Many2one("delivery.carrier", "Shipping method", index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    picking_id = fields.Many2one(
        "stock.picking", "Delivery", index=True, ondelete="cascade"
    )
    package_id = fields.Many2one("stock.quant.package", index=True, ondelete="set null")
    partner_id = fields.Many2one(related="picking_id.partner_id", string="Customer")
    reference = fields.Char(
        required=True, readonly=True, help="Idempotency key of the purchase."
    )
    shipment_ext_id = fields.Char("Carrier shipment", readonly=True, index=True)
    tracker_ext_id = fields.Char("Carrier tracker", readonly=True)
    tracking_code = fields.Char(readonly=True, index=True)
    is_return = fields.Boolean(
        "Return label",
        readonly=True,
        index=True,
        help="A label for the customer to send the goods back (the carrier's "
        "is_return shipment): it has its own tracking, and takes no part in "
        "the delivery's state or its invoicing.",
    )
    service = fields.Char(readonly=True, help="carrier:service bought")
    price = fields.Float("Label price", readonly=True, digits="Product Price")
    currency_name = fields.Char("Label currency", readonly=True)
    price_company = fields.Monetary(
        "Label price (company currency)", currency_field="company_currency_id"
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id")
    quoted_price = fields.Monetary(
        "Quoted (share of the order's)", currency_field="company_currency_id"
    )
    public_url = fields.Char("Tracking page", readonly=True)
    label_format = fields.Char(readonly=True)
    label_attachment_id = fields.Many2one("ir.attachment", "Label", readonly=True)
    state = fields.Selection(
        [("bought", "Bought"), ("voided", "Voided")],
        default="bought",
        required=True,
        readonly=True,
        index=True,
    )
    refund_status = fields.Selection(ep.REFUND_STATES, readonly=True, index=True)
    delivery_state = fields.Selection(
        ep.DELIVERY_STATES, default="label_created", readonly=True, index=True
    )
    status = fields.Char("Carrier status", readonly=True, default="pre_transit")
    status_detail = fields.Char(readonly=True)
    status_message = fields.Char("Last news", readonly=True)
    status_location = fields.Char("Where", readonly=True)
    status_at = fields.Datetime("Status time", readonly=True)
    final = fields.Boolean(readonly=True, index=True)
    signed_by = fields.Char(readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    delivered_place = fields.Char(readonly=True)
    last_news_at = fields.Datetime(
        default=fields.Datetime.now,
        readonly=True,
        index=True,
        help="When the carrier last told us anything (purchase, event, poll).",
    )
    last_polled_at = fields.Datetime(readonly=True)
    event_ids = fields.One2many("carrier.tracking.event", "shipment_id", "Timeline")

    _sql_constraints = [
        (
            "reference_unique",
            "UNIQUE(backend_id, reference)",
            "One label per purchase reference and backend.",
        )
    ]

    @api.depends("tracking_code", "reference")
    def _compute_name(self):
        for shipment in self:
            shipment.name = shipment.tracking_code or shipment.reference

    # ------------------------------------------------------------------
    # Buying a label, exactly once
    # ------------------------------------------------------------------
    @api.model
    def _reference_for(self, backend, picking, package, is_return=False):
        """Deterministic: the same parcel gives the same reference until its
        label is voided (a return label has references of its own)."""
        voided = self.search_count(
            [
                ("backend_id", "=", backend.id),
                ("picking_id", "=", picking.id),
                ("package_id", "=", package.id or False),
                ("is_return", "=", is_return),
                ("state", "=", "voided"),
            ]
        )
        dbuuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        parcel = "return" if is_return else package.id or 0
        return f"odoo-{dbuuid[:8]}-{picking.id}-{parcel}-{voided + 1}"

    @api.model
    def _buy_label(self, carrier, picking, package, weight_oz, is_return=False):
        """The label of one parcel: the one already saved, else the one the
        carrier has for the reference (found again), else a new purchase.
        ``is_return``: the customer's label back to the warehouse, bought as
        the carrier's return shipment of the same addresses."""
        backend = carrier.integration_backend_id
        reference = self._reference_for(backend, picking, package, is_return)
        saved = self.search(
            [("backend_id", "=", backend.id), ("reference", "=", reference)], limit=1
        )
        if saved:
            return saved
        what = (
            _("the return label of %s", picking.name)
            if is_return
            else _("the label of %s", self._parcel_name(picking, package))
        )
        remote = backend._carrier_find_shipment(reference)
        if not ep.purchased(remote):
            if remote and remote.get("refund_status"):
                raise UserError(
                    _(
                        "The carrier has a voided label under %(ref)s; cancel "
                        "it in Odoo first.",
                        ref=reference,
                    )
                )
            if not remote:
                spec = carrier._integration_shipment_spec(
                    picking.partner_id, picking, weight_oz, reference
                )
                if is_return:
                    spec["is_return"] = True  # the carrier swaps the addresses
                remote = backend._carrier_create_shipment(spec, what)
            rate = ep.pick_rate(
                remote.get("rates"),
                carrier._integration_services(),
                [carrier.integration_carrier_account]
                if carrier.integration_carrier_account
                else (),
            )
            if rate is None:
                raise UserError(
                    _(
                        "%(carrier)s offers no rate for %(services)s to %(partner)s.",
                        carrier=backend.name,
                        services=", ".join(carrier._integration_services()),
                        partner=picking.partner_id.display_name,
                    )
                )
            remote = backend._carrier_buy(remote, rate, what)
        else:
            _logger.info("%s: label %s found again", backend.name, reference)
        values = ep.shipment_values(remote)
        label_format = carrier._integration_label_format()
        content = backend._carrier_label_file(remote, label_format)
        company = picking.company_id
        price_company = carrier._integration_company_price(
            values["price"], values["currency"], company
        )
        shipment = self.create(
            {
                **{k: v for k, v in values.items() if k != "currency"},
                "currency_name": values["currency"],
                "refund_status": values["refund_status"] or False,
                "reference": reference,
                "backend_id": backend.id,
                "carrier_id": carrier.id,
                "company_id": company.id,
                "picking_id": picking.id,
                "package_id": package.id or False,
                "is_return": is_return,
                "label_format": label_format,
                "price_company": price_company,
            }
        )
        prefix = (
            carrier.get_return_label_prefix()
            if is_return
            else carrier._get_delivery_label_prefix()
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{prefix}-"
                f"{shipment.tracking_code}.{ep.LABEL_EXTENSIONS[label_format]}",
                "raw": content,
                "res_model": "stock.picking",
                "res_id": picking.id,
                "mimetype": "application/pdf"
                if label_format == "PDF"
                else "text/plain",
            }
        )
        shipment.label_attachment_id = attachment
        if package and not is_return:
            package.integration_tracking_ref = shipment.tracking_code
        return shipment

    @api.model
    def _parcel_name(self, picking, package):
        return f"{picking.name} / {package.name}" if package else picking.name

    # ------------------------------------------------------------------
    # Cancel: a refund request; the void label stays on record
    # ------------------------------------------------------------------
    def _void(self):
        """Ask the carrier to refund each label. Submitted or refunded: the
        label is voided. Refused at once: the refund is rejected, on the desk,
        and the label stays valid."""
        for shipment in self.filtered(lambda s: s.state == "bought"):
            backend = shipment.backend_id
            try:
                response = backend._carrier_request(
                    "POST",
                    f"shipments/{shipment.shipment_ext_id}/refund",
                    retries=True,
                    expected=(200, 201, 422),
                )
            except IntegrationError as exc:
                raise UserError(exc.message) from exc
            if response.status_code == 422:
                error = backend._carrier_refused(
                    response, _("the refund of %s", shipment.name)
                )
                shipment._set_refund_status("rejected", reason=error.message)
                continue
            remote = backend._carrier_json(response)
            shipment.write({"state": "voided"})
            shipment._set_refund_status(remote.get("refund_status") or "submitted")
        return self

    def _set_refund_status(self, status, reason=None):
        Message = self.env["integration.message"]
        for shipment in self:
            if not status or status == shipment.refund_status:
                continue
            shipment.refund_status = status
            if status in ("submitted", "refunded"):
                shipment.state = "voided"
            picking = shipment.picking_id
            if status == "rejected":
                Message._desk_item_raise(
                    shipment.backend_id,
                    "carrier.refund.rejected",
                    picking or shipment,
                    shipment._refund_problem_text(reason),
                    key=f"carrier.shipment,{shipment.id}",
                    payload=json.dumps({"shipment_id": shipment.id}).encode(),
                    name=shipment.name,
                )
            elif status == "refunded":
                Message._desk_item_resolve(
                    shipment.backend_id,
                    "carrier.refund.rejected",
                    picking or shipment,
                    key_of=lambda r, s=shipment: f"carrier.shipment,{s.id}",
                )
            if picking:
                picking.message_post(
                    body=_(
                        "Label %(code)s: %(status)s",
                        code=shipment.tracking_code,
                        status=dict(ep.REFUND_STATES)[status],
                    )
                )

    def _refund_problem_text(self, reason=None):
        self.ensure_one()
        text = _(
            "Refund of label %(code)s (%(picking)s) rejected by the carrier: the "
            "label stays charged.",
            code=self.tracking_code,
            picking=self.picking_id.name or "-",
        )
        return f"{text}\n{reason}" if reason else text

    # ------------------------------------------------------------------
    # Tracking
    # ------------------------------------------------------------------
    def _apply_tracking(self, values):
        """Merge the timeline (every event repeats the history: new lines
        only), then apply the status if it is newer than the applied one (an
        older event never overwrites a newer status)."""
        self.ensure_one()
        known = set(self.event_ids.mapped("key"))
        fresh = [d for d in values["details"] if d["key"] not in known]
        if fresh:
            self.env["carrier.tracking.event"].create(
                [
                    {
                        "shipment_id": self.id,
                        "key": d["key"],
                        "status": d["status"],
                        "status_detail": d["status_detail"],
                        "delivery_state": d["delivery_state"],
                        "message": d["message"],
                        "location": d["location"],
                        "event_time": d["event_time"],
                    }
                    for d in fresh
                ]
            )
        vals = {"last_news_at": fields.Datetime.now()}
        if values.get("tracker_id") and not self.tracker_ext_id:
            vals["tracker_ext_id"] = values["tracker_id"]
        if values.get("public_url"):
            vals["public_url"] = values["public_url"]
        newer = ep.is_newer(
            values["status_at"], values["status"], self.status_at, self.status
        )
        old_state = self.delivery_state
        if newer:
            vals.update(
                status=values["status"],
                status_detail=values["status_detail"],
                delivery_state=values["delivery_state"],
                status_at=values["status_at"],
                status_message=values["message"],
                status_location=values["location"],
                final=values["final"],
            )
            if values["status"] == "delivered":
                vals.update(
                    signed_by=values["signed_by"],
                    delivered_at=values["delivered_at"] or values["status_at"],
                    delivered_place=values["delivered_place"] or values["location"],
                )
        self.write(vals)
        if newer and self.picking_id and not self.is_return:
            self.picking_id._integration_tracking_changed(self, old_state)
        return newer

    def _problem_text(self):
        self.ensure_one()
        return ep.problem_text(
            self.tracking_code,
            self.picking_id.partner_id.display_name,
            self.delivery_state,
            self.status_message,
            self.status_detail,
        )

    def _price_problem_text(self):
        """The label costs more than quoted beyond the tolerance, or False."""
        self.ensure_one()
        tolerance = self.backend_id.carrier_price_tolerance or 0.0
        if not self.quoted_price or self.state != "bought":
            return False
        limit = self.quoted_price * (1 + tolerance / 100.0)
        if self.company_currency_id.compare_amounts(self.price_company, limit) <= 0:
            return False
        return _(
            "Label %(code)s (%(picking)s) cost %(price)s, above the quoted "
            "%(quote)s by more than %(tolerance)s%%.",
            code=self.tracking_code,
            picking=self.picking_id.name,
            price=f"{self.price_company:.2f}",
            quote=f"{self.quoted_price:.2f}",
            tolerance=f"{tolerance:g}",
        )

    def action_open_label(self):
        self.ensure_one()
        if not self.label_attachment_id:
            raise UserError(_("This label has no file."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.label_attachment_id.id}?download=true",
            "target": "new",
        }
