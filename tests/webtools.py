"""Helpers for tests of the web app: a real app on the test database, signing in, CSRF tokens,
a local SMTP server (aiosmtpd) and a real HTTP server in a thread."""
from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any

from tests.conftest import STRONG_PASSWORD


def make_app(settings: Any, database: Any) -> Any:
    from core.web import create_app

    return create_app(settings=settings, database=database, test_config={"TESTING": True})


def csrf_token(client: Any, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client: Any, email: str, password: str = STRONG_PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app: Any, email: str) -> tuple[Any, str]:
    """A client signed in as ``email`` and its CSRF token."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, csrf_token(client, "/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app behind a real HTTP server on a free loopback port; yields its base URL."""
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
