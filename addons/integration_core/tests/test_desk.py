"""The exception desk as a clerk works it: access with the desk group only,
problems in words, feedback after each action, mapping, hand-offs,
assignment, SLA notifications, reopening; the overview's figures."""

import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import IntegrationCase, IntegrationHttpCase, make_message_type


def _failed_on_country(case, key, code="BEL"):
    message, _c = case.intake({"id": key, "name": f"N{key}", "country": code})
    case.process(message)
    return message


@tagged("post_install", "-at_install")
class TestDeskAccess(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.job_message, _c = cls.env["integration.message"]._intake(
            cls.backend, "partner.upsert", "job-linked", b'{"id": 1, "name": "A"}'
        )
        # a related record the clerk has no right to read (a queue job)
        cls.job = cls.env["queue.job"].search([("uuid", "=", cls.job_message.job_uuid)])
        cls.job_message.sudo().write(
            {
                "state": "failed",
                "error_category": "business",
                "error_message": "Customer 1 is blocked",
                "res_model": "queue.job",
                "res_id": cls.job.id,
            }
        )

    def test_lists_show_the_related_name_whatever_the_rights(self):
        Message = self.env["integration.message"].with_user(self.user)
        with self.assertRaises(AccessError):
            self.job.with_user(self.user).read(["name"])
        rows = Message.web_search_read(
            [("id", "=", self.job_message.id)],
            {"name": {}, "res_name": {}, "res_readable": {}, "age_display": {}},
        )["records"]
        self.assertEqual(rows[0]["res_name"], self.job.display_name)
        self.assertFalse(rows[0]["res_readable"])
        self.assertTrue(rows[0]["age_display"])
        # opening it follows the clerk's rights, and says what to do instead
        with self.assertRaisesRegex(UserError, "not allowed to open.*Assign"):
            self.job_message.with_user(self.user).action_open_related()
        action = self.job_message.with_user(self.manager).sudo().action_open_related()
        self.assertEqual(action["res_id"], self.job.id)

    def test_desk_users_map_values_and_bind_records(self):
        be = self.env.ref("base.be")
        as_clerk = self.env["integration.value.map"].with_user(self.user)
        line = as_clerk.create(
            {
                "backend_id": self.backend.id,
                "kind": "country",
                "external_code": "BEL",
                "record_ref": f"res.country,{be.id}",
            }
        )
        line.write({"note": "ISO 3"})
        binding = (
            self.env["integration.binding"]
            .with_user(self.user)
            ._bind(self.backend, self.env.user.partner_id, "EXT-1")
        )
        self.assertTrue(binding)
        with self.assertRaises(AccessError):
            line.unlink()
        with self.assertRaises(AccessError):
            self.backend.with_user(self.user).write({"sla_hours": 2})
        with self.assertRaises(AccessError):
            self.env["integration.sync.rule"].with_user(self.user).create(
                {"backend_id": self.backend.id, "business_object": "product"}
            )


@tagged("post_install", "-at_install")
class TestDeskWords(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.titled_type = make_message_type(
            cls.env,
            code="contact.titled",
            schema=json.dumps(
                {
                    "title": "contact",
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": ["string", "integer"]},
                        "name": {"type": "string", "title": "customer name"},
                        "email": {"type": "string"},
                    },
                }
            ),
            document_name="Web contact",
        )

    def test_schema_violations_in_clerk_words_technical_text_kept(self):
        message, _c = self.intake(
            {"id": 7, "email": 42}, message_type="contact.titled", key="t7"
        )
        self.assertEqual(message.name, "Web contact")  # no reference given
        self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertIn("The contact has no customer name.", message.error_message)
        self.assertIn("1 more problem", message.error_message)
        self.assertNotIn("required property", message.error_message)
        self.assertNotIn("problem(s))", message.error_message.split("(and")[0])
        self.assertIn("$: 'name' is a required property", message.error_detail)
        self.assertIn("$.email: 42 is not of type 'string'", message.error_detail)
        self.assertTrue(message.retry_blocked)
        self.assertIn("retrying cannot help", message.next_step)

    def test_malformed_body_says_cut_off_and_offers_no_retry(self):
        message, _c = self.intake({"id": 8}, raw=b'{"id": 8, "name": ', key="cut")
        self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertIn("is cut off", message.error_message)
        self.assertNotIn("Expecting value", message.error_message)
        self.assertIn("Expecting value", message.error_detail)
        self.assertTrue(message.retry_blocked)
        # a manager repairs the payload and reprocesses; the body as
        # received stays attached
        with self.assertRaises(AccessError):
            message.with_user(self.user).action_open_payload_editor()
        editor = Form(
            self.env["integration.message.payload.edit"]
            .with_user(self.manager)
            .with_context(default_message_id=message.id)
        )
        editor.payload = '{"id": 8, "name": "Repaired"}'
        result = editor.save().action_confirm()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(message.state, "done")
        self.assertFalse(message.retry_blocked)
        attachment = self.env["ir.attachment"].search(
            [("res_model", "=", message._name), ("res_id", "=", message.id)]
        )
        self.assertEqual(attachment.raw, b'{"id": 8, "name": ')
        self.assertIn("Payload repaired by", message.message_ids[0].body)

    def test_retry_processes_now_and_says_what_came_of_it(self):
        message, _c = self.intake({"id": 9, "name": "business"}, key="b9")
        self.process(message)
        self.assertEqual(message.state, "failed")
        result = message.with_user(self.user).action_retry_now()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(result["params"]["next"]["tag"], "soft_reload")
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn(
            "still failing: Customer 9 is blocked", result["params"]["message"]
        )
        self.assertIn("still failing", message.message_ids[0].body)
        self.assertEqual(message.attempts, 1)


@tagged("post_install", "-at_install")
class TestDeskMapping(IntegrationCase):
    def test_clerk_maps_by_kind_and_sees_the_outcome(self):
        first = _failed_on_country(self, 30)
        second = _failed_on_country(self, 31)
        self.assertIn("Map and retry", first.next_step)
        action = first.with_user(self.user).action_create_mapping()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.user)
            .with_context(**action["context"])
        )
        # the kind says what is chosen: a country, no record type to pick
        self.assertEqual(wizard.target_field, "country_id")
        self.assertEqual(wizard.external_code, "BEL")
        wizard.country_id = self.env.ref("base.be")
        record = wizard.save()
        result = record.action_confirm()
        self.assertEqual(result["params"]["type"], "success")
        self.assertIn("mapped to Belgium", result["params"]["message"])
        self.assertIn("1 other message", result["params"]["message"])
        self.assertEqual(first.state, "done")  # now, not after a job
        self.assertEqual(second.state, "received")  # queued again
        self.assertIn("mapped to Belgium", first.message_ids[0].body)
        self.assertIn("done", first.message_ids[0].body)

    def test_inactive_currency_is_activated_not_created(self):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", "XAF")])
        )
        currency.active = False
        message = _failed_on_country(self, 32)
        message.sudo().write({"mapping_kind": "currency", "mapping_code": "XAF"})
        admin = self.env.ref("base.user_admin")
        wizard = (
            self.env["integration.value.map.create"]
            .with_user(admin)
            .create({"message_id": message.id})
        )
        self.assertEqual(wizard.inactive_record_name, "XAF")
        self.assertTrue(wizard.can_activate)
        wizard.action_activate_and_retry()
        self.assertTrue(currency.active)
        self.assertIn("XAF activated", message.message_ids[0].body)

    def test_what_the_clerk_may_not_do_is_handed_over(self):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", "XAF")])
        )
        currency.active = False
        message = _failed_on_country(self, 33)
        message.sudo().write({"mapping_kind": "currency", "mapping_code": "XAF"})
        wizard = Form(
            self.env["integration.value.map.create"]
            .with_user(self.user)
            .with_context(default_message_id=message.id)
        )
        self.assertFalse(wizard.can_activate)
        self.assertIn("not allowed to activate XAF", wizard.rights_note)
        helper = wizard.handoff_user_id
        self.assertTrue(helper)
        self.assertTrue(helper.has_group("base.group_system"))
        record = wizard.save()
        with self.assertRaisesRegex(UserError, "not allowed"):
            record.action_activate_and_retry()
        record.action_handoff()
        activity = message.activity_ids
        self.assertEqual(activity.user_id, helper)
        self.assertIn("activate XAF", activity.note)
        self.assertEqual(message.assignee_id, helper)
        self.assertFalse(currency.active)


