"""PostgreSQL with a client-side read timeout (issue 12: a stalled PostgreSQL must not hang requests).

libpq has connect_timeout and TCP keepalives, and the server has statement_timeout, but nothing
bounds how long a client waits for an answer: a server that is stopped (SIGSTOP, a frozen VM,
a proxy that stops forwarding) keeps the TCP connection open and ACKed, so keepalives never
fire, statement_timeout never runs, and the request waits until the edge gives up (60 s).

psycopg 3 waits for every operation (ORM and raw psycopg cursors alike) in `Connection.wait`,
which takes a deadline. This backend gives each connection the database's READ_TIMEOUT as that
deadline: past it the connection is closed (its protocol state is unknown) and the caller gets
an OperationalError, i.e. a 503 `database_unavailable` problem on the request path and a
back-off in long-running processes. READ_TIMEOUT is set a little above statement_timeout so
that a slow query is normally cancelled by the server first (the connection then survives).

The ENGINE otherwise is django-prometheus's (query metrics); the pool (DB_POOL_SIZE) gets the
same connection class through its `connection_class` option.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django_prometheus.db.backends.postgresql import base as prometheus_base
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus


class ReadTimeoutConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server is bounded by `read_timeout` seconds."""

    read_timeout: float | None = None
    _begin_inline = False

    @contextmanager
    def begin_inline(self) -> Iterator[str | None]:
        """The BEGIN the next execute would send, for the caller to put at the head of its own
        simple-query text (a client-side-binding cursor, several statements in one text): psycopg
        sends its BEGIN as a round trip of its own before a transaction's first statement, and
        inside the block it does not. None (nothing to add) when no transaction would be opened.
        Only one execute, the caller's, may run inside the block."""
        if self._autocommit or self._pipeline or self.pgconn.transaction_status != TransactionStatus.IDLE:
            yield None
            return
        self._begin_inline = True
        try:
            yield self._get_tx_start_command().decode()
        finally:
            self._begin_inline = False

    def _start_query(self) -> Any:
        if self._begin_inline:  # the caller's text opens the transaction itself (begin_inline)
            self._begin_inline = False
            return
        yield from super()._start_query()

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is None:
            timeout = self.read_timeout
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except pg_errors._WaitTimeout as exc:  # psycopg's own deadline error (an OperationalError)
            # Mid-protocol: nothing more can be read or sent on this connection safely.
            self.pgconn.finish()
            raise psycopg.OperationalError(f"PostgreSQL did not answer within {timeout:g} s") from exc


class DatabaseWrapper(prometheus_base.DatabaseWrapper):
    @property
    def read_timeout(self) -> float | None:
        return self.settings_dict.get("READ_TIMEOUT") or None

    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        if isinstance(options, dict) and "connection_class" not in options:
            options["connection_class"] = ReadTimeoutConnection
        return super().pool

    def get_new_connection(self, conn_params: dict[str, Any]) -> psycopg.Connection:
        # Without a pool Django calls psycopg.connect: the same, with our connection class.
        connection = super().get_new_connection(conn_params) if self.pool else self._connect_plain(conn_params)
        connection.read_timeout = self.read_timeout
        return connection

    def _connect_plain(self, conn_params: dict[str, Any]) -> psycopg.Connection:
        database = self.Database
        self.Database = _PsycopgWith(ReadTimeoutConnection)
        try:
            return super().get_new_connection(conn_params)
        finally:
            self.Database = database


class _PsycopgWith:
    """The psycopg module as Django's get_new_connection sees it, with `connect` of another class."""

    def __init__(self, connection_class: type[psycopg.Connection]):
        self.connect = connection_class.connect

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)
