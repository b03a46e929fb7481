from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    integration_carrier_quote = fields.Monetary(
        "Quoted shipping",
        copy=False,
        readonly=True,
        help="The carrier's rate shown when the shipping method was added: "
        "labels costing more than it beyond the backend's tolerance are put "
        "on the desk.",
    )

    def set_delivery_line(self, carrier, amount):
        result = super().set_delivery_line(carrier, amount)
        if carrier.delivery_type == "integration_carrier":
            self.integration_carrier_quote = amount
        return result
