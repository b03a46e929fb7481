"""The connector contract, exercised by a minimal test-only connector.

``dummy`` is added to the connector types for these tests only; its hooks
are patched onto ``integration.backend`` under their contract names, the way
a connector addon defines them. Every hook the core dispatches is called
through the core's own entry points.
"""

import json
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests.common import TransactionCase

from ..exceptions import ConcurrencyConflict, SkipMessage
from ..models.integration_backend import archive_backends_of_removed_connector
from ..tools.redaction import redact_text

DUMMY_TOKEN = "dummy-issued-token-123"


def _dummy_backend_defaults(self):
    return {"api_version": "v9", "rate_limit": 1.5}


def _dummy_default_sync_rules(self):
    return [
        {
            "business_object": "partner",
            "system_of_record": "external",
            "direction": "import",
            "mode": "scheduled",
            "interval_minutes": 5,
        }
    ]


def _dummy_webhook_verify(self, headers, body):
    return headers.get("X-Dummy-Token") == "let-me-in"


def _dummy_webhook_envelope(self, headers, body):
    return {
        "message_type": "dummy.ping",
        "idempotency_key": headers["X-Dummy-Id"],
        "external_id": headers["X-Dummy-Id"],
        "reference": "#7",
    }


def _dummy_test_connection(self):
    return f"dummy {self.name} answers"


def _dummy_poll_partner(self, rule):
    self.env["integration.message"]._intake(
        self, "dummy.ping", f"poll-{rule.id}", b'{"name": "Polled"}'
    )
    return 1


def _dummy_business_signals(self):
    return [{"label": "pings waiting", "count": 2}]


def _dummy_secrets(self):
    return [DUMMY_TOKEN]


def _dummy_handle_ping(self, message, data):
    # handlers run in the backend's company
    assert self.env.company == self.company_id, self.env.company
    return self.env["res.partner"].create({"name": data["name"]})


def _dummy_recheck_review(self, message, record):
    return False if record.ref == "fixed" else f"{record.name} still needs a look"


HOOKS = {
    name: function
    for name, function in globals().items()
    if name.startswith("_dummy_") and callable(function)
}


