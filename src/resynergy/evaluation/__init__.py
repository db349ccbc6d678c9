"""Enterprise evaluation and tax incentives (issue 13): the 2018 MIIT utilization evaluation, the
VAT refund catalogues (2015, 2022), the EIT 90 % income rule and the environmental-protection tax
on solid waste, as rules-as-data; an enterprise's monthly ISW ledger (XLSX template, or built from
actual flows) with its mass balance; and the eligibility engine that answers, with the rule row
and a plain reason, which products qualify and for how much.

A core package: it imports no web, store, services, cli or report module. The platform stores
what these functions return; the printable report is :mod:`resynergy.report.evaluation`.
"""

from __future__ import annotations

from resynergy.evaluation.eligibility import VERDICT_TEXT, Assessment, Verdict, assess, issue_dict
from resynergy.evaluation.ledger import (
    Ledger,
    LedgerError,
    LedgerIssue,
    check_balance,
    empty_ledger,
    ledger_from_flows,
    ledger_to_xlsx,
    read_ledger,
    write_template,
)
from resynergy.evaluation.periods import Period, PeriodError
from resynergy.evaluation.rules import Rules, load_rules

__all__ = [
    "VERDICT_TEXT", "Assessment", "Ledger", "LedgerError", "LedgerIssue", "Period", "PeriodError", "Rules", "Verdict",
    "assess", "check_balance", "empty_ledger", "ledger_from_flows", "ledger_to_xlsx", "load_rules",
    "issue_dict", "read_ledger", "write_template",
]
