"""Scrubbing secrets out of anything that leaves the process: logs, results, HTTP answers.

Checks never put a secret in a message on purpose, but providers echo what they were sent
(a token in an error message, a DSN in a driver error). Every outward string passes here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus

from monitor.checks.base import Outcome

REDACTED = "[REDACTED]"
# A secret shorter than this would blank out ordinary words; configuration refuses them.
MIN_SECRET_LENGTH = 3


class Redactor:
    """Replaces every known secret (and its URL- and JSON-escaped forms) with [REDACTED]."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                forms |= {
                    secret,
                    quote(secret, safe=""),
                    quote_plus(secret),
                    json.dumps(secret)[1:-1],
                }
        # Longest first, so a DSN is replaced whole before the password inside it.
        self._forms = sorted(forms, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """The text with every secret replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def scrub_value(self, value: Any) -> Any:
        """Scrub strings inside nested mappings (keys too) and sequences; others pass unchanged."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            # Keys too: a provider may key a fact by what it was sent (a token, a DSN).
            return {self.scrub_value(key): self.scrub_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.scrub_value(item) for item in value)
        return value

    def scrub_outcome(self, outcome: Outcome) -> Outcome:
        """An outcome whose message and details hold no secret."""
        return replace(
            outcome,
            message=self.scrub(outcome.message),
            details=self.scrub_value(outcome.details),
        )
