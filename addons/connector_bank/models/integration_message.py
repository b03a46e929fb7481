from odoo import api, fields, models

from .integration_backend import LINE_REVIEW_TYPE

STATEMENT_LINE = "account.bank.statement.line"


class IntegrationMessage(models.Model):
    """Bank line reviews on the desk show their candidate invoices (the
    generic *Retry* matches the line again, through the core's re-check
    hook ``_bank_recheck_line_review``)."""

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
