"""Everything that exists only to run the platform on one machine without any services: the
launcher of `make run` (launcher.py), the watchdog that stops what a dead launcher left
(watchdog.py), the built-in mail catcher and its staff pages (mailcatcher/), and the demo
content (demo.py). Nothing else in the application depends on this package."""
