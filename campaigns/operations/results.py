"""What a check finds: a state in words (OK, warning, failing) and a line saying why."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


class State(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"


STATE_LABELS = {State.OK: _l("OK"), State.WARNING: _l("Warning"), State.FAILING: _l("Failing")}
# What the operator's command prints: short, fixed width, never translated.
STATE_CODES = {State.OK: "OK", State.WARNING: "WARN", State.FAILING: "FAIL"}


@dataclass(frozen=True)
class Result:
    name: str  # stable, for machines: "database", "workers:bulk"
    label: str  # for people, in the reader's language
    state: State
    detail: str  # one line; no personal data, no secret, no connection string

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def state_code(self) -> str:
        return STATE_CODES[self.state]


def worst(states: list[State]) -> State:
    order = [State.OK, State.WARNING, State.FAILING]
    return max(states, key=order.index, default=State.OK)
