"""Todos and chat messages in PostgreSQL (psycopg 3, an async connection pool).

The schema is created on first use (under an advisory lock, so replicas starting together do not race).
Every change runs in a transaction that publishes its event before it commits: a failed publish rolls the
change back, and the row lock an update or delete holds until the commit orders the events of one todo.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# Seconds to wait for a connection (the pool's timeout and libpq's connect timeout): a request fails with
# 503 within this time when PostgreSQL is gone, before Dapr's invocation timeout (5 s) runs out.
CONNECT_TIMEOUT = 3
# Seconds the pool keeps retrying a lost connection (backoff 1 s, 2 s, 4 s, ...) before it gives up and lets
# the next request start a fresh attempt: after an outage the backend is ready again within about this time
# (psycopg_pool's default, 5 minutes, would leave it unready long after PostgreSQL is back).
RECONNECT_TIMEOUT = 10
SCHEMA_LOCK = 7_362_100  # pg_advisory_xact_lock key of the schema creation
SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    completed boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS todos_user_id ON todos (user_id, created_at);
CREATE TABLE IF NOT EXISTS messages (
    id uuid PRIMARY KEY,
    conversation_id text NOT NULL,
    user_id text NOT NULL,
    role text NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, created_at);
"""
TODO_COLUMNS = "id, user_id, title, description, completed, version, created_at, updated_at"
UPDATABLE = ("title", "description", "completed")

Row = dict[str, Any]
Publish = Callable[[Row], Awaitable[None]]


def jsonable(row: Row) -> Row:
    """A row with ids and timestamps as strings (the API's and the events' representation)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in row.items()}


class Store:
    """The backend's database."""

    def __init__(self, url: str) -> None:
        self.pool = AsyncConnectionPool(url, min_size=1, max_size=10, open=False, timeout=CONNECT_TIMEOUT,
                                        reconnect_timeout=RECONNECT_TIMEOUT,
                                        kwargs={"connect_timeout": CONNECT_TIMEOUT, "row_factory": dict_row},
                                        check=AsyncConnectionPool.check_connection, name="todo-backend")
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    async def open(self) -> None:
        """Start the pool without waiting for PostgreSQL (the service starts, /ready says when it is there)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close(timeout=5)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection[Row]]:
        """A connection in a transaction, the schema in place; psycopg/pool errors when PostgreSQL is gone."""
        await self.ensure_schema()
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    async def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                await conn.execute(SCHEMA)
            self._schema_ready = True

    async def ping(self, timeout: float) -> None:
        """Raise when PostgreSQL does not answer `SELECT 1` within `timeout` seconds (or the schema is missing)."""
        await asyncio.wait_for(self._ping(), timeout)

    async def _ping(self) -> None:
        await self.ensure_schema()
        async with self.pool.connection() as conn:
            await conn.execute("SELECT 1")

    # -- todos --

    async def list_todos(self, user_id: str | None) -> list[Row]:
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"SELECT {TODO_COLUMNS} FROM todos WHERE %(user)s::text IS NULL OR user_id = %(user)s "
                "ORDER BY created_at, id", {"user": user_id})
            return [jsonable(r) for r in await cur.fetchall()]

    async def get_todo(self, todo_id: uuid.UUID) -> Row | None:
        async with self.transaction() as conn:
            cur = await conn.execute(f"SELECT {TODO_COLUMNS} FROM todos WHERE id = %s", (todo_id,))
            row = await cur.fetchone()
            return jsonable(row) if row else None

    async def create_todo(self, user_id: str, title: str, description: str, publish: Publish) -> Row:
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"INSERT INTO todos (id, user_id, title, description) VALUES (%s, %s, %s, %s) "
                f"RETURNING {TODO_COLUMNS}", (uuid.uuid4(), user_id, title, description))
            row = jsonable(await cur.fetchone() or {})
            await publish(row)
            return row

    async def update_todo(self, todo_id: uuid.UUID, changes: Row, publish: Publish) -> Row | None:
        sets = ", ".join(f"{field} = %({field})s" for field in UPDATABLE if field in changes)
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE todos SET {sets}, version = version + 1, updated_at = now() WHERE id = %(id)s "
                f"RETURNING {TODO_COLUMNS}", {**changes, "id": todo_id})
            row = await cur.fetchone()
            if row is None:
                return None
            todo = jsonable(row)
            await publish(todo)
            return todo

    async def delete_todo(self, todo_id: uuid.UUID, publish: Publish) -> Row | None:
        async with self.transaction() as conn:
            cur = await conn.execute("DELETE FROM todos WHERE id = %s RETURNING id, user_id, version + 1 AS version",
                                     (todo_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            deleted = jsonable(row)
            await publish(deleted)
            return deleted

    # -- chat --

    async def add_message(self, conversation_id: str, user_id: str, content: str, publish: Publish) -> Row:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO messages (id, conversation_id, user_id, role, content) VALUES (%s, %s, %s, 'user', %s) "
                "RETURNING id, conversation_id, user_id, role, content, created_at",
                (uuid.uuid4(), conversation_id, user_id, content))
            row = jsonable(await cur.fetchone() or {})
            await publish(row)
            return row
