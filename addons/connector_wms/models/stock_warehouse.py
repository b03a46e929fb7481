from odoo import fields, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    wms_backend_id = fields.Many2one(
        "integration.backend",
        "Warehouse system (WMS)",
        domain=[("connector_type", "=", "wms")],
        ondelete="set null",
        help="Delivery orders of this warehouse are released to this WMS once "
        "reserved, and its confirmations validate them; receipts are announced "
        "to it.",
    )
