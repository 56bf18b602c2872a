"""What the consumer has seen: events counted per type and topic (each CloudEvent id once), dead letters,
and every delivery attempt (time, id, type, topic, answer) for measuring retries and their back-off."""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Dapr's pub/sub answers (HTTP 200 with {"status": ...}).
SUCCESS, RETRY, DROP = "SUCCESS", "RETRY", "DROP"
# The poison marker: an event whose data object has this key set to true fails every delivery (RETRY).
POISON_FIELD = "poison"
# Bounds of the in-memory records (oldest forgotten first).
MAX_ATTEMPTS = 10_000
MAX_IDS = 100_000


@dataclass
class Ledger:
    dead_letter_topic: str
    by_type: Counter[str] = field(default_factory=Counter)
    by_topic: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    redelivered: int = 0
    dropped: int = 0
    attempts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_ATTEMPTS))
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _dead: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def deliver(self, topic: str, event: Any) -> str:
        """Record one delivery of `event` from `topic` and return the answer for Dapr."""
        ok = isinstance(event, dict) and isinstance(event.get("id"), str) and isinstance(event.get("type"), str)
        event_id = event["id"] if ok else None
        event_type = event["type"] if ok else None
        if not ok:
            status = DROP
            self.dropped += 1
        elif topic == self.dead_letter_topic:
            status = SUCCESS
            if not _remember(self._dead, event_id):
                self.dead_letters[event_type] += 1
        elif isinstance(event.get("data"), dict) and event["data"].get(POISON_FIELD) is True:
            status = RETRY
        else:
            status = SUCCESS
            if _remember(self._seen, event_id):
                self.redelivered += 1
            else:
                self.by_type[event_type] += 1
                self.by_topic[topic] += 1
        now = time.time()
        self.attempts.append({"time": now, "received_at": datetime.fromtimestamp(now, UTC).isoformat(),
                              "id": event_id, "type": event_type, "topic": topic, "status": status})
        return status

    def counts(self) -> dict[str, Any]:
        return {"by_type": dict(self.by_type), "by_topic": dict(self.by_topic),
                "dead_letters": dict(self.dead_letters), "redelivered": self.redelivered, "dropped": self.dropped}


def _remember(seen: OrderedDict[str, None], key: str) -> bool:
    """True when `key` was seen before; remembers it (forgetting the oldest beyond MAX_IDS)."""
    if key in seen:
        return True
    seen[key] = None
    if len(seen) > MAX_IDS:
        seen.popitem(last=False)
    return False
