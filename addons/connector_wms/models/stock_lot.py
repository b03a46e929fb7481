from odoo import fields, models


class StockLot(models.Model):
    _inherit = "stock.lot"

    wms_expiry_date = fields.Date(
        "Expiry date (WMS)",
        help="The expiry date the warehouse system reported for this lot (also "
        "written to the lot's expiration date when product_expiry is installed).",
    )
