"""Partners (VAT numbers checked by python-stdnum, addresses, idempotent saving) and products."""
from __future__ import annotations

import pytest

from core.errors import ValidationError
from plugins.accounting.partners import (
    AddressInput,
    PartnerInput,
    ProductInput,
    check_vat_number,
    get_partner,
    partner_addresses,
    save_partner,
    save_product,
)


@pytest.mark.parametrize(("number", "country", "expected"), [
    ("DE 136 695 976", "DE", "DE136695976"),
    ("136695976", "DE", "DE136695976"),  # the prefix comes from the country
    ("DE136695977", "DE", None),  # wrong check digit
    ("FR40303265045", "FR", "FR40303265045"),
    ("CHE-116.281.710 MWST", "CH", "CHE116281710MWST"),
    ("CHE-116.281.711", "CH", None),
    ("123456", "IR", "123456"),  # no validator for Iran: kept as given
])
def test_vat_numbers_are_checked_where_stdnum_has_a_validator(number, country, expected):
    assert check_vat_number(number, country) == expected


def test_every_problem_of_a_partner_is_reported_at_once(fr):
    with pytest.raises(ValidationError) as error:
        save_partner(fr, PartnerInput("", "", kind="robot", country="XX", vat_number="DE1", email="nobody",
                                      currency="ZZZ"))
    fields = {e.field for e in error.value.errors}
    assert fields == {"code", "name", "kind", "country", "vat_number", "email", "currency"}


def test_saving_twice_updates_in_place_and_keeps_the_addresses(fr):
    data = PartnerInput("C1", "Client", country="FR", email="billing@client.test", payment_terms_days=45,
                        addresses=[AddressInput("1 rue de la Paix", postal_code="75002", city="Paris", country="FR"),
                                   AddressInput("Quai 3", city="Lyon", country="FR", kind="delivery")])
    first = save_partner(fr, data)
    again = save_partner(fr, data)
    assert first.id == again.id
    assert [a.city for a in partner_addresses(fr, first)] == ["Paris", "Lyon"]
    save_partner(fr, PartnerInput("C1", "Client renamed", country="FR", addresses=[AddressInput(city="Nice")]))
    partner = get_partner(fr, "C1")
    assert partner.name == "Client renamed"
    assert [a.city for a in partner_addresses(fr, partner)] == ["Nice"]
    assert partner.receivable_account_id is not None and partner.payable_account_id is not None


def test_a_product_gets_the_default_tax_and_accounts(fr):
    product = save_product(fr, ProductInput("CONS", "Consulting day", "650"))
    assert product.price == "650" and product.currency == "EUR"
    assert product.sale_tax_id is not None and product.income_account_id is not None
    with pytest.raises(ValidationError) as error:
        save_product(fr, ProductInput("X", "Bad", "-1", sale_tax="NOPE"))
    assert {e.field for e in error.value.errors} == {"price", "sale_tax"}


def test_an_account_a_product_names_is_in_use_and_cannot_be_deleted(fr):
    from core.chart import accounts_in_use, create_account, delete_account
    from core.errors import Conflict

    account = create_account(fr, "7061", "Ventes de formations", type="income", parent="70")
    assert accounts_in_use(fr, [account.id]) == set()
    save_product(fr, ProductInput("TRAIN", "Training", "250", income_account="7061"))
    assert accounts_in_use(fr, [account.id]) == {account.id}
    with pytest.raises(Conflict):
        delete_account(fr, "7061")
