from odoo import fields, models


class ShopifyInventoryLevel(models.Model):
    """The available quantity Shopify holds for a product at a location, as
    far as Odoo knows: what it sent last (or read at a full resync). It is
    the compare-and-swap guard of the next export and what decides whether
    anything changed."""

    _name = "shopify.inventory.level"
    _description = "Shopify Inventory Level"
    _order = "location_id, product_id"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    location_id = fields.Many2one(
        "shopify.location", required=True, ondelete="cascade", index=True
    )
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", index=True
    )
    quantity = fields.Integer("Available in Shopify")
    synced_at = fields.Datetime("Last sent or read")

    _sql_constraints = [
        (
            "location_product_unique",
            "UNIQUE(location_id, product_id)",
            "One level per Shopify location and product.",
        )
    ]
