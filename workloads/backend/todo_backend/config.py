"""The backend's settings: environment variables and the mounted Secret files (workloads/README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from todo_workload.settings import env_str, secret_file


@dataclass(frozen=True)
class Settings:
    # PostgreSQL connection URL, from the file named by DATABASE_URL_FILE (Secret todo-chatbot-database).
    database_url: str
    # Source of the CloudEvents the backend publishes: its Dapr app id.
    app_id: str = "backend"
    # Dapr pub/sub component and topics.
    pubsub: str = "pubsub"
    todo_topic: str = "todo-events"
    chat_topic: str = "chat-events"
    # Dapr state store component of the per-user preferences.
    statestore: str = "statestore"
    log_level: str = "info"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings; ConfigError naming the variable when DATABASE_URL_FILE is unset or unreadable."""
        return cls(
            database_url=secret_file("DATABASE_URL", required=True) or "",
            app_id=env_str("APP_ID", cls.app_id),
            pubsub=env_str("PUBSUB_NAME", cls.pubsub),
            todo_topic=env_str("TODO_EVENTS_TOPIC", cls.todo_topic),
            chat_topic=env_str("CHAT_EVENTS_TOPIC", cls.chat_topic),
            statestore=env_str("STATESTORE_NAME", cls.statestore),
            log_level=env_str("LOG_LEVEL", cls.log_level),
        )
