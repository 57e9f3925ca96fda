"""A gunicorn worker that tells the app how long each request waited to be served.

gunicorn's sync workers leave waiting requests in the kernel's accept queue, where nobody can see
how long they have been there. The gthread worker accepts connections in its main loop as soon
as they come (and takes kept-alive connections back as soon as they are readable), and hands each
one to its thread pool: the wait happens in the pool's queue, inside the process, where it can be
timed. This worker stamps each connection when it enters that queue and, when a thread takes it
up, puts the seconds it waited into the WSGI environ (`WAITED_KEY`) for `shedding.LoadShedder`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

WAITED_KEY = "campaigns.serving.waited"


class QueueTimedWorker(ThreadWorker):
    """gunicorn's gthread worker, plus the time each connection waited for a thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._taken = threading.local()  # per thread: when it took up its connection, and waited

    def enqueue_req(self, conn: Any) -> None:
        conn.enqueued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        # Only the queue's wait counts: not the time a slow client then takes to send its
        # request, which costs a thread but is not the server's delay.
        self._taken.waited = time.monotonic() - getattr(conn, "enqueued_at", time.monotonic())
        return super().handle(conn)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi
        taken = self._taken

        def timed_app(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            # gthread serves one request per turn in the pool (a kept-alive connection goes
            # back to the queue, and is stamped again, for its next one); reset anyway, so that
            # a request no stamp covers never inherits an earlier one's wait.
            environ[WAITED_KEY] = getattr(taken, "waited", 0.0)
            taken.waited = 0.0
            return app(environ, start_response)

        self.wsgi = timed_app