@tagged("post_install", "-at_install")
class TestDeskAssignment(IntegrationCase):
    def test_assign_a_colleague_with_due_date_and_notify(self):
        message = _failed_on_country(self, 40)
        due = fields.Date.today() + timedelta(days=2)
        wizard = (
            self.env["integration.message.assign"]
            .with_user(self.user)
            .with_context(active_ids=message.ids)
            .create({"user_id": self.manager.id, "date_deadline": due, "note": "Look"})
        )
        result = wizard.action_confirm()
        self.assertIn("assigned to", result["params"]["message"])
        self.assertEqual(message.assignee_id, self.manager)
        activity = message.activity_ids
        self.assertEqual(
            (activity.user_id, activity.date_deadline), (self.manager, due)
        )
        # the activity's assignment notified the colleague
        notified = self.env["mail.message"].search(
            [
                ("model", "=", message._name),
                ("res_id", "=", message.id),
                ("partner_ids", "in", self.manager.partner_id.ids),
            ]
        )
        self.assertTrue(notified)

    def test_ignored_item_can_be_reopened(self):
        message = _failed_on_country(self, 41)
        message.with_user(self.user).action_ignore("test order")
        self.assertEqual(message.state, "ignored")
        self.assertFalse(message.needs_attention)
        message.with_user(self.user).action_reopen()
        self.assertEqual(message.state, "failed")
        self.assertTrue(message.needs_attention)
        self.assertFalse(message.ignore_reason)
        self.assertIn("Reopened by", message.message_ids[0].body)
        skipped = _failed_on_country(self, 42)
        skipped.sudo().write({"state": "ignored"})  # skipped by a rule
        with self.assertRaises(UserError):
            skipped.action_reopen()

    def test_items_past_the_sla_are_notified_once(self):
        self.backend.sla_hours = 1
        self.backend.desk_responsible_id = self.manager
        old = _failed_on_country(self, 43)
        fresh = _failed_on_country(self, 44)
        self.env.cr.execute(
            "UPDATE integration_message SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(hours=3), old.id),
        )
        old.invalidate_recordset()
        Message = self.env["integration.message"]
        self.assertEqual(Message._cron_notify_over_sla(), 1)
        note = self.env["mail.message"].search(
            [("model", "=", old._name), ("res_id", "=", old.id)], limit=1
        )
        self.assertIn("Older than its SLA", note.subject)
        self.assertIn(self.manager.partner_id, note.partner_ids)
        self.assertTrue(old.sla_notified)
        self.assertFalse(fresh.sla_notified)
        self.assertEqual(Message._cron_notify_over_sla(), 0)


