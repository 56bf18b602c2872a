"""Tooling of the todo-chatbot-cloud platform (one CLI: `todo-cloud`)."""
