from odoo import fields, models


class ShopifyInventoryItem(models.Model):
    """Which Shopify inventory item (and variant) an Odoo product is, found by
    its SKU (the product's internal reference) and kept for stock exports."""

    _name = "shopify.inventory.item"
    _description = "Shopify Inventory Item"
    _order = "backend_id, sku"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", index=True
    )
    sku = fields.Char("SKU", required=True)
    variant_id = fields.Char("Shopify variant id")
    inventory_item_id = fields.Char("Shopify inventory item id", required=True)

    _sql_constraints = [
        (
            "product_unique",
            "UNIQUE(backend_id, product_id)",
            "A product is one Shopify inventory item per backend.",
        )
    ]