@tagged("post_install", "-at_install")
class TestOverviewFigures(IntegrationCase):
    def test_figures_add_up_and_clicks_show_their_filter(self):
        backend = self.backend
        backend.invalidate_recordset()
        self.assertEqual(backend.health, "unknown")
        labels = dict(backend._fields["health"].selection)
        self.assertEqual(labels[backend.health], "Nothing exchanged yet")
        ok, _c = self.intake({"id": 50, "name": "Ok"})
        self.process(ok)
        backend.invalidate_recordset()
        # inbound only, no outbound call ever: healthy all the same
        self.assertEqual(backend.health, "ok")
        _failed_on_country(self, 51)
        backend.invalidate_recordset()
        self.assertEqual(backend.health, "attention")
        self.assertEqual((backend.count_done, backend.count_exceptions), (1, 1))
        self.assertEqual(backend.oldest_exception_age, "just now")
        self.assertIn("24 h ago", backend.throughput_chart)
        self.assertIn("now</text>", backend.throughput_chart)
        action = backend.action_view_failed()
        self.assertEqual(
            action["context"],
            {"search_default_state_failed": 1, "search_default_backend_id": backend.id},
        )
        self.assertNotIn(("state", "=", "failed"), action.get("domain") or [])
        done = backend.action_view_done()
        self.assertEqual(done["context"]["search_default_done_24h"], 1)
        self.assertEqual(
            self.env["integration.message"].search(
                [("backend_id", "=", backend.id), ("done_recently", "=", True)]
            ),
            ok,
        )
        exceptions = backend.action_view_exceptions()
        self.assertEqual(exceptions["domain"], "[('needs_attention', '=', True)]")


