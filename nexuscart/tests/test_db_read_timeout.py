"""PostgreSQL's client-side read timeout (nexuscart/db/base.py) and what a caller sees.

A server that keeps the connection open but never answers is played here by pg_sleep with the
server's statement_timeout off: only READ_TIMEOUT can end the wait.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import OperationalError, connection

from nexuscart.db.base import ReadTimeoutConnection
from nexuscart.errors import problem_exception_handler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def read_timeout_1s():
    """This test's connection with statement_timeout off and READ_TIMEOUT 1 s."""
    connection.close()
    settings_dict = connection.settings_dict
    saved = settings_dict.get("READ_TIMEOUT")
    settings_dict["READ_TIMEOUT"] = 1.0
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    yield
    settings_dict["READ_TIMEOUT"] = saved
    connection.close()


def test_every_connection_has_the_read_timeout_and_the_server_side_timeouts():
    connection.ensure_connection()
    assert isinstance(connection.connection, ReadTimeoutConnection)
    assert connection.connection.read_timeout == connection.settings_dict["READ_TIMEOUT"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] != "0"
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] != "0"


def test_an_unanswered_query_fails_after_the_read_timeout_and_the_next_one_reconnects(read_timeout_1s):
    started = time.monotonic()
    with pytest.raises(OperationalError, match="did not answer within 1 s"), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 3
    assert connection.connection.closed  # its protocol state is unknown: never reused
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_raw_psycopg_cursors_get_it_too(read_timeout_1s):
    """publish()/publish_many() and the batch writer use psycopg cursors on Django's connection."""
    with pytest.raises(psycopg.OperationalError), psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SELECT pg_sleep(5)")


@pytest.mark.parametrize("error", [psycopg.OperationalError("gone"), psycopg.InterfaceError("closed")])
def test_a_raw_psycopg_error_is_a_503_problem_not_a_500(error):
    response = problem_exception_handler(error, {})
    assert response.status_code == 503
    assert response.data["code"] == "database_unavailable"
