# The environment's own private network: the cluster's nodes and the database live in it.
resource "digitalocean_vpc" "this" {
  name        = "${var.cluster_name}-vpc"
  region      = var.region
  ip_range    = var.vpc_ip_range
  description = "todo-chatbot ${var.environment}: DOKS nodes and managed PostgreSQL (managed by Terraform)"
}
