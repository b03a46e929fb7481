import json
import logging
from collections import defaultdict

from odoo import _, api, models

from odoo.addons.integration_core.exceptions import (
    BusinessRuleError,
    PermanentError,
    SkipMessage,
)

from ..tools import graphql

_logger = logging.getLogger(__name__)


class ShopifyFulfillmentExporter(models.AbstractModel):
    """Fulfillments out: a delivery of a Shopify order that is done becomes
    a ``fulfillmentCreate`` on the order's open fulfillment orders, for the
    quantities shipped (a partial delivery is a partial fulfillment), with
    the picking's tracking number, carrier and tracking URL."""

    _name = "shopify.fulfillment.exporter"
    _description = "Shopify fulfillment export"

    @api.model
    def _queue_pickings(self, pickings):
        """Record the done deliveries of Shopify orders in the outbox of
        their order's backend (the tracking rule sends them: at once, one
        delivery per message by default). Only outgoing pickings to a
        customer; the handler skips what is fulfilled already. The picking
        carries its order's correlation id, so the message does too."""
        for picking in pickings:
            sale = picking.sale_id
            backend = sale.shopify_backend_id
            if (
                not backend
                or picking.picking_type_code != "outgoing"
                or picking.location_dest_id.usage != "customer"
            ):
                continue
            if not picking.integration_correlation_id and (
                sale.integration_correlation_id
            ):
                picking.integration_correlation_id = sale.integration_correlation_id
            self.env["integration.outbox"]._record(
                "tracking", picking, backends=backend, dedupe_key="done"
            )

    @api.model
    def _shipped_quantities(self, picking):
        """``{Shopify line item id: quantity}`` done in the picking."""
        shipped = defaultdict(int)
        for move in picking.move_ids.filtered(lambda m: m.state == "done"):
            line = move.sale_line_id
            if not line.shopify_line_id or line.shopify_line_id.startswith("shipping:"):
                continue
            quantity = move.product_uom._compute_quantity(
                move.quantity, line.product_uom
            )
            shipped[line.shopify_line_id] += int(round(quantity))
        return dict(shipped)

    @api.model
    def _tracking_url(self, picking):
        """The picking's tracking URL (the first one when a carrier gives a
        JSON list of ``[name, url]`` for several parcels)."""
        urls = self._tracking_urls(picking)
        return urls[0] if urls else None

    @api.model
    def _tracking_urls(self, picking):
        """Every tracking URL of the picking: a carrier with several parcels
        gives a JSON list of ``[name, url]``."""
        url = picking.carrier_tracking_url or None
        if url and url.startswith("["):
            try:
                return [pair[1] for pair in json.loads(url) if pair[1]]
            except (ValueError, IndexError, TypeError):
                return []
        return [url] if url else []

    @api.model
    def _tracking_info(self, picking):
        """Shopify's ``FulfillmentTrackingInput`` of the picking: a delivery of
        several parcels has several tracking numbers (Odoo joins them with
        commas in ``carrier_tracking_ref``), each its own number in Shopify."""
        numbers = [
            number.strip()
            for number in (picking.carrier_tracking_ref or "").split(",")
            if number.strip()
        ]
        urls = self._tracking_urls(picking)
        tracking = {"company": picking.carrier_id.name or None}
        if len(numbers) > 1 or len(urls) > 1:
            tracking.update(numbers=numbers or None, urls=urls or None)
        else:
            tracking.update(
                number=numbers[0] if numbers else None,
                url=urls[0] if urls else None,
            )
        return tracking

    @api.model
    def _export(self, backend, message, data):
        """Fulfil the deliveries of ``data["ids"]`` (one by default: the
        tracking rule's batch size is 1, so that a delivery Shopify refuses is
        one item on the desk). With several, a failure retries them all: what
        is fulfilled already is skipped, and fulfillment orders only offer
        what is still open."""
        pickings = self.env["stock.picking"].browse(data["ids"])
        if len(pickings) == 1:
            return self._export_picking(backend, pickings)
        done, notes, skipped = self.env["stock.picking"], [], []
        for picking in pickings:
            try:
                result = self._export_picking(backend, picking)
            except SkipMessage as exc:
                skipped.append(exc.reason)
                continue
            if isinstance(result, dict):
                done |= result["records"]
                if result.get("business_exception"):
                    notes.append(result["business_exception"])
            else:
                done |= result
        if not done and not notes:
            raise SkipMessage("\n".join(skipped))
        if notes:
            return {"records": done, "business_exception": "\n".join(notes)}
        return done

    @api.model
    def _export_picking(self, backend, picking):
        picking = picking.exists()
        if not picking:
            raise SkipMessage(_("The delivery no longer exists."))
        if picking.shopify_fulfillment_id:
            raise SkipMessage(_("%s is already fulfilled in Shopify.", picking.name))
        sale = picking.sale_id
        shipped = self._shipped_quantities(picking)
        if not shipped:
            raise SkipMessage(_("%s ships nothing of the Shopify order.", picking.name))
        order = backend._shopify_graphql(
            graphql.FULFILLMENT_ORDERS_QUERY,
            {"id": graphql.gid("Order", sale.shopify_order_id)},
            "shopify.fulfillment_orders",
        ).get("order")
        if not order:
            raise PermanentError(
                _(
                    "Shopify does not know order %(name)s (%(id)s).",
                    name=sale.client_order_ref,
                    id=sale.shopify_order_id,
                )
            )
        tracking = self._tracking_info(picking)
        made = graphql.fulfillment_of_tracking(
            order.get("fulfillments"),
            tracking.get("numbers") or [tracking.get("number")],
        )
        if made and not self.env["stock.picking"].search_count(
            [("shopify_fulfillment_id", "=", made), ("id", "!=", picking.id)]
        ):
            # Shopify made it on an earlier attempt whose transaction was
            # rolled back (a conflict after the call): record it, once. (A
            # fulfillment another delivery already owns is not this one's.)
            picking.shopify_fulfillment_id = made
            return picking
        plan, missing = graphql.plan_fulfillment(
            order["fulfillmentOrders"]["nodes"], shipped
        )
        note = None
        if missing:
            note = _(
                "%(picking)s: %(count)s unit(s) shipped by Odoo had nothing left to "
                "fulfil in Shopify (already fulfilled, refunded or cancelled there).",
                picking=picking.name,
                count=sum(missing.values()),
            )
        if not plan:
            return {"records": picking, "business_exception": note}
        result = backend._shopify_graphql(
            graphql.FULFILLMENT_CREATE,
            graphql.fulfillment_input(plan, tracking),
            "shopify.fulfillment.create",
        )["fulfillmentCreate"]
        if result.get("userErrors"):
            raise BusinessRuleError(
                _(
                    "Shopify refused the fulfillment of %(picking)s (order "
                    "%(order)s): %(errors)s",
                    picking=picking.name,
                    order=sale.client_order_ref,
                    errors="; ".join(e["message"] for e in result["userErrors"]),
                )
            )
        picking.shopify_fulfillment_id = result["fulfillment"]["id"]
        if note:
            return {"records": picking, "business_exception": note}
        return picking
