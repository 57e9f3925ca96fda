"""The "sent" mark of bulk mail and letters, committed together with the message's final dot.

A mail server takes responsibility for a message when it reads the final "." of DATA (see
core.smtp). Each message is marked sent in our database just before that dot, so that a worker
killed at any moment never sends a message twice: killed before the mark is committed, the
server has only a partial message, which it drops, and the message goes again later.

What is left is the stretch between the mark's commit and the dot: a worker killed there has
committed "sent" for a message the server never got. PostgreSQL finishes a statement even when its
client has died, so if we waited for the commit's answer before writing the dot, that stretch
would be the whole round trip of the commit. Instead the mark is made in two steps: the
conditional UPDATE first (in a transaction, nothing committed; it may find the message withdrawn
or the mailing paused, and then nothing is sent), then COMMIT is written to PostgreSQL's socket
and the dot to the mail server's straight after it, before either answer is read. The stretch is
two system calls. On SQLite (development) the commit is in-process and comes just before the dot.

Kernels deliver what a process wrote to a socket even after the process is killed, so a COMMIT
written before a kill is still committed. A COMMIT that PostgreSQL refuses after the dot is out
(it restarted at that instant) is tried again once, as an ordinary commit of the same mark.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Mapping

import psycopg
from psycopg import OperationalError, pq
from sqlalchemy import Connection, Executable

from campaigns.extensions import db

WriteDot = Callable[[], None]

# Seconds to wait for PostgreSQL's answer to a COMMIT already sent (the dot is out by then).
COMMIT_ANSWER_TIMEOUT = 30.0


class CommitFailed(Exception):
    """PostgreSQL did not confirm the COMMIT of a mark whose message has gone."""


class SentMarks:
    """Marks messages sent, one at a time, on a database connection of its own."""

    def __init__(self, statement: Executable) -> None:
        """`statement` is a conditional UPDATE of one row: it marks only what may still go."""
        self.statement = statement
        self.postgresql = db.engine.dialect.name == "postgresql"
        self.connection = self._connect()

    def _connect(self) -> Connection:
        connection = db.engine.connect()
        if self.postgresql:
            # A worker crash, what the mark guards against, never loses a committed transaction;
            # only a crash of PostgreSQL itself could lose the last marks before they reach the
            # disk. Waiting for that flush on every message would make bulk sending much slower.
            connection.exec_driver_sql("SET synchronous_commit = off")
            connection.commit()
        return connection

    def mark(self, params: Mapping[str, object], write_dot: WriteDot) -> bool:
        """Mark one message sent and hand it over by calling `write_dot`, or return False without
        calling it when the UPDATE finds nothing to mark (withdrawn, paused, cancelled)."""
        if self.connection.execute(self.statement, params).rowcount != 1:
            self.connection.rollback()
            return False
        if not self.postgresql:
            self.connection.commit()
            write_dot()
            return True
        try:
            _commit_beside(self.connection.connection.driver_connection, write_dot)
        except CommitFailed:
            # The dot is out, so the message has gone: record it once more, the ordinary way,
            # on a new connection if PostgreSQL dropped this one.
            self.connection.invalidate()
            self.connection.close()
            self.connection = self._connect()
            self.connection.execute(self.statement, params)
        self.connection.commit()  # on the driver's side the transaction is already over
        return True

    def close(self) -> None:
        if self.postgresql:
            self.connection.rollback()
            self.connection.exec_driver_sql("RESET synchronous_commit")
            self.connection.commit()
        self.connection.close()


def _commit_beside(driver_connection: psycopg.Connection, write_dot: WriteDot) -> None:
    """Send COMMIT on a psycopg connection, call `write_dot`, then read the COMMIT's answer. Uses
    libpq's asynchronous calls: psycopg's own commit() would wait for the answer first. Raises
    CommitFailed if PostgreSQL does not confirm it, and what `write_dot` raised if it failed."""
    pgconn = driver_connection.pgconn
    # If PostgreSQL cannot be written to, psycopg's error goes up before any dot: the message
    # stays unsent and goes again later.
    pgconn.send_query(b"COMMIT")
    while pgconn.flush():  # psycopg keeps libpq non-blocking: flush until all is written
        select.select([], [pgconn.socket], [], COMMIT_ANSWER_TIMEOUT)
    try:
        write_dot()
    finally:
        # Read the answer even when the dot failed, so that the connection stays usable.
        _read_commit_answer(pgconn)


def _read_commit_answer(pgconn: pq.abc.PGconn) -> None:
    try:
        pgconn.consume_input()
        while pgconn.is_busy():
            ready, _, _ = select.select([pgconn.socket], [], [], COMMIT_ANSWER_TIMEOUT)
            if not ready:
                raise CommitFailed("no answer to COMMIT")
            pgconn.consume_input()
        failed = None
        while (result := pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                failed = (result.error_message or b"").decode(errors="replace")
    except OperationalError as exc:
        raise CommitFailed(str(exc)) from exc
    if failed is not None:
        raise CommitFailed(failed)
