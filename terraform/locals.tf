# Names and tags shared by every resource.
locals {
  # Tags on every resource that takes tags (cluster, node pool, database). VPC, registry and Spaces
  # buckets have no tags in the DigitalOcean API: they are grouped in the environment's project instead.
  tags = distinct(concat(["todo-chatbot", "env:${var.environment}", "managed-by:terraform"], var.extra_tags))
}
