# Optional managed PostgreSQL (database_enabled): private to the VPC, a database and a role for the
# backend, and a firewall that admits only the listed sources (by default only this cluster).

resource "digitalocean_database_cluster" "postgres" {
  count = var.database_enabled ? 1 : 0

  name                 = "${var.cluster_name}-pg"
  engine               = "pg"
  version              = var.database_version
  size                 = var.database_size
  region               = var.region
  node_count           = var.database_node_count
  private_network_uuid = digitalocean_vpc.this.id
  tags                 = local.tags

  maintenance_window {
    day  = var.maintenance_day
    hour = var.maintenance_start_time
  }
}

resource "digitalocean_database_db" "app" {
  count = var.database_enabled ? 1 : 0

  cluster_id = digitalocean_database_cluster.postgres[0].id
  name       = var.database_name
}

resource "digitalocean_database_user" "app" {
  count = var.database_enabled ? 1 : 0

  cluster_id = digitalocean_database_cluster.postgres[0].id
  name       = var.database_user
}

resource "digitalocean_database_firewall" "postgres" {
  count = var.database_enabled ? 1 : 0

  cluster_id = digitalocean_database_cluster.postgres[0].id

  dynamic "rule" {
    for_each = var.database_firewall_rules
    content {
      type  = rule.value.type
      value = rule.value.type == "k8s" && rule.value.value == "cluster" ? digitalocean_kubernetes_cluster.this.id : rule.value.value
    }
  }
}
