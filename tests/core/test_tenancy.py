"""Organizations: creation from every shipped chart, codes and names, head offices and branches."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import audit
from core.chart import Account, default_account, get_template, list_templates
from core.errors import Conflict, NotFound, ValidationError
from core.periods import list_fiscal_years
from core.plugins import enabled_plugins
from core.tenancy import branches, create_organization, find_organization
from tests.conftest import make_org

SHIPPED = ["generic_service", "generic_trading", "generic_manufacturing", "fr_pcg", "ch_pme", "mx_sat", "ir_standard"]


def test_every_required_template_is_shipped():
    assert set(SHIPPED) <= set(list_templates())


@pytest.mark.parametrize("template_id", SHIPPED)
def test_create_an_organization_with_each_shipped_chart(database, template_id):
    template = get_template(template_id)
    org = make_org(database, f"Org {template_id}", chart=template_id,
                   currency=None if template.currency else "EUR")
    assert org.currency == (template.currency or "EUR")
    assert org.chart_template == template_id and org.chart_version == template.version
    with database.session(org.id, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Account)) == len(template.accounts)
        for role, code in template.default_accounts.items():
            assert default_account(session, role).code == code
        assert len(list_fiscal_years(session)) == 1
        assert "accounting" in enabled_plugins(session)


def test_code_is_made_from_the_name_and_stays_unique(database):
    first = make_org(database, "Café de l'Été")
    second = make_org(database, "Cafe de l'ete")
    assert first.code == "cafe-de-l-ete"
    assert second.code == "cafe-de-l-ete-2"
    persian = make_org(database, "شرکت نمونه", chart="ir_standard", currency=None)
    assert persian.code.startswith("org")


def test_find_by_code_or_name_case_insensitively(database):
    org = make_org(database, "Acme Trading", code="acme")
    with database.session() as session:
        assert find_organization(session, "ACME").id == org.id
        assert find_organization(session, "acme trading").id == org.id
        assert find_organization(session, str(org.id)).id == org.id
        with pytest.raises(NotFound):
            find_organization(session, "nobody")


def test_an_ambiguous_name_asks_for_the_code(database):
    make_org(database, "Twin", code="twin-a")
    make_org(database, "Twin", code="twin-b")
    with database.session() as session, pytest.raises(Conflict):
        find_organization(session, "twin")


def test_invalid_settings_are_all_reported(database):
    with database.session() as session, pytest.raises(ValidationError) as caught:
        create_organization(session, " ", currency="EURO", country="XX", chart="generic_service",
                            locale="de", fiscal_year_start_month=13)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"name", "currency", "country", "locale", "fiscal_year_start_month"}


def test_unknown_chart_template_is_a_clear_error(database):
    with database.session() as session, pytest.raises(NotFound, match="no chart template nope"):
        create_organization(session, "X", chart="nope", currency="EUR")


def test_a_taken_code_is_refused(database):
    make_org(database, "One", code="one")
    with database.session() as session, pytest.raises(Conflict):
        create_organization(session, "Other", code="one", currency="EUR", chart="generic_service")


def test_head_office_lists_its_branches(database):
    head = make_org(database, "Holding")
    with database.transaction() as session:
        head_row = find_organization(session, head.code)
        paris = create_organization(session, "Paris", parent=head_row, currency="EUR", chart="fr_pcg")
    with database.transaction() as session:
        paris_row = find_organization(session, paris.code)
        create_organization(session, "Paris Nord", parent=paris_row, currency="EUR", chart="fr_pcg")
    with database.transaction() as session:
        create_organization(session, "Geneva", parent=find_organization(session, head.code),
                            currency="CHF", chart="ch_pme")
    with database.session() as session:
        holding = find_organization(session, head.code)
        assert [o.name for o in branches(session, holding, recursive=False)] == ["Geneva", "Paris"]
        assert sorted(o.name for o in branches(session, holding)) == ["Geneva", "Paris", "Paris Nord"]


def test_creation_is_audited_and_plugins_enabled(database):
    org = make_org(database, "Audited", plugins=["crm"])
    with database.session(org.id) as session:
        assert enabled_plugins(session) == {"core", "crm"}
        created = audit.events(session, action="organization.created")
        assert len(created) == 1 and created[0].detail_values["chart"] == "generic_service"


def test_a_failed_creation_leaves_nothing(database, owner_engine):
    from core.tenancy import Organization

    with pytest.raises(NotFound), database.transaction() as session:
        create_organization(session, "Half", currency="EUR", chart="generic_service", plugins=["nope-plugin"])
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 0
    with owner_engine.connect() as raw:
        assert raw.execute(select(func.count()).select_from(Account.__table__)).scalar() == 0
