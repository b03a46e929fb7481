from odoo import fields, models

from ..tools import easypost as ep


class StockQuantPackage(models.Model):
    _inherit = "stock.quant.package"

    integration_tracking_ref = fields.Char(
        "Tracking number", copy=False, help="The carrier's tracking number."
    )
    carrier_shipment_ids = fields.One2many("carrier.shipment", "package_id", "Labels")
    integration_delivery_state = fields.Selection(
        ep.DELIVERY_STATES,
        "Delivery state",
        compute="_compute_integration_delivery_state",
    )

    def _compute_integration_delivery_state(self):
        for package in self:
            bought = package.carrier_shipment_ids.filtered(
                lambda s: s.state == "bought"
            )[:1]
            package.integration_delivery_state = bought.delivery_state or False
