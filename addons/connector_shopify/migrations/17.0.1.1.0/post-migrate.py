"""17.0.1.1.0: stock levels and fulfillments leave through the core's outbox.

Stock changes still waiting in the removed ``shopify_stock_change`` table move
into the outbox (nothing queued before the update is lost), and the rules of
existing backends get the batch sizes new backends get: every changed SKU in
one stock message (the exporter looks SKUs up in bulk), one delivery per
fulfillment message.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE integration_sync_rule r
           SET batch_size = CASE r.business_object
                                WHEN 'stock_level' THEN 100000 ELSE 1 END
          FROM integration_backend b
         WHERE b.id = r.backend_id AND b.connector_type = 'shopify'
           AND r.business_object IN ('stock_level', 'tracking')
        """
    )
    cr.execute("SELECT to_regclass('shopify_stock_change')")
    if not cr.fetchone()[0]:
        return
    # the table of the removed model is dropped after the update, not before
    cr.execute(
        """
        INSERT INTO integration_outbox
               (backend_id, business_object, res_model, res_id, create_date)
        SELECT DISTINCT backend_id, 'stock_level', 'product.product', product_id,
               now() at time zone 'UTC'
          FROM shopify_stock_change
        """
    )
    _logger.info("Moved %s waiting stock change(s) into the outbox", cr.rowcount)
