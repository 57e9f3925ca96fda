"""Fixtures of the operations tests: an admin's browser, a real beat process, and the status
page's table read back as an operator reads it."""

from __future__ import annotations

import contextlib
import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import REPO_ROOT, process_env


@pytest.fixture
def admin_browser(make_staff, staff_login):
    return staff_login(make_staff("admin"))


def status_rows(page: str) -> dict[str, tuple[str, str]]:
    """The status page's table: check -> (state in words, what was found)."""
    rows = re.findall(
        r'<th scope="row">(.*?)</th>\s*<td><span class="badge">(.*?)</span></td>\s*<td>(.*?)</td>',
        page,
        re.S,
    )
    return {html.unescape(c): (html.unescape(s), html.unescape(d)) for c, s, d in rows}


class Beat:
    """A real `celery beat` process on this run's broker, with its schedule file in `directory`."""

    def __init__(self, env: dict[str, str], directory) -> None:
        self.log_path = directory / "beat.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_worker",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(directory / "celerybeat-schedule"),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self._log.close()


@pytest.fixture
def start_beat(app, tmp_path) -> Iterator:
    started: list[Beat] = []

    def start() -> Beat:
        beat = Beat(process_env(dict(app.config)), tmp_path)
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.stop()
