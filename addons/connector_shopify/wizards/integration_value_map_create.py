from odoo import api, fields, models


class IntegrationValueMapCreate(models.TransientModel):
    """The kinds Shopify orders map (products, taxes, carriers, places): the
    mapping wizard chooses their records directly, by kind."""

    _inherit = "integration.value.map.create"

    product_id = fields.Many2one("product.product")
    tax_id = fields.Many2one("account.tax", domain=[("type_tax_use", "=", "sale")])
    carrier_id = fields.Many2one("delivery.carrier", "Carrier service")
    warehouse_id = fields.Many2one("stock.warehouse")
    location_id = fields.Many2one("stock.location")
    uom_id = fields.Many2one("uom.uom", "Unit of measure")

    @api.model
    def _kind_fields(self):
        return {
            **super()._kind_fields(),
            "product": "product_id",
            "tax": "tax_id",
            "carrier_service": "carrier_id",
            "warehouse": "warehouse_id",
            "location": "location_id",
            "uom": "uom_id",
        }
