import base64
import binascii

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.integration_backend import STATEMENT_FILE_TYPE
from ..parsers import file_hash


class BankStatementUpload(models.TransientModel):
    """Upload a camt.053 / MT940 file: stored as an inbound message (key: the
    file's SHA-256) and processed at once, through that message."""

    _name = "bank.statement.upload"
    _description = "Upload a bank statement file"

    backend_id = fields.Many2one(
        "integration.backend",
        "Bank connection",
        required=True,
        domain="[('connector_type', '=', 'bank'), "
        "('company_id', 'in', allowed_company_ids)]",
        default=lambda self: self._default_backend(),
    )
    data_file = fields.Binary("Statement file", attachment=False)
    filename = fields.Char()
    state = fields.Selection(
        [("upload", "Upload"), ("done", "Done")], default="upload", required=True
    )
    message_id = fields.Many2one("integration.message", readonly=True)
    result = fields.Text(readonly=True)
    result_kind = fields.Selection(
        [("success", "Imported"), ("warning", "Nothing new"), ("danger", "Failed")],
        readonly=True,
    )
    review_count = fields.Integer(readonly=True)

    @api.model
    def _default_backend(self):
        return self.env["integration.backend"].search(
            [
                ("connector_type", "=", "bank"),
                ("company_id", "=", self.env.company.id),
            ],
            limit=1,
        )

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Bank statement import"),
        }

    def action_import(self):
        self.ensure_one()
        if not self.backend_id:
            raise UserError(
                _(
                    "No bank connection is set up for %s: an integration manager "
                    "creates one in Integration > Configuration > Backends "
                    "(connector: Bank). File uploads need no URL.",
                    self.env.company.name,
                )
            )
        if not self.data_file:
            raise UserError(_("Choose the statement file to import."))
        try:
            data = base64.b64decode(self.data_file, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise UserError(_("The file could not be read.")) from exc
        Message = self.env["integration.message"].sudo()
        message, created = Message._intake(
            self.backend_id.sudo(),
            STATEMENT_FILE_TYPE,
            file_hash(data),
            data,
            external_id=self.filename or _("statement"),
            enqueue=False,
        )
        if created:
            # Processed now, the way its job would: the user sees the result.
            message._process()
        self.write(self._result_values(message, created))
        return self._reopen()

    def _result_values(self, message, created):
        values = {"state": "done", "message_id": message.id, "data_file": False}
        if not created:
            values.update(
                result_kind="warning",
                result=_(
                    "This file was already imported on %(date)s (%(message)s): "
                    "nothing was imported again.",
                    date=fields.Datetime.to_string(message.create_date),
                    message=message.name,
                ),
            )
            return values
        if message.state != "done":
            values.update(
                result_kind="danger",
                result=_(
                    "Nothing was imported. %(problem)s",
                    problem=message.error_message or message.state,
                ),
            )
            return values
        lines = self._lines_of(message)
        reviews = lines.filtered(lambda line: line._bank_needs_person())
        if not lines:
            values.update(
                result_kind="warning",
                result=_(
                    "No new transaction: every line of this file was already imported."
                ),
            )
            return values
        states = lines.mapped("bank_match_state")
        values.update(
            result_kind="success",
            review_count=len(reviews),
            result=_(
                "%(count)s new line(s) imported: %(matched)s reconciled with their "
                "invoice, %(ambiguous)s to confirm, %(unmatched)s without a match.",
                count=len(lines),
                matched=states.count("matched"),
                ambiguous=states.count("ambiguous"),
                unmatched=states.count("unmatched"),
            ),
        )
        return values

    def _lines_of(self, message):
        return self.env["account.bank.statement.line"].search(
            [("integration_correlation_id", "=", message.correlation_id)]
        )

    def action_open_message(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "integration.message",
            "res_id": self.message_id.id,
            "view_mode": "form",
        }

    def action_open_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connector_bank.action_bank_statement_line"
        )
        action["domain"] = [
            ("integration_correlation_id", "=", self.message_id.correlation_id)
        ]
        action["context"] = {}
        return action

    def action_open_reviews(self):
        action = self.action_open_lines()
        action["domain"] += [
            ("bank_match_state", "in", ("ambiguous", "unmatched")),
            ("is_reconciled", "=", False),
        ]
        return action
