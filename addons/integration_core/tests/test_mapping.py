"""Bindings and value maps: unique both ways, defaults, mapping exceptions."""

import psycopg2

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..exceptions import MappingError
from .common import IntegrationCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestBindings(IntegrationCase):
    def setUp(self):
        super().setUp()
        self.Binding = self.env["integration.binding"]
        self.partner = self.env["res.partner"].create({"name": "P"})

    def test_bind_is_idempotent_and_found(self):
        first = self.Binding._bind(self.backend, self.partner, 100)
        again = self.Binding._bind(self.backend, self.partner, "100")
        self.assertEqual(first, again)
        self.assertEqual(
            self.Binding._find(self.backend, "res.partner", 100), self.partner
        )
        self.assertFalse(self.Binding._find(self.backend, "res.partner", 101))

    def test_unique_external_id(self):
        self.Binding._bind(self.backend, self.partner, "A")
        other = self.env["res.partner"].create({"name": "Q"})
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.Binding.create(
                    {
                        "backend_id": self.backend.id,
                        "res_model": "res.partner",
                        "res_id": other.id,
                        "external_id": "A",
                    }
                )

    def test_unique_record(self):
        self.Binding._bind(self.backend, self.partner, "A")
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.Binding.create(
                    {
                        "backend_id": self.backend.id,
                        "res_model": "res.partner",
                        "res_id": self.partner.id,
                        "external_id": "B",
                    }
                )

    def test_same_external_id_on_two_backends(self):
        other_backend = self.backend.copy()
        self.Binding._bind(self.backend, self.partner, "A")
        other = self.env["res.partner"].create({"name": "Q"})
        self.Binding._bind(other_backend, other, "A")
        self.assertEqual(self.Binding._find(other_backend, "res.partner", "A"), other)


@tagged("post_install", "-at_install")
class TestValueMaps(IntegrationCase):
    def setUp(self):
        super().setUp()
        self.ValueMap = self.env["integration.value.map"]
        self.be = self.env.ref("base.be")
        self.fr = self.env.ref("base.fr")

    def test_lookup_exact_then_default(self):
        self.ValueMap.create(
            {
                "backend_id": self.backend.id,
                "kind": "country",
                "external_code": "BEL",
                "record_ref": f"res.country,{self.be.id}",
            }
        )
        self.assertEqual(self.ValueMap._map(self.backend, "country", "BEL"), self.be)
        with self.assertRaises(MappingError) as info:
            self.ValueMap._map(self.backend, "country", "FRA")
        self.assertEqual(info.exception.code, "FRA")
        self.assertIn("Test backend", info.exception.message)
        self.assertIn("Country 'FRA' is not mapped", info.exception.message)
        self.ValueMap.create(
            {
                "backend_id": self.backend.id,
                "kind": "country",
                "is_default": True,
                "record_ref": f"res.country,{self.fr.id}",
            }
        )
        self.assertEqual(self.ValueMap._map(self.backend, "country", "XXX"), self.fr)

    def test_one_default_and_model_must_match(self):
        self.ValueMap.create(
            {
                "backend_id": self.backend.id,
                "kind": "country",
                "is_default": True,
                "record_ref": f"res.country,{self.fr.id}",
            }
        )
        with self.assertRaises(ValidationError):
            self.ValueMap.create(
                {
                    "backend_id": self.backend.id,
                    "kind": "country",
                    "is_default": True,
                    "external_code": "Z",
                    "record_ref": f"res.country,{self.be.id}",
                }
            )
        with self.assertRaises(ValidationError):
            self.ValueMap.create(
                {
                    "backend_id": self.backend.id,
                    "kind": "country",
                    "external_code": "Y",
                    "record_ref": f"res.partner,{self.env.user.partner_id.id}",
                }
            )

    def test_mapping_exception_create_mapping_and_retry(self):
        first, _c = self.intake({"id": 30, "name": "Gus", "country": "BEL"})
        second, _c = self.intake({"id": 31, "name": "Hal", "country": "BEL"})
        self.process(first)
        self.process(second)
        for message in first | second:
            self.assertEqual(message.state, "failed")
            self.assertEqual(message.error_category, "mapping")
            self.assertEqual(
                (message.mapping_kind, message.mapping_code), ("country", "BEL")
            )
            self.assertIn("'BEL' is not mapped", message.error_message)
        action = first.action_create_mapping()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"record_ref": f"res.country,{self.be.id}"})
        )
        self.assertEqual(wizard.external_code, "BEL")
        with trapped_jobs() as trap:
            wizard.action_confirm()
            # this message is retried at once (the form shows the outcome),
            # the other one missing the same code is queued again
            self.assertEqual(first.state, "done")
            trap.assert_jobs_count(1)
            self.perform_jobs(trap)
        self.assertEqual((first | second).mapped("state"), ["done", "done"])
