"""The shape of the code: imports run one way, and every task runs on a queue some worker serves.

Imports: `workers/` imports `campaigns/`, never the other way round (the web app publishes tasks
by name). Inside `campaigns/`, the packages form layers: no two import each other, directly or
through others. `campaigns/__init__.py` (the app factory, which assembles every package) is the
top and is left out of the graph.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement in `path`, at any depth (an import inside a
    function is still a dependency)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules(package: str) -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for path in sorted((REPO / package).rglob("*.py"))
        if "translations" not in path.parts
    }


def _unit(module: str) -> str | None:
    """The part of `campaigns` a module belongs to: `campaigns.petitions.tallies.services` ->
    `petitions`; None for the app factory itself."""
    parts = module.split(".")
    if parts[0] != "campaigns" or len(parts) == 1:
        return None
    return parts[1]


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in _modules("campaigns").items():
        source = _unit(module)
        if source is None:
            continue
        graph[source]
        for name in imported:
            target = _unit(name)
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_nothing_in_campaigns_imports_the_workers():
    offenders = sorted(
        f"{module} imports {name}"
        for module, imported in _modules("campaigns").items()
        for name in imported
        if name == "workers" or name.startswith("workers.")
    )
    assert offenders == []


def test_the_packages_of_campaigns_form_layers_without_a_cycle():
    graph = _package_graph()
    assert {"core", "petitions", "mailings", "staff"} <= set(graph)  # the walk found them
    cycle = _cycle(graph)
    assert cycle is None, "packages import each other: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    # The check above must be able to fail: a -> b -> c -> a is found, a layered graph is not.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_worker_imports_every_task_module():
    from workers import TASK_MODULES

    # Every module of workers/ that defines tasks (log_context.py only wires Celery's signals).
    present = {
        _module_name(p)
        for p in (REPO / "workers").glob("*.py")
        if p.stem != "__init__" and "@shared_task" in p.read_text()
    }
    assert set(TASK_MODULES) == present


# --- Queues ----------------------------------------------------------------------------------


def _queues_served(commands: list[list[str]]) -> set[str]:
    served = set()
    for argv in commands:
        if "worker" in argv and "-Q" in argv:
            served.update(argv[argv.index("-Q") + 1].split(","))
    return served


def _readme_worker_commands() -> list[list[str]]:
    readme = (REPO / "README.md").read_text()
    lines = re.findall(r"^celery -A celery_worker worker[^\n#]*", readme, flags=re.MULTILINE)
    return [line.split() for line in lines]


@pytest.fixture
def celery_with_every_task(app):
    import importlib

    from workers import TASK_MODULES

    for module in TASK_MODULES:
        importlib.import_module(module)
    celery_app = app.extensions["celery"]
    celery_app.loader.import_default_modules()
    return celery_app


def test_every_task_routes_to_a_queue_that_the_readme_and_make_run_serve(
    celery_with_every_task, tmp_path
):
    from campaigns.core.event_types import EVENT_QUEUES
    from campaigns.core.tasks import BULK, QUEUES, TRANSACTIONAL
    from campaigns.devstack.launcher import platform_processes

    tasks = sorted(name for name in celery_with_every_task.tasks if not name.startswith("celery."))
    assert "mailings.send_batch" in tasks
    assert "events.dispatch" in tasks
    router = celery_with_every_task.amqp.router
    routed = {name: router.route({}, name)["queue"].name for name in tasks}
    used = set(routed.values()) | set(EVENT_QUEUES.values())
    assert used <= set(QUEUES), f"a task or an event routes to an unknown queue: {routed}"
    # A mailing's batches go to the bulk workers; test mails, which someone waits for, go to
    # the transactional ones, with the confirmation mails.
    assert routed["mailings.send_batch"] == BULK
    assert routed["mailings.send_test"] == TRANSACTIONAL

    readme = _readme_worker_commands()
    assert len(readme) >= 2  # the README's Deploying section
    assert _queues_served(readme) == set(QUEUES)
    make_run = list(platform_processes(5000, tmp_path).values())
    assert _queues_served(make_run) == set(QUEUES)
