# Staging: same shape as production, smaller: single control plane, 2-4 nodes, no managed database (the
# backend uses the external PostgreSQL of the seed). Its own team, hence its own registry and VPC.
# Read by `terraform plan/apply -var-file`, tests/terraform and the cost report (todo-cloud report).

environment  = "staging"
region       = "nyc3"
vpc_ip_range = "10.110.0.0/20"

cluster_name              = "todo-chatbot-staging"
kubernetes_version_prefix = "1.35."
node_size                 = "s-2vcpu-4gb"
node_min_count            = 2
node_max_count            = 4
ha_control_plane          = false
surge_upgrade             = true
auto_upgrade              = true
maintenance_day           = "saturday"
maintenance_start_time    = "04:00"

# basic, not starter: starter holds a single repository and we push two (frontend, backend).
registry_name              = "todo-chatbot-staging"
registry_subscription_tier = "basic"
registry_region            = "nyc3"

database_enabled    = false
database_size       = "db-s-1vcpu-1gb"
database_node_count = 1

spaces_bucket_prefix  = "todo-chatbot-staging"
backup_retention_days = 7
