from odoo import api, models


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        result = super()._update_available_quantity(
            product_id, location_id, *args, **kwargs
        )
        self._shopify_stock_touched(product_id, location_id)
        return result

    @api.model
    def _update_reserved_quantity(self, product_id, location_id, *args, **kwargs):
        result = super()._update_reserved_quantity(
            product_id, location_id, *args, **kwargs
        )
        self._shopify_stock_touched(product_id, location_id)
        return result

    @api.model
    def _shopify_stock_touched(self, product, location):
        """The free quantity of ``product`` may have changed: record it in the
        outbox of every Shopify backend that exports stock (sent by the stock
        sync rule's mode)."""
        if location.usage == "internal" and product.type == "product":
            self.env["integration.outbox"]._record(
                "stock_level", product, connector_type="shopify"
            )
