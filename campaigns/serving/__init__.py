"""Serving under load: refuse fast what cannot be answered in time, rather than queue it.

`shedding.LoadShedder` is the app's outermost WSGI middleware: a request that waited longer than
`SHED_AFTER_MS` before any of the app's code ran gets a cheap, localised 503 with `Retry-After`
(`busy_page`), and no work is started for it. How long it waited comes from the gunicorn worker
of `worker.QueueTimedWorker` (selected by `gunicorn_conf`, the config module every deployment
uses), or from a trusted proxy's `X-Request-Start` header.
"""
