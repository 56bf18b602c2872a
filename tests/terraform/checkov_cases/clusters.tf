# Clusters and node pools that each break one rule of policy/checkov/terraform (and two that keep them);
# tests/terraform/test_checkov.py scans this folder and expects exactly the failures named in its table.

resource "digitalocean_kubernetes_cluster" "good" {
  name          = "good"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = true
  auto_upgrade  = true
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 3
    max_nodes  = 10
  }
}

resource "digitalocean_kubernetes_cluster" "single_control_plane" {
  name          = "single-control-plane"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = false
  surge_upgrade = true
  auto_upgrade  = true
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 3
    max_nodes  = 10
  }
}

resource "digitalocean_kubernetes_cluster" "no_surge" {
  name          = "no-surge"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = false
  auto_upgrade  = true
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 3
    max_nodes  = 10
  }
}

resource "digitalocean_kubernetes_cluster" "no_auto_upgrade" {
  name          = "no-auto-upgrade"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = true
  auto_upgrade  = false
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 3
    max_nodes  = 10
  }
}

resource "digitalocean_kubernetes_cluster" "no_maintenance_window" {
  name          = "no-maintenance-window"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = true
  auto_upgrade  = true
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 3
    max_nodes  = 10
  }
}

resource "digitalocean_kubernetes_cluster" "min_above_max" {
  name          = "min-above-max"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = true
  auto_upgrade  = true
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    auto_scale = true
    min_nodes  = 5
    max_nodes  = 3
  }
}

resource "digitalocean_kubernetes_cluster" "fixed_size" {
  name          = "fixed-size"
  region        = "nyc3"
  version       = "1.35.1-do.0"
  ha            = true
  surge_upgrade = true
  auto_upgrade  = true
  maintenance_policy {
    day        = "sunday"
    start_time = "04:00"
  }
  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    node_count = 3
  }
}

resource "digitalocean_kubernetes_node_pool" "good" {
  cluster_id = "00000000-0000-0000-0000-000000000000"
  name       = "extra"
  size       = "s-2vcpu-4gb"
  auto_scale = true
  min_nodes  = 2
  max_nodes  = 4
}

resource "digitalocean_kubernetes_node_pool" "single_node" {
  cluster_id = "00000000-0000-0000-0000-000000000000"
  name       = "single"
  size       = "s-2vcpu-4gb"
  auto_scale = true
  min_nodes  = 1
  max_nodes  = 4
}
