"""gunicorn's settings for the web app: `gunicorn -c python:campaigns.serving.gunicorn_conf wsgi:app`.

Options given on the command line (`--workers`, `--bind`, ...) or in `GUNICORN_CMD_ARGS` still
win over these. What matters here is the worker class: `QueueTimedWorker` (gthread) accepts
connections as they come and times how long each request waits for a thread, so the app can
refuse, fast, what waited too long (`SHED_AFTER_MS`, see campaigns/serving/shedding.py) instead of
leaving it in the kernel's accept queue for as long as the surge lasts.
"""

from __future__ import annotations

import os
from typing import Any

worker_class = "campaigns.serving.worker.QueueTimedWorker"
# 2 per core; each with a few threads, so that one waiting for PostgreSQL does not hold up the
# requests behind it (the shedding bound keeps the queue short, not the thread count).
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
# Connections one worker holds at once (in flight, queued and kept alive). Past it, a worker
# stops accepting and new connections wait in the kernel's queue, untimed: keep it well above
# what a surge queues within SHED_AFTER_MS (one worker refusing at ~2,000 a second queues ~1,000).
worker_connections = 1000
# The kernel's accept queue per listening socket (capped by net.core.somaxconn). It stays nearly
# empty while the workers accept at once; when it is full, new connections are dropped and the
# clients retry after a second or more, so it is kept as large as a surge's first moment.
backlog = 2048
# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = 30
# On restart (SIGHUP, a new release), requests in flight get this long to finish.
graceful_timeout = 30
# Idle kept-alive connections are closed after this many seconds (a browser's next request of
# the same visit, or a reverse proxy's pool, usually comes sooner).
keepalive = 5
# gunicorn 27 would otherwise put a control socket in $HOME, shared by every instance there.
control_socket_disable = True


def child_exit(_server: Any, worker: Any) -> None:
    """A worker ended: in Prometheus multiprocess mode its live gauges must go with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
