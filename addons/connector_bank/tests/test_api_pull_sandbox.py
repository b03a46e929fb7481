"""The scheduled pull against the repository's sandbox bank (the contract of
readme/DEVELOP.md), with its fault injection: nothing lost, nothing twice."""

from odoo.tests import tagged

from .common import EUR_IBAN, TOKEN, BankCase, trapped_jobs

try:
    from sandbox.testing import RunningSandbox
except ImportError:  # pragma: no cover - the sandbox ships with the repository
    RunningSandbox = None


@tagged("post_install", "-at_install")
class TestBankApiPullSandbox(BankCase):
    def setUp(self):
        super().setUp()
        if RunningSandbox is None:
            self.skipTest("the repository's sandbox is not importable")
        self.rule = self.backend._sync_rule("bank_statement")

    def pull(self):
        with trapped_jobs() as trap:
            result = self.rule._poll_job()
            self.perform_jobs(trap)
        return result

    def lines(self):
        return self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)]
        )

    def test_pull_through_faults_then_resume(self):
        with RunningSandbox() as sb:
            bank = sb.bank("sandbox-bank")
            bank.configure(token=TOKEN)
            bank.create_account(EUR_IBAN, "EUR")
            bank.add_transactions(
                EUR_IBAN,
                [
                    {"amount": "12.50", "remittance_unstructured": f"Transfer {n}"}
                    for n in range(5)
                ],
            )
            self.backend.write({"base_url": bank.base_url, "bank_page_size": 2})
            # a 429 and a 503 on the way: the client retries, nothing is lost
            sb.add_fault(
                system="bank", match="api", kind="rate_limit", seconds=0.1, count=1
            )
            sb.add_fault(
                system="bank", match="api", kind="http_status", status=503, count=1
            )
            self.pull()
            self.assertEqual(len(self.lines()), 5)
            # new transactions later: only they come in
            bank.add_transactions(EUR_IBAN, [{"amount": "-4.00"}])
            self.pull()
            self.assertEqual(len(self.lines()), 6)
            # an outage longer than the retries: the run stops, the next resumes
            sb.add_fault(
                system="bank", match="api", kind="http_status", status=503, count=10
            )
            bank.add_transactions(EUR_IBAN, [{"amount": "1.00"}])
            self.pull()
            self.assertEqual(len(self.lines()), 6)
            sb.clear_faults()
            self.pull()
            self.assertEqual(len(self.lines()), 7)
            self.assertEqual(
                sorted(self.lines().mapped("amount")),
                [-4.0, 1.0, 12.5, 12.5, 12.5, 12.5, 12.5],
            )
