"""Sending an invoice by email to the partner, through the organization's SMTP server.

The message carries a short text in the partner's language, the invoice as its HTML body,
and the same page as an attachment to print or keep.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy.orm import Session

from core.errors import ComptoirError, FieldError, ValidationError
from core.i18n import N_, translate
from core.tenancy import current_organization
from plugins.accounting.invoices import get_invoice
from plugins.accounting.invoicing_models import InvoiceState, Partner
from plugins.accounting.printing import TITLES, invoice_language, invoicing_settings, render_invoice_html

TIMEOUT_SECONDS = 30


class MailNotSent(ComptoirError):
    http_status = 502
    default_msgid = N_("The email could not be sent: %(reason)s")


def invoice_message(session: Session, invoice_id: int, to: str | None = None) -> EmailMessage:
    """The email of an invoice, ready to send (``to`` defaults to the partner's address)."""
    invoice = get_invoice(session, invoice_id)
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    settings = invoicing_settings(session)
    problems = []
    if invoice.state == InvoiceState.DRAFT:
        problems.append(FieldError("invoice", N_("Post the invoice before sending it.")))
    recipient = to or partner.email
    if not recipient:
        problems.append(FieldError("email", N_("Partner %(code)s has no email address."), {"code": partner.code}))
    if settings is None or not settings.smtp_host or not settings.sender:
        problems.append(FieldError("smtp_host", N_("Set the organization's SMTP server and sender address first.")))
    if problems:
        raise ValidationError(problems)
    assert settings is not None and recipient is not None
    org = current_organization(session)
    locale = invoice_language(session, invoice)
    title = translate(TITLES[invoice.kind_enum], locale)
    html = render_invoice_html(session, invoice.id, locale)
    message = EmailMessage()
    message["Subject"] = f"{title} {invoice.name} - {org.name}"
    message["From"] = formataddr((org.name, settings.sender))
    message["To"] = formataddr((partner.name, recipient))
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(translate(N_("Please find attached %(document)s %(name)s of %(organization)s."), locale,
                                  document=title.lower(), name=invoice.name, organization=org.name))
    message.add_alternative(html, subtype="html")
    filename = f"{(invoice.name or 'invoice').replace('/', '-')}.html"
    message.add_attachment(html.encode("utf-8"), maintype="text", subtype="html", filename=filename)
    return message


def send_invoice(session: Session, invoice_id: int, to: str | None = None) -> EmailMessage:
    """Send the invoice by email; returns the message sent. SMTP failures raise :class:`MailNotSent`."""
    message = invoice_message(session, invoice_id, to)
    settings = invoicing_settings(session)
    assert settings is not None and settings.smtp_host
    try:
        if settings.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotSent(reason=str(error) or error.__class__.__name__) from None
    return message
