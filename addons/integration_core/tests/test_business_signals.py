"""Business signals on the Overview: the connector declares a model and a
domain, the core counts it per company (as superuser) and a click opens the
same records with the user's rights; a user of one company sees only that
company's figures; a clerk sees figures of records they may not open."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import IntegrationCase, IntegrationHttpCase
from .signals import BusinessSignalAssertions

SIGNAL_REF = "SIGNAL-%"


def _generic_business_signals(self):
    """A test connector's signals: partners of a reference (the clerk may read
    them, and the datetime of a threshold), and queue jobs (the clerk may not)."""
    hours = self.sla_hours
    return [
        {
            "key": "partners",
            "label": f"partners made over {hours} h ago",
            "model": "res.partner",
            "domain": [
                ("ref", "=like", SIGNAL_REF),
                ("create_date", "<=", fields.Datetime.now() - timedelta(hours=hours)),
            ],
            "help": "Look at them",
        },
        {
            "key": "jobs",
            "label": "jobs of nobody",
            "model": "queue.job",
            "domain": [("name", "=", "no such job")],
        },
        {"label": "counted by the connector", "count": 7},
    ]


class SignalsMixin(BusinessSignalAssertions):
    @classmethod
    def setup_signals(cls):
        cls.startClassPatcher(
            patch.object(
                type(cls.env["integration.backend"]),
                "_generic_business_signals",
                _generic_business_signals,
                create=True,
            )
        )
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Signals B"})
        cls.backend.write({"name": "A shop", "sla_hours": 1})
        cls.backend_b = (
            cls.env["integration.backend"]
            .sudo()
            .create({"name": "B shop", "company_id": cls.company_b.id, "sla_hours": 1})
        )
        Partner = cls.env["res.partner"]
        cls.partners_a = Partner.create(
            [
                {"name": f"A{n}", "ref": f"SIGNAL-A{n}", "company_id": cls.company_a.id}
                for n in range(3)
            ]
        )
        cls.partners_b = Partner.create(
            [
                {"name": f"B{n}", "ref": f"SIGNAL-B{n}", "company_id": cls.company_b.id}
                for n in range(2)
            ]
        )
        # too recent for the threshold, and one of no company (nobody's)
        cls.fresh = Partner.create(
            {"name": "Fresh", "ref": "SIGNAL-F", "company_id": cls.company_a.id}
        )
        Partner.create({"name": "Shared", "ref": "SIGNAL-S", "company_id": False})
        cls.env.cr.execute(
            "UPDATE res_partner SET create_date = now() at time zone 'UTC' "
            "- interval '3 hours' WHERE id IN %s",
            [tuple((cls.partners_a | cls.partners_b).ids)],
        )
        cls.env.invalidate_all()
        cls.clerk_a = new_test_user(
            cls.env,
            login="signals_clerk_a",
            password="signals_clerk_a",
            groups="base.group_user,integration_core.group_integration_user",
            company_id=cls.company_a.id,
            company_ids=[(6, 0, cls.company_a.ids)],
        )


@tagged("post_install", "-at_install")
class TestBusinessSignals(SignalsMixin, IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_signals()

    def test_each_company_counts_its_own_and_the_click_opens_them(self):
        rows = self.signal_rows(self.backend)
        self.assertEqual(rows["partners"]["count"], 3)
        self.assertEqual(rows["partners"]["label"], "partners made over 1 h ago")
        self.assertEqual(rows["partners"]["model_name"], "Contact")
        self.assertEqual(self.open_signal(self.backend, "partners"), self.partners_a)
        self.assertEqual(self.signal_count(self.backend_b, "partners"), 2)
        self.assertEqual(self.open_signal(self.backend_b, "partners"), self.partners_b)
        # the threshold is the backend's: 0 h counts the fresh one as well
        self.backend.sla_hours = 0
        self.assertEqual(
            self.open_signal(self.backend, "partners"), self.partners_a | self.fresh
        )

    def test_the_action_carries_the_same_domain_for_the_browser(self):
        action = self.backend.action_open_business_signal("partners")
        self.assertEqual(action["type"], "ir.actions.act_window")
        self.assertEqual(action["res_model"], "res.partner")
        self.assertIn(["company_id", "=", self.company_a.id], action["domain"])
        (_field, _op, cutoff) = next(
            term for term in action["domain"] if term[0] == "create_date"
        )
        self.assertIsInstance(cutoff, str)  # JSON-able, read back by the ORM
        self.assertFalse(action["context"]["create"])
        self.assertEqual(action["views"], [(False, "list"), (False, "form")])
        with self.assertRaises(UserError):
            self.backend.action_open_business_signal("no such figure")
        with self.assertRaises(UserError):  # counted by the connector: no list
            self.backend.action_open_business_signal("")

    def test_a_user_of_one_company_sees_and_opens_only_its_figures(self):
        Backend = self.env["integration.backend"].with_user(self.clerk_a)
        self.assertEqual(Backend.search([]), self.backend)
        rows = self.signal_rows(self.backend, user=self.clerk_a)
        self.assertEqual(rows["partners"]["count"], 3)
        self.assertTrue(rows["partners"]["can_open"])
        self.assertEqual(
            self.open_signal(self.backend, "partners", user=self.clerk_a),
            self.partners_a,
        )
        with self.assertRaises(AccessError):
            self.backend_b.with_user(self.clerk_a).action_open_business_signal(
                "partners"
            )

    def test_the_clerk_sees_figures_of_records_they_may_not_open(self):
        rows = self.signal_rows(self.backend, user=self.clerk_a)
        self.assertEqual(rows["jobs"]["count"], 0)
        self.assertFalse(rows["jobs"]["can_open"])
        self.assertEqual(rows[""]["count"], 7)
        self.assertFalse(rows[""]["can_open"])
        with self.assertRaisesRegex(UserError, "not allowed to open jobs of nobody"):
            self.backend.with_user(self.clerk_a).action_open_business_signal("jobs")

    def test_html_and_figures_of_the_card(self):
        backend = self.backend.with_user(self.clerk_a)
        self.assertIn("<strong>3</strong> partners made", backend.business_signals)
        data = backend.business_signal_data
        self.assertEqual([row["key"] for row in data], ["partners", "jobs", ""])
        self.assertNotIn("domain", data[0])  # the browser needs no domain

    def test_one_count_per_signal(self):
        backend = self.backend
        backend._business_signal_rows()  # warm the caches (ir.model, rules)
        self.env.flush_all()
        with self.assertQueryCount(__system__=2):
            backend._business_signal_rows()

    def test_a_backend_without_signals_shows_nothing(self):
        with patch.object(
            type(self.env["integration.backend"]), "_generic_business_signals", None
        ):
            self.backend.invalidate_recordset(["business_signal_data"])
            self.assertFalse(self.backend.business_signal_data)
            self.assertFalse(self.backend.business_signals)


@tagged("post_install", "-at_install")
class TestOverviewLoads(SignalsMixin, IntegrationHttpCase):
    """The Overview as the browser loads it, for a clerk of company A."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_signals()

    def test_overview_views_and_cards_load_for_the_clerk(self):
        self.authenticate("signals_clerk_a", "signals_clerk_a")
        action = self.env.ref("integration_core.action_integration_overview")
        views = self.make_jsonrpc_request(
            "/web/dataset/call_kw/integration.backend/get_views",
            {
                "model": "integration.backend",
                "method": "get_views",
                "args": [[[action.view_id.id, "kanban"], [False, "form"]]],
                "kwargs": {"options": {"load_filters": True}},
            },
        )
        arch = views["views"]["kanban"]["arch"]
        self.assertIn('widget="integration_business_signals"', arch)
        cards = self.make_jsonrpc_request(
            "/web/dataset/call_kw/integration.backend/web_search_read",
            {
                "model": "integration.backend",
                "method": "web_search_read",
                "args": [],
                "kwargs": {
                    "domain": [],
                    "specification": {
                        "name": {},
                        "health": {},
                        "business_signal_data": {},
                        "throughput_chart": {},
                    },
                },
            },
        )["records"]
        self.assertEqual([card["name"] for card in cards], ["A shop"])
        figures = {row["key"]: row for row in cards[0]["business_signal_data"]}
        self.assertEqual(figures["partners"]["count"], 3)
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "integration.backend",
                "method": "action_open_business_signal",
                "args": [[self.backend.id], "partners"],
                "kwargs": {},
            },
        )
        records = self.make_jsonrpc_request(
            "/web/dataset/call_kw/res.partner/web_search_read",
            {
                "model": "res.partner",
                "method": "web_search_read",
                "args": [],
                "kwargs": {"domain": action["domain"], "specification": {"name": {}}},
            },
        )
        self.assertEqual(records["length"], 3)

    def test_tour_the_clerk_clicks_a_figure(self):
        """In the browser: the card shows the figures, the one the clerk may
        not open is no link, a click opens the three partners."""
        self.start_tour(
            "/web#action=integration_core.action_integration_overview",
            "integration_core_business_signals",
            login="signals_clerk_a",
            timeout=120,
        )
