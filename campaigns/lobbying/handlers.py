"""Event handlers of the lobbying domain: the confirmation mail, scheduling a confirmed letter's
deliveries, the receipt that says who receives it, and cancelling a withdrawn letter."""

from __future__ import annotations

from campaigns.lobbying.models import Letter, LetterDelivery  # noqa: F401 - filled in next
