# One DigitalOcean project per environment groups everything this configuration creates (VPC, registry
# and buckets take no tags, so the project is how a reader of the console finds them).
resource "digitalocean_project" "this" {
  name        = "todo-chatbot-${var.environment}"
  description = "todo-chatbot ${var.environment} platform (managed by Terraform)"
  purpose     = "Web Application"
  environment = var.environment == "production" ? "Production" : "Staging"
  resources = concat(
    [
      digitalocean_kubernetes_cluster.this.urn,
      digitalocean_spaces_bucket.loki.urn,
      digitalocean_spaces_bucket.backups.urn,
    ],
    digitalocean_database_cluster.postgres[*].urn,
  )
}
