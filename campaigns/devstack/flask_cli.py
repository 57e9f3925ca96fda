"""`make flask ARGS='...'` (``python -m campaigns.devstack.flask_cli ...``): a ``flask --app wsgi``
command against the platform `make run` is running, with the settings its processes got.

Its Redis listens on a port chosen at start and its secret key lives in the instance folder, so a
command typed in another terminal would otherwise need SECRET_KEY, CAMPAIGNS_PROFILE and
REDIS_URL exported by hand. While it runs, the launcher keeps those settings in
``<instance>/devstack.env`` (readable by its owner only, like the secret key) with its own pid;
it deletes the file when it stops, and a file whose launcher is gone is ignored.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_FILE_NAME = "devstack.env"
# What a command needs to reach the same database, Redis and mail as the running platform.
SHARED_SETTINGS = (
    "INSTANCE_PATH",
    "SECRET_KEY",
    "CAMPAIGNS_PROFILE",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_CATCHER_DIR",
)
LAUNCHER_PID = "DEVSTACK_PID"


def write_env_file(instance: Path, env: dict[str, str]) -> Path:
    path = instance / ENV_FILE_NAME
    lines = [f"{LAUNCHER_PID}={os.getpid()}"]
    lines += [f"{name}={env[name]}" for name in SHARED_SETTINGS if env.get(name)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def remove_env_file(instance: Path) -> None:
    (instance / ENV_FILE_NAME).unlink(missing_ok=True)


def running_settings(instance: Path) -> dict[str, str] | None:
    """The settings of the stack running in `instance`, or None when none is."""
    try:
        text = (instance / ENV_FILE_NAME).read_text()
    except FileNotFoundError:
        return None
    settings = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    pid = settings.pop(LAUNCHER_PID, "")
    if not pid.isdigit() or not _alive(int(pid)):
        return None  # left by a launcher that was killed outright
    return settings


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(args: list[str]) -> int:
    from campaigns.devstack.launcher import REPO_ROOT, instance_path

    instance = instance_path()
    settings = running_settings(instance)
    if settings is None:
        print(
            f"No platform started by `make run` is running with its data in {instance}.\n"
            "Start it first (in another terminal), then run the command again. Against another "
            "deployment, run `flask --app wsgi ...` with that deployment's environment.",
            file=sys.stderr,
        )
        return 1
    env = {**os.environ, **settings}
    argv = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    os.chdir(REPO_ROOT)  # where wsgi.py is
    # The command replaces this process: its exit status and signals are the command's own.
    os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