@tagged("post_install", "-at_install")
class TestDeskBrowser(IntegrationHttpCase):
    """What the browser asks for, as a clerk with the desk group only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clerk = new_test_user(
            cls.env,
            login="desk_clerk",
            password="desk_clerk_pw",
            groups="base.group_user,integration_core.group_integration_user",
        )
        message, _c = cls.env["integration.message"]._intake(
            cls.backend, "partner.upsert", "http-1", b'{"id": 1, "name": "A"}'
        )
        job = cls.env["queue.job"].search([("uuid", "=", message.job_uuid)])
        message.sudo().write(
            {
                "state": "failed",
                "error_category": "business",
                "error_message": "blocked",
                "res_model": "queue.job",
                "res_id": job.id,
            }
        )
        cls.message = message

    def test_exceptions_and_messages_load_for_the_clerk(self):
        self.authenticate("desk_clerk", "desk_clerk_pw")
        for xmlid in ("action_integration_exceptions", "action_integration_message"):
            action = self.env.ref(f"integration_core.{xmlid}")
            views = self.make_jsonrpc_request(
                "/web/dataset/call_kw/integration.message/get_views",
                {
                    "model": "integration.message",
                    "method": "get_views",
                    "args": [[[action.view_id.id, "list"], [False, "form"]]],
                    "kwargs": {"options": {"load_filters": True}},
                },
            )
            list_fields = views["views"]["list"]["arch"]
            self.assertIn("res_name", list_fields)
            result = self.make_jsonrpc_request(
                "/web/dataset/call_kw/integration.message/web_search_read",
                {
                    "model": "integration.message",
                    "method": "web_search_read",
                    "args": [],
                    "kwargs": {
                        "domain": [("id", "=", self.message.id)],
                        "specification": {
                            "name": {},
                            "res_name": {},
                            "error_message": {},
                            "age_display": {},
                            "over_sla": {},
                            "assignee_id": {"fields": {"display_name": {}}},
                            "activity_ids": {"fields": {}},
                            "state": {},
                        },
                    },
                },
            )
            self.assertEqual(result["length"], 1, xmlid)
            self.assertTrue(result["records"][0]["res_name"])
        form = self.make_jsonrpc_request(
            "/web/dataset/call_kw/integration.message/web_read",
            {
                "model": "integration.message",
                "method": "web_read",
                "args": [[self.message.id]],
                "kwargs": {
                    "specification": {
                        "summary_html": {},
                        "next_step": {},
                        "res_name": {},
                        "res_readable": {},
                    }
                },
            },
        )
        self.assertFalse(form[0]["res_readable"])
        self.assertTrue(form[0]["next_step"])


@tagged("post_install", "-at_install")
class TestMessageSearch(IntegrationCase):
    def test_name_search_finds_each_searched_field_alone(self):
        Message = self.env["integration.message"]
        first, _c = Message._intake(
            self.backend,
            "partner.upsert",
            "idem-7731",
            b"{}",
            external_id="EXT-4410",
            correlation_id="corr-9a8b7c",
        )
        second, _c = Message._intake(
            self.backend, "partner.upsert", "idem-7732", b"{}", reference="#5521"
        )
        for text, expected in (
            ("EXT-44", first),
            ("9a8b7", first),
            ("idem-7731", first),
            ("#5521", second),
            ("idem-773", first | second),
        ):
            found = Message.browse([i for i, _n in Message.name_search(text)])
            self.assertEqual(found, expected, text)
        # the domain and the limit still apply, newest first
        self.assertEqual(
            [i for i, _n in Message.name_search("idem-773", limit=1)], [second.id]
        )
        self.assertFalse(
            Message.name_search("idem-773", [("id", "=", 0)]), "domain ignored"
        )
        self.assertEqual(self.backend.message_ids_count, 2)
