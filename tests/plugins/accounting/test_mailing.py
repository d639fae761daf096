"""Sending an invoice by email, to a real SMTP server (aiosmtpd) started on a free loopback port."""
from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from core.errors import ValidationError
from plugins.accounting.mailing import MailNotSent, send_invoice
from plugins.accounting.partners import PartnerInput, save_partner
from plugins.accounting.printing import save_invoicing_settings
from plugins.accounting.testing import invoice
from tests.plugins.accounting.invoicing_fixtures import D


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's name
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():  # noqa: ANN201
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_an_invoice_is_sent_to_the_partner_with_its_page_attached(fr, smtp_server):
    controller, inbox = smtp_server
    save_invoicing_settings(fr, sender="billing@acme.test", smtp_host="127.0.0.1", smtp_port=controller.port,
                            smtp_security="none")
    save_partner(fr, PartnerInput("C1", "Client Un", country="FR", email="compta@client.test", language="fr"))
    posted = invoice(fr, "C1", ("100",), D(2026, 3, 1))
    send_invoice(fr, posted.id)
    ((sender, recipients, content),) = inbox.received
    assert (sender, recipients) == ("billing@acme.test", ["compta@client.test"])
    message = email.message_from_bytes(content, policy=policy.default)
    assert message["Subject"] == "Facture INV/2026/00001 - Acme France"
    assert "Veuillez trouver ci-joint" in message.get_body(("plain",)).get_content()
    assert "120,00" in message.get_body(("html",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-2026-00001.html"
    assert "INV/2026/00001" in attachment.get_content()


def test_sending_needs_settings_an_address_and_a_posted_invoice(fr):
    save_partner(fr, PartnerInput("C1", "Client Un", country="FR"))
    draft = invoice(fr, "C1", ("100",), D(2026, 3, 1), post=False)
    with pytest.raises(ValidationError) as error:
        send_invoice(fr, draft.id)
    assert {e.field for e in error.value.errors} == {"invoice", "email", "smtp_host"}


def test_an_unreachable_server_is_a_clear_error(fr):
    save_invoicing_settings(fr, sender="billing@acme.test", smtp_host="127.0.0.1", smtp_port=free_port(),
                            smtp_security="none")
    save_partner(fr, PartnerInput("C1", "Client Un", country="FR", email="compta@client.test"))
    with pytest.raises(MailNotSent):
        send_invoice(fr, invoice(fr, "C1", ("100",), D(2026, 3, 1)).id)
