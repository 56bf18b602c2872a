"""The local environment on kind (`todo-cloud up` / `todo-cloud down`, `make up` / `make down`).

- `lifecycle`: up, down and the dry run, with their one-line messages;
- `checks`: everything checked before the first change, and the pins make up works with;
- `steps`: the ordered, idempotent steps (cluster, namespaces, PostgreSQL, Secrets, Envoy Gateway, images,
  deploy);
- `secrets`: one recipe per Secret and key the local release reads;
- `docker`: the local Docker engine, read only.
"""
