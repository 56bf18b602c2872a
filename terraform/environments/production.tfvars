# Production (seed design DD-001 to DD-003): HA control plane, 3-10 nodes of s-2vcpu-4gb, managed PostgreSQL.
# Read by `terraform plan/apply -var-file`, tests/terraform and the cost report (todo-cloud report).

environment  = "production"
region       = "nyc3"
vpc_ip_range = "10.120.0.0/20"

cluster_name              = "todo-chatbot-production"
kubernetes_version_prefix = "1.35."
node_size                 = "s-2vcpu-4gb"
node_min_count            = 3
node_max_count            = 10
ha_control_plane          = true
surge_upgrade             = true
auto_upgrade              = true
maintenance_day           = "sunday"
maintenance_start_time    = "04:00"

registry_name              = "todo-chatbot"
registry_subscription_tier = "basic"
registry_region            = "nyc3"

database_enabled        = true
database_size           = "db-s-1vcpu-1gb"
database_node_count     = 1
database_version        = "17"
database_firewall_rules = [{ type = "k8s", value = "cluster" }]

spaces_bucket_prefix  = "todo-chatbot-production"
backup_retention_days = 30
