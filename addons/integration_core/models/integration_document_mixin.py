import logging

from odoo import _, api, fields, models
from odoo.osv import expression

from ..tools import trace as trace_tools

_logger = logging.getLogger(__name__)


class IntegrationDocumentMixin(models.AbstractModel):
    """Gives a business document its integration messages: a smart button
    and the correlation id of the exchange that created it; and its part of
    an order's trace (``_integration_trace*``, see ``tools/trace.py``)."""

    _name = "integration.document.mixin"
    _description = "Integration messages of a document"

    integration_correlation_id = fields.Char(
        "Integration correlation id", copy=False, index=True, readonly=True
    )
    integration_message_count = fields.Integer(
        compute="_compute_integration_message_count",
        groups="integration_core.group_integration_user",
    )

    def _integration_reference(self):
        """The name people know the document by in exchanges: outbound
        messages of the outbox about this one document are named after it."""
        self.ensure_one()
        return self.display_name

    def _integration_message_domain(self):
        domain = ["&", ("res_model", "=", self._name), ("res_id", "in", self.ids)]
        correlations = [c for c in self.mapped("integration_correlation_id") if c]
        if correlations:
            domain = ["|", ("correlation_id", "in", correlations)] + domain
        return domain

    @api.depends("integration_correlation_id")
    def _compute_integration_message_count(self):
        Message = self.env["integration.message"]
        for record in self:
            record.integration_message_count = (
                Message.search_count(record._integration_message_domain())
                if record.id
                else 0
            )

    def action_view_integration_messages(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_message"
        )
        action.update(
            domain=self._integration_message_domain(),
            name=_("Integration messages"),
            context={},
        )
        return action

    # ------------------------------------------------------------------
    # The order trace: every step across systems, from the documents and
    # their messages (tools/trace.py holds the mechanics)
    # ------------------------------------------------------------------
    # Which document a message's trace prefers when a correlation id names
    # several (a sale order beats its delivery; a partner is never a trace).
    _integration_trace_rank = 0

    def _integration_trace_root(self):
        """The document whose trace this one is part of (a delivery: its
        sale order). Extended by the addon that knows the link."""
        self.ensure_one()
        return self

    def _integration_trace_documents(self):
        """The documents whose steps make this one's trace (besides
        itself): recordsets of documents. A sale order gives its deliveries
        and invoices, an invoice its bank lines. Each addon adds the links
        it knows; the core follows them transitively."""
        self.ensure_one()
        return []

    def _integration_trace_steps(self):
        """The steps this document contributes: a list of step dicts (see
        ``integration_core/tools/trace.py``), happened ones with ``at``,
        expected ones without. Each addon extends it on the models it
        owns (``super()`` first)."""
        self.ensure_one()
        return []

    # helpers for the hooks ------------------------------------------------
    def _integration_trace_ref(self):
        self.ensure_one()
        return {
            "res_model": self._name,
            "res_id": self.id,
            "document": self.display_name,
        }

    def _integration_trace_messages(self, domain=None, order="id"):
        """This document's messages (by correlation id or related record),
        narrowed by ``domain``."""
        return self.env["integration.message"].search(
            expression.AND([self._integration_message_domain(), domain or []]),
            order=order,
        )

    def _integration_trace_tracked_at(self, field_name, value):
        """When ``field_name`` first became ``value`` by the chatter's
        tracking (``None`` when it was not tracked)."""
        self.ensure_one()
        field = self.env["ir.model.fields"]._get(self._name, field_name)
        values = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("field_id", "=", field.id),
                    ("mail_message_id.model", "=", self._name),
                    ("mail_message_id.res_id", "=", self.id),
                ],
                order="id",
            )
        )
        selection = self._fields[field_name].type == "selection"
        label = (
            dict(self._fields[field_name]._description_selection(self.env)).get(value)
            if selection
            else value
        )
        for tracked in values:
            if tracked.new_value_char in (value, label):
                return tracked.mail_message_id.date
        return None

    # gathering ------------------------------------------------------------
    def _integration_trace_collect(self):
        """``(root, documents)``: this document's root and every document
        of its trace, read as superuser but only in the companies the user
        works in (as the desk shows related names whatever the rights)."""
        self.ensure_one()
        companies = self.env.companies
        root = self.sudo()._integration_trace_root()
        documents, seen, queue = [], set(), [root]
        while queue:
            record = queue.pop(0)
            key = (record._name, record.id)
            if key in seen or not hasattr(record, "_integration_trace_steps"):
                continue
            seen.add(key)
            company = record["company_id"] if "company_id" in record._fields else None
            if company and company not in companies:
                continue
            documents.append(record)
            for related in record._integration_trace_documents():
                queue.extend(related.exists())
        return root, documents

    def _integration_trace_summary(self, now=None):
        """The whole trace: ``{"steps", "stuck", "next", "headline", "state",
        "root"}`` (see ``tools/trace.py``)."""
        self.ensure_one()
        root, documents = self._integration_trace_collect()
        steps = []
        for document in documents:
            try:
                with self.env.cr.savepoint():
                    steps.extend(document._integration_trace_steps())
            except Exception:  # pylint: disable=broad-except
                # a screen to read: one document's failure hides only its steps
                _logger.exception("Trace steps of %s failed", document)
                steps.append(
                    trace_tools.step(
                        "exception",
                        _("The steps of %s could not be read", document.display_name),
                        document.create_date,
                        **document._integration_trace_ref(),
                    )
                )
        # open exceptions, read with the user's rights (the desk's rules)
        Message = self.env["integration.message"]
        domain = expression.OR([d._integration_message_domain() for d in documents])
        keys = {(d._name, d.id) for d in documents}
        exceptions = []
        if documents:
            for item in Message.search(
                expression.AND([[("needs_attention", "=", True)], domain]),
                order="create_date, id",
            ):
                if (
                    item.res_model
                    and item.res_id
                    and (item.res_model, item.res_id) not in keys
                ):
                    continue  # another document's, sharing a correlation id
                exceptions.append(
                    {
                        "id": item.id,
                        "name": item.name,
                        "problem": item.error_message or item.business_exception,
                        "at": item.create_date,
                        "res_model": item.res_model,
                        "res_id": item.res_id,
                        "document": item.res_name,
                        "system": item.backend_id.name,
                    }
                )
        summary = trace_tools.build(steps, now or fields.Datetime.now(), exceptions)
        summary["root"] = (root._name, root.id, root.display_name)
        return summary

    def _integration_trace(self, now=None):
        """Entry point: the trace of the order this document belongs to, a
        list of plain step dicts in trace order (happened ones by time, then
        the expected ones); exactly one has ``stuck`` when the order is
        stuck or waits. Keys: see ``integration_core/tools/trace.py``."""
        return self._integration_trace_summary(now=now)["steps"]

    def action_open_integration_trace(self):
        self.ensure_one()
        return self.env["integration.trace"]._open_for(self)
