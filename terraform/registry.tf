# The environment's container registry (name: config/environments.yaml digitalocean.registry); the cluster
# pulls from it with the Secret registry-<name> that registry_integration creates (doks.tf). CI pushes with
# `doctl registry login` using its own token, so no long-lived Docker credentials are created here (they
# would sit in the state in clear text).
resource "digitalocean_container_registry" "this" {
  name                   = var.registry_name
  subscription_tier_slug = var.registry_subscription_tier
  region                 = var.registry_region
}
