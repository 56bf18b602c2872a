"""The CloudEvents the backend publishes (types, data and partition keys: workloads/README.md, "Events")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

TASK_CREATED = "TaskCreated"
TASK_UPDATED = "TaskUpdated"
TASK_DELETED = "TaskDeleted"
MESSAGE_SENT = "MessageSent"


def cloudevent(event_type: str, *, source: str, subject: str, partition_key: str,
               data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope (structured JSON) with the Kafka binding's `partitionkey` extension."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "partitionkey": partition_key,
        "data": data,
    }
