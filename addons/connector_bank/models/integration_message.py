from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .integration_backend import LINE_REVIEW_TYPE

STATEMENT_LINE = "account.bank.statement.line"


class IntegrationMessage(models.Model):
    """Bank line reviews on the desk: their candidates, one-click confirm,
    and *Match again* (a retry of a business exception)."""

    _inherit = "integration.message"

    bank_candidate_ids = fields.One2many(
        "bank.match.candidate",
        string="Candidate invoices",
        compute="_compute_bank_candidate_ids",
    )
    is_bank_review = fields.Boolean(compute="_compute_bank_candidate_ids")

    @api.depends("res_model", "res_id", "message_type")
    def _compute_bank_candidate_ids(self):
        Candidate = self.env["bank.match.candidate"]
        for message in self:
            review = message.message_type == LINE_REVIEW_TYPE
            message.is_bank_review = review
            if review and message.res_model == STATEMENT_LINE and message.res_id:
                message.bank_candidate_ids = Candidate.search(
                    [("statement_line_id", "=", message.res_id)]
                )
            else:
                message.bank_candidate_ids = Candidate

    def action_retry(self):
        """Line reviews that wait as business exceptions are matched again."""
        reviews = self.filtered(
            lambda m: (
                m.message_type == LINE_REVIEW_TYPE
                and m.state == "done"
                and m.business_exception
            )
        )
        others = self - reviews
        if reviews:
            reviews.action_bank_match_again()
        if others or not reviews:
            return super(IntegrationMessage, others).action_retry()
        return True

    def action_bank_match_again(self):
        """Match the lines of these reviews again, now."""
        lines = self.env[STATEMENT_LINE]
        for message in self:
            if message.message_type != LINE_REVIEW_TYPE:
                raise UserError(_("%s is not a bank line review.", message.name))
            record = message._related_record()
            if record is not None:
                lines |= record
        pending = lines.filtered(lambda line: not line.is_reconciled)
        if pending:
            pending.sudo().action_bank_match()
        (lines - pending).sudo()._bank_update_desk_items()
        for message in self:
            message.message_post(body=_("Matched again by %s.", self.env.user.name))
        return True
