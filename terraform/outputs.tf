# What the deploy tooling and docs/SETUP.md read after `terraform apply` (`terraform output -json`).

output "cluster_name" {
  description = "Name of the DOKS cluster."
  value       = digitalocean_kubernetes_cluster.this.name
}

output "cluster_id" {
  description = "ID of the DOKS cluster (doctl kubernetes cluster kubeconfig save <id>)."
  value       = digitalocean_kubernetes_cluster.this.id
}

output "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API server."
  value       = digitalocean_kubernetes_cluster.this.endpoint
}

output "kubernetes_version" {
  description = "Kubernetes version the cluster was created with (newest patch of kubernetes_version_prefix)."
  value       = digitalocean_kubernetes_cluster.this.version
}

output "kube_context" {
  description = "kubectl context name doctl writes for this cluster (config/environments.yaml kubeContext)."
  value       = "do-${var.region}-${digitalocean_kubernetes_cluster.this.name}"
}

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = digitalocean_vpc.this.id
}

output "registry_endpoint" {
  description = "Image prefix of the registry, e.g. registry.digitalocean.com/<name>."
  value       = digitalocean_container_registry.this.endpoint
}

output "registry_server_url" {
  description = "Host name of the registry (docker login target)."
  value       = digitalocean_container_registry.this.server_url
}

output "database_host" {
  description = "Private host name of the PostgreSQL cluster (reachable from the VPC); null without a database."
  value       = one(digitalocean_database_cluster.postgres[*].private_host)
}

output "database_port" {
  description = "Port of the PostgreSQL cluster; null without a database."
  value       = one(digitalocean_database_cluster.postgres[*].port)
}

output "database_uri" {
  description = "Connection URI of the backend's role to its database over the private network (sslmode=require); null without a database."
  sensitive   = true
  value = var.database_enabled ? format(
    "postgresql://%s:%s@%s:%d/%s?sslmode=require",
    digitalocean_database_user.app[0].name,
    urlencode(digitalocean_database_user.app[0].password),
    digitalocean_database_cluster.postgres[0].private_host,
    digitalocean_database_cluster.postgres[0].port,
    digitalocean_database_db.app[0].name,
  ) : null
}

output "loki_bucket" {
  description = "Name of the Spaces bucket Loki stores chunks and index in."
  value       = digitalocean_spaces_bucket.loki.name
}

output "loki_spaces_access_key" {
  description = "Access key ID of Loki's Spaces key (read and write on the Loki bucket only)."
  value       = digitalocean_spaces_key.loki.access_key
}

output "loki_spaces_secret_key" {
  description = "Secret of Loki's Spaces key; goes into the Secret Loki reads its S3 credentials from."
  sensitive   = true
  value       = digitalocean_spaces_key.loki.secret_key
}

output "backups_bucket" {
  description = "Name of the Spaces bucket for backups."
  value       = digitalocean_spaces_bucket.backups.name
}

output "velero_spaces_access_key" {
  description = "Access key ID of Velero's Spaces key (read and write on the backups bucket only)."
  value       = digitalocean_spaces_key.velero.access_key
}

output "velero_spaces_secret_key" {
  description = "Secret of Velero's Spaces key; goes into the Secret todo-chatbot-velero-spaces (key `cloud`)."
  sensitive   = true
  value       = digitalocean_spaces_key.velero.secret_key
}

output "spaces_endpoint" {
  description = "S3 endpoint of the environment's Spaces buckets."
  value       = "https://${var.region}.digitaloceanspaces.com"
}

output "backups_spaces_access_key" {
  description = "Access key ID of the backups' Spaces key (read and write on the backups bucket only)."
  value       = digitalocean_spaces_key.backups.access_key
}

output "backups_spaces_secret_key" {
  description = "Secret of the backups' Spaces key; goes into the Secret todo-chatbot-backups-spaces."
  sensitive   = true
  value       = digitalocean_spaces_key.backups.secret_key
}
