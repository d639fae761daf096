"""Chart templates (parsing, errors naming file and line), accounts, and chart updates."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.chart import (
    Account,
    account_tags,
    accounts_with_tag,
    apply_chart_update,
    create_account,
    default_account,
    delete_account,
    deprecate_account,
    get_account,
    get_template,
    list_templates,
    parse_template,
    plan_chart_update,
)
from core.errors import ChartTemplateError, Conflict, NotFound, ValidationError
from tests.conftest import make_org

TINY = (Path(__file__).parents[1] / "example_plugin/comptoir_example/templates/example_tiny.yaml").read_text()


def write_template(tmp_path: Path, text: str, name: str = "example_tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_shipped_templates_carry_metadata():
    templates = list_templates()
    fr = templates["fr_pcg"]
    assert (fr.country, fr.language, fr.currency) == ("FR", "fr", "EUR")
    assert templates["ir_standard"].language == "fa" and templates["ir_standard"].currency == "IRR"
    assert templates["mx_sat"].currency == "MXN" and templates["ch_pme"].currency == "CHF"
    assert {"service", "trading", "manufacturing"} == {a for t in templates.values() for a in t.activities}
    for template in templates.values():
        assert template.accounts[0].line > 1
        assert template.default_accounts["vat_collected"]


BROKEN = [  # (template text, text of the offending line, what the message says)
    ('accounts:\n  - {code: "1", name: x\n', None, "not valid YAML"),
    (TINY.replace("type: equity, tags: [equity.retained", "type: equty, tags: [equity.retained"),
     "equty", "unknown account type equty"),
    (TINY.replace('"700", name: "Sales"', '"600", name: "Sales"'), '"600", name: "Sales"', "appears twice"),
    (TINY.replace('parent: "1", tags: [bank]', 'parent: "9", tags: [bank]'), 'parent: "9"',
     "parent 9 is not defined above"),
    (TINY.replace("tags: [revenue.sales]", "tags: [revenue.salez]"), "revenue.salez", "unknown tag revenue.salez"),
    (TINY.replace('  fx_loss: "810"\n', ""), "default_accounts:", "default account fx_loss is missing"),
    (TINY.replace("version: 1", "version: one"), "version: one", "version must be a positive whole number"),
    (TINY.replace("subtype: receivable, reconcilable", "subtype: payable, reconcilable"),
     "subtype: payable, reconcilable", "a payable account cannot have the type asset"),
    (TINY.replace('{code: "800", name: "Purchases"', '{code: 800, name: "Purchases"'), "code: 800,",
     "must be a quoted code"),
]


@pytest.mark.parametrize(("text", "marker", "fragment"), BROKEN)
def test_a_malformed_template_names_the_file_and_line(tmp_path, text, marker, fragment):
    path = write_template(tmp_path, text)
    with pytest.raises(ChartTemplateError) as caught:
        parse_template(path)
    message = caught.value.translate("en")
    assert str(path) in message and fragment in message
    if marker is None:
        assert ", line 3:" in message
    else:
        line = next(n for n, source in enumerate(text.splitlines(), start=1) if marker in source)
        assert f", line {line}:" in message


def test_the_id_must_match_the_file_name(tmp_path):
    path = write_template(tmp_path, TINY, name="other_name")
    with pytest.raises(ChartTemplateError, match="differs from the file name"):
        parse_template(path)


def test_account_codes_are_unique_per_organization_only(database, org, other_org):
    with database.transaction(org.id) as session:
        create_account(session, "4711", "Clearing", type="asset")
    with database.transaction(other_org.id) as session:
        create_account(session, "4711", "Clearing", type="asset")
    with database.session(org.id) as session, pytest.raises(Conflict):
        create_account(session, "4711", "Again", type="asset")


def test_create_account_reports_every_problem(database, org):
    with database.session(org.id) as session, pytest.raises(ValidationError) as caught:
        create_account(session, "bad code!", "", type="assets", subtype="bank", currency="XXX1",
                       tags=["nope"], parent="none")
    assert {e.field for e in caught.value.errors} == {"code", "name", "type", "subtype", "currency", "tags", "parent"}


def test_create_account_with_parent_currency_and_tags(database, org):
    with database.transaction(org.id) as session:
        parent = session.scalars(select(Account).where(Account.header.is_(True))).first()
        account = create_account(session, "1021", "USD bank", type="asset", subtype="bank", parent=parent.code,
                                 currency="usd", tags=["bank", "asset.current"], reconcilable=True)
        assert account.parent_id == parent.id and account.currency == "USD"
        assert account_tags(session, account) == {"bank", "asset.current"}
        assert "1021" in [a.code for a in accounts_with_tag(session, "bank")]


def test_an_account_in_use_can_only_be_deprecated(database, org):
    with database.transaction(org.id) as session:
        create_account(session, "9990", "Posted to [in use]", type="expense")
        create_account(session, "9991", "Never used", type="expense")
    with database.transaction(org.id) as session:
        with pytest.raises(Conflict, match="deprecate it"):
            delete_account(session, "9990")
        deprecate_account(session, "9990")
        delete_account(session, "9991")
    with database.session(org.id) as session:
        assert get_account(session, "9990").deprecated
        with pytest.raises(NotFound):
            get_account(session, "9991")


def test_a_default_or_parent_account_cannot_be_deleted(database, org):
    with database.session(org.id) as session:
        receivable = default_account(session, "receivable")
        with pytest.raises(Conflict, match="default account"):
            delete_account(session, receivable.code)
        header = session.scalars(select(Account).where(Account.header.is_(True))).first()
        with pytest.raises(Conflict, match="sub-accounts"):
            delete_account(session, header.code)


def test_chart_update_adds_and_renames_but_never_touches_an_account_in_use(database, tmp_path):
    org = make_org(database, "Tiny", chart="example_tiny")
    with database.transaction(org.id) as session:
        get_account(session, "700").name = "Sales [in use]"
    v2_text = (TINY.replace("version: 1", "version: 2")
               .replace('"Sales"', '"Sales of goods"')
               .replace('"Purchases"', '"Purchases of goods"')
               .replace('tags: [bank]}', 'tags: [bank, asset.current]}')
               + '  - {code: "820", name: "Rent", type: expense, tags: [expense.rent]}\n')
    v2 = parse_template(write_template(tmp_path, v2_text))
    with database.transaction(org.id) as session:
        from core.tenancy import current_organization

        organization = current_organization(session)
        plan = plan_chart_update(session, organization, v2)
        summary = {(c.kind.value, c.code, c.applied) for c in plan.changes}
        assert ("add", "820", True) in summary
        assert ("rename", "800", True) in summary
        assert ("keep", "700", False) in summary
        assert ("tag", "100", True) in summary
        # planning changed nothing
        assert session.scalars(select(Account).where(Account.code == "820")).first() is None
        apply_chart_update(session, organization, v2)
    with database.session(org.id) as session:
        assert get_account(session, "820").name == "Rent"
        assert get_account(session, "800").name == "Purchases of goods"
        assert get_account(session, "700").name == "Sales [in use]"
        assert account_tags(session, get_account(session, "100")) == {"bank", "asset.current"}
        from core.tenancy import current_organization

        assert current_organization(session).chart_version == 2
        again = plan_chart_update(session, current_organization(session), v2)
        assert again.applicable == ()


def test_chart_update_needs_a_template(database, org):
    with database.transaction(org.id) as session:
        from core.tenancy import current_organization

        organization = current_organization(session)
        organization.chart_template = None
        with pytest.raises(ValidationError):
            plan_chart_update(session, organization)


def test_get_template_lists_known_ones():
    with pytest.raises(NotFound, match="fr_pcg"):
        get_template("xx_nothing")
