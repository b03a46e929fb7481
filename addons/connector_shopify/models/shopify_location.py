from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ShopifyLocation(models.Model):
    """A Shopify location and the Odoo warehouse(s) whose stock it sells.

    Orders fulfilled from the location go to its (first) warehouse; the
    stock sent to it is the free quantity of its warehouses only, so that
    several warehouses are added up only where a manager mapped them so.
    """

    _name = "shopify.location"
    _description = "Shopify Location"
    _order = "backend_id, name"

    backend_id = fields.Many2one(
        "integration.backend",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("connector_type", "=", "shopify")],
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    name = fields.Char(required=True)
    shopify_id = fields.Char(
        "Shopify location id", required=True, help="The numeric (legacy) id."
    )
    active = fields.Boolean(default=True)
    warehouse_ids = fields.Many2many(
        "stock.warehouse",
        "shopify_location_warehouse_rel",
        "shopify_location_id",
        "warehouse_id",
        string="Odoo warehouses",
        help="Stock of these warehouses is what this location may sell.",
    )
    export_stock = fields.Boolean(
        "Send stock levels",
        default=True,
        help="Send the free quantity of the mapped warehouses to this location.",
    )

    _sql_constraints = [
        (
            "shopify_id_unique",
            "UNIQUE(backend_id, shopify_id)",
            "This Shopify location is already known on this backend.",
        )
    ]

    @api.constrains("warehouse_ids", "backend_id")
    def _check_warehouse_once(self):
        for location in self:
            others = self.search(
                [
                    ("backend_id", "=", location.backend_id.id),
                    ("id", "!=", location.id),
                    ("warehouse_ids", "in", location.warehouse_ids.ids),
                ]
            )
            if others:
                raise ValidationError(
                    _(
                        "Warehouse %(warehouse)s already feeds Shopify location "
                        "%(location)s: its stock would be counted twice.",
                        warehouse=", ".join(
                            (others.warehouse_ids & location.warehouse_ids).mapped(
                                "name"
                            )
                        ),
                        location=others[0].name,
                    )
                )

    def _stock_location_ids(self):
        """Internal stock locations counted for this Shopify location."""
        return self.warehouse_ids.mapped("lot_stock_id").ids
