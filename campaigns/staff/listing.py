"""Search and order for the workspace's lists (campaigns, mailings, staff accounts).

Read from the query string (`?q=` words to find, `?sort=` a column, `?order=desc`), so a
filtered list can be bookmarked and works without JavaScript. These lists hold tens to a few
hundred rows, all shown on one page: they are filtered and sorted in Python after loading, which
keeps each column's order exactly what the page shows (a translated title, a live count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request, url_for

Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    key: Callable[[Row], Any]  # what the column sorts by; None sorts last
    descending_first: bool = False  # numbers and dates: the largest or latest first


class Listing(Generic[Row]):
    def __init__(
        self,
        columns: dict[str, Column[Row]],
        text: Callable[[Row], Iterable[str | None]],
    ) -> None:
        """`columns`: the sortable ones by name; `text`: what a search looks in, per row. Until
        a column is chosen the rows keep the order they were loaded in (the list's own)."""
        self.columns = columns
        self.text = text
        self.query = " ".join(request.args.get("q", "").split())[:200]
        sort = request.args.get("sort", "")
        self.sort = sort if sort in columns else None
        order = request.args.get("order")
        self.descending = self.sort is not None and (
            order == "desc" if order in ("asc", "desc") else columns[self.sort].descending_first
        )
        self.total = 0
        self.shown = 0

    def apply(self, rows: Iterable[Row]) -> list[Row]:
        """The rows that contain every word searched for, in the order asked for."""
        rows = list(rows)
        self.total = len(rows)
        words = self.query.casefold().split()
        if words:
            rows = [row for row in rows if self._matches(row, words)]
        if self.sort is not None:
            key = self.columns[self.sort].key
            present = [row for row in rows if key(row) is not None]
            missing = [row for row in rows if key(row) is None]
            present.sort(key=_sortable(key), reverse=self.descending)
            rows = present + missing
        self.shown = len(rows)
        return rows

    def _matches(self, row: Row, words: list[str]) -> bool:
        haystack = " ".join(value for value in self.text(row) if value).casefold()
        return all(word in haystack for word in words)

    # --- For the template ---------------------------------------------------------------------

    def sort_url(self, column: str) -> str:
        """The list ordered by `column`; again on the current column turns the order round."""
        if column == self.sort:
            descending = not self.descending
        else:
            descending = self.columns[column].descending_first
        args = {"sort": column, "order": "desc" if descending else "asc"}
        if self.query:
            args["q"] = self.query
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def aria_sort(self, column: str) -> str | None:
        if column != self.sort:
            return None
        return "descending" if self.descending else "ascending"


def _sortable(key: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def sort_key(row: Any) -> Any:
        value = key(row)
        return value.casefold() if isinstance(value, str) else value

    return sort_key