class TestConnectorContract(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for model in ("integration.backend", "integration.message"):
            field = cls.env[model]._fields["connector_type"]
            if callable(field.selection):

                def selection(records, original=field.selection):
                    return original(records) + [("dummy", "Dummy")]

            else:
                selection = field.selection + [("dummy", "Dummy")]
            cls.startClassPatcher(patch.object(field, "selection", selection))
        backend_class = type(cls.env["integration.backend"])
        for name, function in HOOKS.items():
            cls.startClassPatcher(
                patch.object(backend_class, name, function, create=True)
            )
        cls.company = cls.env["res.company"].create({"name": "Dummy Co"})
        cls.backend = (
            cls.env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Dummy",
                    "connector_type": "dummy",
                    "company_id": cls.company.id,
                }
            )
        )
        MessageType = cls.env["integration.message.type"].sudo()
        cls.ping_type = MessageType.create(
            {
                "name": "Dummy ping",
                "code": "dummy.ping",
                "connector_type": "dummy",
                "business_object": "partner",
                "handler": "_dummy_handle_ping",
                "json_schema": json.dumps(
                    {"type": "object", "required": ["name"]}, indent=None
                ),
            }
        )
        cls.review_type = MessageType.create(
            {
                "name": "Dummy review",
                "code": "dummy.review",
                "connector_type": "dummy",
                "business_object": "other",
                "handler": "_dummy_recheck_review",
                "is_desk_item": True,
            }
        )

    def test_backend_defaults_and_default_sync_rules(self):
        self.assertEqual(self.backend.api_version, "v9")
        self.assertEqual(self.backend.rate_limit, 1.5)
        rule = self.backend._sync_rule("partner")
        self.assertEqual(
            (rule.system_of_record, rule.direction, rule.interval_minutes),
            ("external", "import", 5),
        )
        generic = self.env["integration.backend"].sudo().create({"name": "G"})
        self.assertFalse(generic.sync_rule_ids, "the core's default: no rules")

    def test_webhook_hooks(self):
        headers = {"X-Dummy-Token": "let-me-in", "X-Dummy-Id": "evt-1"}
        self.assertTrue(self.backend._webhook_verify(headers, b"{}"))
        self.assertFalse(self.backend._webhook_verify({"X-Dummy-Id": "x"}, b"{}"))
        message, created = self.env["integration.message"]._intake_webhook(
            self.backend, headers, b'{"name": "Hooked"}'
        )
        self.assertTrue(created)
        self.assertEqual(message.message_type_id, self.ping_type)
        self.assertEqual(message.name, "Dummy ping #7")
        message._process_job()
        self.assertEqual(message.state, "done", message.error_message)
        partner = message._related_record()
        self.assertEqual(partner.name, "Hooked")
        self.assertEqual(message.company_id, self.company)

    def test_poll_test_connection_signals_secrets(self):
        rule = self.backend._sync_rule("partner")
        self.assertEqual(self.backend._poll(rule), 1)
        self.assertEqual(self.backend._test_connection(), "dummy Dummy answers")
        self.assertEqual(
            self.backend._business_signals(), [{"label": "pings waiting", "count": 2}]
        )
        self.assertIn("pings waiting", self.backend.business_signals)
        self.assertIn(DUMMY_TOKEN, self.backend._secrets())
        self.assertNotIn(
            DUMMY_TOKEN,
            redact_text(f"token={DUMMY_TOKEN}", self.backend._secrets()),
        )
        # a business object without a poller polls nothing
        other = self.env["integration.sync.rule"].create(
            {"backend_id": self.backend.id, "business_object": "invoice"}
        )
        self.assertEqual(self.backend._poll(other), 0)

    def test_handler_names_are_checked_when_types_load(self):
        MessageType = self.env["integration.message.type"].sudo()
        with self.assertRaisesRegex(ValidationError, "must start with _dummy_"):
            MessageType.create(
                {
                    "name": "Stolen",
                    "code": "dummy.stolen",
                    "connector_type": "dummy",
                    "handler": "_generic_handle_contact_upsert",
                }
            )
        with self.assertRaisesRegex(ValidationError, "no method _dummy_typo"):
            MessageType.create(
                {
                    "name": "Typo",
                    "code": "dummy.typo",
                    "connector_type": "dummy",
                    "handler": "_dummy_typo",
                }
            )

    def test_desk_item_raise_retry_resolve(self):
        Message = self.env["integration.message"]
        record = self.env["res.partner"].create({"name": "Odd customer"})
        item = Message._desk_item_raise(
            self.backend, "dummy.review", record, "Odd customer: check the VAT"
        )
        self.assertTrue(item.needs_attention)
        self.assertEqual(item.error_message, "Odd customer: check the VAT")
        self.assertEqual(item._related_record(), record)
        again = Message._desk_item_raise(
            self.backend, "dummy.review", record, "Odd customer: check the VAT"
        )
        self.assertEqual(again, item, "one item per record and kind")
        item.action_retry()  # the re-check hook says it is still open
        self.assertTrue(item.needs_attention)
        self.assertEqual(item.error_message, "Odd customer still needs a look")
        record.ref = "fixed"
        item.action_retry()
        self.assertFalse(item.needs_attention)
        self.assertEqual(item.state, "done")
        # solved elsewhere: resolve closes an open item
        other = self.env["res.partner"].create({"name": "Other"})
        item2 = Message._desk_item_raise(self.backend, "dummy.review", other, "Look")
        Message._desk_item_resolve(self.backend, "dummy.review", other)
        self.assertFalse(item2.needs_attention)

    def test_uninstalling_a_connector_archives_its_backends(self):
        message, _created = self.env["integration.message"]._intake(
            self.backend, "dummy.ping", "kept", b'{"name": "Kept"}'
        )
        partner = self.env["res.partner"].create({"name": "Bound"})
        binding = self.env["integration.binding"]._bind(self.backend, partner, "P-1")
        archive_backends_of_removed_connector(self.backend)
        self.assertFalse(self.backend.active)
        self.assertEqual(self.backend.connector_type, "generic")
        self.assertTrue(message.exists())
        self.assertTrue(binding.exists())
        self.assertIn(
            "dummy connector was uninstalled", self.backend.message_ids[0].body
        )


