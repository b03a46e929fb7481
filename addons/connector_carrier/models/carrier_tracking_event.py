from odoo import fields, models

from ..tools import easypost as ep


class CarrierTrackingEvent(models.Model):
    """One line of a parcel's timeline (an EasyPost TrackingDetail): status,
    detail, where and when, as the carrier scanned it."""

    _name = "carrier.tracking.event"
    _description = "Parcel tracking event"
    _order = "event_time desc, id desc"

    shipment_id = fields.Many2one(
        "carrier.shipment", "Label", required=True, index=True, ondelete="cascade"
    )
    picking_id = fields.Many2one(
        related="shipment_id.picking_id", store=True, index=True, string="Delivery"
    )
    package_id = fields.Many2one(
        related="shipment_id.package_id", store=True, string="Package"
    )
    tracking_code = fields.Char(related="shipment_id.tracking_code")
    key = fields.Char(required=True, help="Identity of the tracking detail.")
    status = fields.Char(required=True)
    status_detail = fields.Char()
    delivery_state = fields.Selection(ep.DELIVERY_STATES)
    message = fields.Char()
    location = fields.Char()
    event_time = fields.Datetime("Time", index=True)

    _sql_constraints = [
        (
            "key_unique",
            "UNIQUE(shipment_id, key)",
            "This tracking event is already on the timeline.",
        )
    ]
