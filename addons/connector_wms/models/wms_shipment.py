from odoo import fields, models


class WmsShipment(models.Model):
    """A confirmation the WMS sent and Odoo applied: one shipment of an
    outbound order, or one receipt of an inbound one. Unique per backend and
    the WMS's id, so that a confirmation is applied once, whatever the number
    of deliveries and event ids."""

    _name = "wms.shipment"
    _description = "WMS confirmation (shipment or receipt applied)"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True)
    kind = fields.Selection(
        [("shipment", "Shipment"), ("receipt", "Receipt")],
        required=True,
        default="shipment",
        readonly=True,
    )
    backend_id = fields.Many2one(
        "integration.backend",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    external_id = fields.Char("WMS id", required=True, readonly=True)
    event_id = fields.Char(readonly=True)
    order_ref = fields.Char("WMS order", readonly=True, index=True)
    sequence = fields.Integer(readonly=True)
    final = fields.Boolean(readonly=True)
    shipment_count = fields.Integer("Confirmations in all", readonly=True)
    shipped_at = fields.Datetime("At the WMS", readonly=True)
    picking_id = fields.Many2one("stock.picking", readonly=True, index=True)
    message_id = fields.Many2one("integration.message", readonly=True)
    tracking_numbers = fields.Char(readonly=True)
    package_ids = fields.One2many("wms.shipment.package", "shipment_id", readonly=True)

    _sql_constraints = [
        (
            "external_unique",
            "UNIQUE(backend_id, kind, external_id)",
            "This confirmation of the WMS was applied already.",
        )
    ]


class WmsShipmentPackage(models.Model):
    _name = "wms.shipment.package"
    _description = "Package of a WMS shipment"

    shipment_id = fields.Many2one("wms.shipment", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="shipment_id.company_id", store=True)
    name = fields.Char("Package", required=True)
    package_id = fields.Many2one("stock.quant.package", "Odoo package", readonly=True)
    weight_kg = fields.Float("Weight (kg)")
    tracking_number = fields.Char()
    carrier = fields.Char()