class TestCoreHelpers(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = (
            cls.env["integration.backend"].sudo().create({"name": "Helpers backend"})
        )

    def test_advisory_lock_by_namespace_and_key(self):
        self.assertTrue(self.backend._advisory_lock("test.order", 42))
        with self.registry.cursor() as other_cr:
            other = self.backend.with_env(self.env(cr=other_cr))
            self.assertFalse(other._advisory_lock("test.order", 42))
            self.assertTrue(other._advisory_lock("test.order", 43))
            self.assertTrue(other._advisory_lock("test.other", 42))
            with self.assertRaises(ConcurrencyConflict):
                other._advisory_lock("test.order", 42, "Order 42 is busy")
            other_cr.rollback()

    def test_version_guard(self):
        partner = self.env["res.partner"].create({"name": "Versioned"})
        Binding = self.env["integration.binding"]
        binding = Binding._bind(
            self.backend, partner, "V-1", external_updated_at="2026-01-02 10:00:00"
        )
        self.assertTrue(
            self.backend._skip_if_stale(binding, binding.external_updated_at, "V-1"),
            "the very version applied",
        )
        newer = binding.external_updated_at.replace(hour=11)
        older = binding.external_updated_at.replace(hour=9)
        self.assertFalse(self.backend._skip_if_stale(binding, newer, "V-1"))
        with self.assertRaisesRegex(SkipMessage, "older than the one applied"):
            self.backend._skip_if_stale(binding, older, "V-1")
        self.assertFalse(self.backend._skip_if_stale(Binding, older, "new"))

    def test_bindings_in_bulk(self):
        Binding = self.env["integration.binding"]
        partners = self.env["res.partner"].create([{"name": f"B{i}"} for i in range(3)])
        for index, partner in enumerate(partners):
            Binding._bind(self.backend, partner, f"EXT-{index}")
        partners[2].unlink()
        with self.assertQueryCount(3):
            found = Binding._find_many(
                self.backend, "res.partner", ["EXT-0", "EXT-1", "EXT-2", "EXT-9"]
            )
        self.assertEqual(found, {"EXT-0": partners[0], "EXT-1": partners[1]})

    def test_partner_resolver(self):
        Resolver = self.env["integration.partner.resolver"]
        existing = self.env["res.partner"].create(
            {"name": "Ada L.", "email": "ada@example.com"}
        )
        partner = Resolver._resolve(
            self.backend, "C-1", {"name": "Ada Lovelace"}, email="ADA@example.com"
        )
        self.assertEqual(partner, existing, "found by email, not duplicated")
        self.assertEqual(partner.name, "Ada Lovelace")
        again = Resolver._resolve(self.backend, "C-1", {"name": "Ada Lovelace"})
        self.assertEqual(again, existing, "found by binding")
        new = Resolver._resolve(
            self.backend,
            "C-2",
            {"name": "Grace"},
            email="grace@example.com",
            create_values={"customer_rank": 1},
        )
        self.assertEqual((new.name, new.customer_rank), ("Grace", 1))
        address = {
            "name": "Grace",
            "street": "1 Navy Rd",
            "street2": False,
            "city": "Arlington",
            "zip": "22201",
            "country_id": False,
        }
        invoice, delivery, same = Resolver._addresses(
            new, [("invoice", address), ("delivery", address), ("delivery", None)]
        )
        self.assertEqual(invoice.parent_id, new)
        self.assertNotEqual(invoice, delivery)
        self.assertEqual(same, new)
        self.assertEqual(
            Resolver._addresses(new, [("delivery", dict(address, city="ARLINGTON "))]),
            [delivery],
            "an address seen before is found again",
        )
        # Odoo is system of record for partners: a contact feed is skipped,
        # an order's customer is still used as it is
        self.env["integration.sync.rule"].create(
            {
                "backend_id": self.backend.id,
                "business_object": "partner",
                "system_of_record": "odoo",
            }
        )
        with self.assertRaises(SkipMessage):
            Resolver._resolve(self.backend, "C-2", {"name": "Renamed"}, strict=True)
        self.assertEqual(
            Resolver._resolve(self.backend, "C-2", {"name": "Renamed"}), new
        )
        self.assertEqual(new.name, "Grace")
