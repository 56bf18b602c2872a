"""The local environment on kind (`todo-cloud up` / `todo-cloud down`, `make up` / `make down`).

- `lifecycle`: up, down and the dry run, with their one-line messages;
- `checks`: everything checked before the first change, and the pins make up works with;
- `images`: the app images of the release, each built from workloads/ or else needed in the local Docker;
- `steps`: the ordered, idempotent steps (build the images, cluster, namespaces, PostgreSQL, Secrets, Envoy
  Gateway, load the images, deploy);
- `secrets`: one recipe per Secret and key the local release reads;
- `docker`: the local Docker engine, read only.
"""
