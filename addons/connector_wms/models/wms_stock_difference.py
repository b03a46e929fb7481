from odoo import fields, models


class WmsStockDifference(models.Model):
    """One difference a stock snapshot showed: product, lot, Odoo's and the
    WMS's quantity, and the adjustment made (WMS is system of record) or not
    (Odoo is: the snapshot's message is on the desk)."""

    _name = "wms.stock.difference"
    _description = "WMS stock difference"
    _order = "id desc"

    message_id = fields.Many2one(
        "integration.message", "Snapshot", readonly=True, ondelete="cascade", index=True
    )
    backend_id = fields.Many2one(
        "integration.backend", readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    snapshot_ref = fields.Char("Snapshot id", readonly=True)
    as_of = fields.Datetime(readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    sku = fields.Char("SKU", readonly=True)
    lot_name = fields.Char("Lot", readonly=True)
    odoo_qty = fields.Float(
        "Odoo quantity", digits="Product Unit of Measure", readonly=True
    )
    wms_qty = fields.Float(
        "WMS quantity", digits="Product Unit of Measure", readonly=True
    )
    pending_qty = fields.Float(
        "On released deliveries",
        digits="Product Unit of Measure",
        readonly=True,
        help="Quantities of deliveries released to the WMS and not confirmed yet.",
    )
    difference = fields.Float(digits="Product Unit of Measure", readonly=True)
    outcome = fields.Selection(
        [
            ("adjusted", "Adjusted in Odoo"),
            ("exception", "For a person"),
            ("unknown", "Unknown SKU"),
        ],
        readonly=True,
    )
    move_ids = fields.Many2many("stock.move", string="Adjustment", readonly=True)
