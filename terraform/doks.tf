# The DOKS cluster: newest patch of the pinned minor, one autoscaling node pool, in the environment's VPC.

data "digitalocean_kubernetes_versions" "this" {
  version_prefix = var.kubernetes_version_prefix
}

resource "digitalocean_kubernetes_cluster" "this" {
  name     = var.cluster_name
  region   = var.region
  version  = data.digitalocean_kubernetes_versions.this.latest_version
  vpc_uuid = digitalocean_vpc.this.id
  tags     = local.tags

  ha            = var.ha_control_plane
  surge_upgrade = var.surge_upgrade
  auto_upgrade  = var.auto_upgrade

  # DOKS puts the registry's read-only credentials in kube-system as Secret registry-<registry_name> (type
  # kubernetes.io/dockerconfigjson), copies it into every other namespace, new ones included, and adds it to
  # each namespace's `default` ServiceAccount. Pods with their own ServiceAccount (all of ours) must still
  # name it as imagePullSecret: the app chart does, from config/environments.yaml (docs/DEPLOYMENT.md "Images").
  registry_integration = true

  maintenance_policy {
    day        = var.maintenance_day
    start_time = var.maintenance_start_time
  }

  node_pool {
    name       = "${var.cluster_name}-default"
    size       = var.node_size
    auto_scale = true
    min_nodes  = var.node_min_count
    max_nodes  = var.node_max_count
    tags       = local.tags
    labels = {
      "todo-chatbot.io/pool" = "default"
    }
  }

  # registry_integration needs the registry to exist first.
  depends_on = [digitalocean_container_registry.this]
}
