from odoo import api, fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    wms_line_id = fields.Char(
        "WMS line",
        readonly=True,
        help="The line id of the order at the WMS (the first move's id); the "
        "moves of a backorder keep it, so that later shipments find them.",
    )
    wms_released_qty = fields.Float(
        "Released to the WMS",
        digits="Product Unit of Measure",
        readonly=True,
        copy=False,
    )

    def _action_assign(self, force_qty=False):
        result = super()._action_assign(force_qty=force_qty)
        self.picking_id._wms_record_change()
        return result

    def _do_unreserve(self):
        pickings = self.picking_id
        result = super()._do_unreserve()
        pickings._wms_record_change()
        return result

    def _action_confirm(self, merge=True, merge_into=False):
        moves = super()._action_confirm(merge=merge, merge_into=merge_into)
        moves.picking_id.filtered(
            lambda p: p.picking_type_code == "incoming"
        )._wms_record_change()
        return moves

    def write(self, vals):
        result = super().write(vals)
        if "product_uom_qty" in vals:
            self.picking_id._wms_record_change()
        return result

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        moves.picking_id.filtered(lambda p: p.wms_state)._wms_record_change()
        return moves
