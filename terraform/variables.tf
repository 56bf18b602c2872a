# Inputs of one environment; values per environment in environments/<env>.tfvars. The environment's facts
# (environment, region, vpc_ip_range, cluster_name, kubernetes_version_prefix, node_size, node_min_count,
# node_max_count, registry_name, spaces_bucket_prefix) are written there by `make generate` from
# config/environments.yaml, the one source the values files and the deploy read too.
# Every variable is typed, described and validated; none holds a secret (credentials come from the
# environment, see providers.tf). Sizing variables default to production's safe settings (HA control
# plane, surge upgrades, auto-upgrade), so checkov over this folder sees the production posture.
# The cost report (todo-cloud report) reads region, cluster_name, kubernetes_version_prefix, node_size,
# node_min_count, node_max_count, ha_control_plane, registry_subscription_tier, database_enabled,
# database_size and database_node_count from the tfvars: keep those names.

# --- environment and placement ----------------------------------------------------------------------

variable "environment" {
  description = "Environment name (staging or production); goes into tags, names and the project."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be one of: staging, production."
  }
}

variable "region" {
  description = "DigitalOcean region of the cluster, VPC, database and Spaces buckets (one offering DOKS, Spaces and managed PostgreSQL)."
  type        = string

  validation {
    condition     = contains(["nyc3", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"], var.region)
    error_message = "region must be one of: nyc3, sfo3, ams3, sgp1, lon1, fra1, tor1, blr1, syd1, atl1."
  }
}

variable "vpc_ip_range" {
  description = "Private CIDR of the environment's VPC (/16 to /24, RFC 1918, not overlapping another VPC of the team)."
  type        = string

  validation {
    condition = (
      can(cidrnetmask(var.vpc_ip_range)) &&
      can(regex("^(10\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|192\\.168\\.)", var.vpc_ip_range)) &&
      try(tonumber(split("/", var.vpc_ip_range)[1]) >= 16 && tonumber(split("/", var.vpc_ip_range)[1]) <= 24, false)
    )
    error_message = "vpc_ip_range must be a private (RFC 1918) CIDR between /16 and /24, e.g. 10.20.0.0/20."
  }
}

variable "extra_tags" {
  description = "Tags added to every taggable resource besides todo-chatbot, env:<environment> and managed-by:terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.extra_tags : can(regex("^[A-Za-z0-9:_-]{1,255}$", t))])
    error_message = "extra_tags: each tag may hold only letters, digits, colons, dashes and underscores (1-255 characters)."
  }
}

# --- Kubernetes (DOKS) ------------------------------------------------------------------------------

variable "cluster_name" {
  description = "Name of the DOKS cluster; kubectl's context becomes do-<region>-<cluster_name> (config/environments.yaml)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,61}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-63 lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "kubernetes_version_prefix" {
  description = "Kubernetes minor the cluster runs, as a version prefix with a trailing dot (\"1.35.\"); the newest patch of it is picked."
  type        = string
  default     = "1.35."

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.$", var.kubernetes_version_prefix))
    error_message = "kubernetes_version_prefix must look like \"1.35.\" (major.minor and a trailing dot)."
  }
}

variable "node_size" {
  description = "Droplet size slug of the default node pool."
  type        = string
  default     = "s-2vcpu-4gb"

  validation {
    condition     = contains(["s-2vcpu-4gb", "s-4vcpu-8gb", "s-8vcpu-16gb", "c-2", "c-4", "g-2vcpu-8gb", "g-4vcpu-16gb"], var.node_size)
    error_message = "node_size must be one of: s-2vcpu-4gb, s-4vcpu-8gb, s-8vcpu-16gb, c-2, c-4, g-2vcpu-8gb, g-4vcpu-16gb."
  }
}

variable "node_min_count" {
  description = "Fewest nodes the autoscaler keeps in the default node pool (at least 1)."
  type        = number
  default     = 3

  validation {
    condition     = var.node_min_count >= 1 && floor(var.node_min_count) == var.node_min_count
    error_message = "node_min_count must be a whole number of at least 1."
  }
}

variable "node_max_count" {
  description = "Most nodes the autoscaler may add to the default node pool (at least node_min_count, at most 100)."
  type        = number
  default     = 10

  validation {
    condition     = floor(var.node_max_count) == var.node_max_count && var.node_max_count <= 100
    error_message = "node_max_count must be a whole number of at most 100."
  }

  validation {
    condition     = var.node_max_count >= var.node_min_count
    error_message = "node_max_count must be greater than or equal to node_min_count (autoscaling bounds min <= max)."
  }
}

variable "ha_control_plane" {
  description = "Run the highly available control plane (cannot be turned off again once on; billed monthly)."
  type        = bool
  default     = true
}

variable "surge_upgrade" {
  description = "Upgrade nodes by surging new ones before draining old ones (no capacity dip during upgrades)."
  type        = bool
  default     = true
}

variable "auto_upgrade" {
  description = "Apply new Kubernetes patch releases automatically in the maintenance window."
  type        = bool
  default     = true
}

variable "maintenance_day" {
  description = "Weekday of the maintenance window of the cluster and the database (monday to sunday)."
  type        = string
  default     = "sunday"

  validation {
    condition     = contains(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], var.maintenance_day)
    error_message = "maintenance_day must be a weekday name in lowercase, monday to sunday."
  }
}

variable "maintenance_start_time" {
  description = "UTC start of the maintenance window, HH:MM in 24-hour notation."
  type        = string
  default     = "04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "maintenance_start_time must be HH:MM in 24-hour notation, e.g. 04:00."
  }
}

# --- container registry -----------------------------------------------------------------------------

variable "registry_name" {
  description = "Name of the container registry (unique across DigitalOcean; one registry per team)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.registry_name))
    error_message = "registry_name must be 3-63 lowercase letters, digits and dashes."
  }
}

variable "registry_subscription_tier" {
  description = "Registry plan: starter (1 repository, free), basic (5 repositories) or professional (unlimited)."
  type        = string
  default     = "basic"

  validation {
    condition     = contains(["starter", "basic", "professional"], var.registry_subscription_tier)
    error_message = "registry_subscription_tier must be one of: starter, basic, professional."
  }
}

variable "registry_region" {
  description = "Region where the registry stores images (registries are offered in fewer regions than DOKS)."
  type        = string
  default     = "nyc3"

  validation {
    condition     = contains(["nyc3", "sfo3", "ams3", "sgp1", "fra1", "blr1", "syd1"], var.registry_region)
    error_message = "registry_region must be one of: nyc3, sfo3, ams3, sgp1, fra1, blr1, syd1."
  }
}

# --- managed PostgreSQL (optional) --------------------------------------------------------------------

variable "database_enabled" {
  description = "Create a managed PostgreSQL cluster for the backend (otherwise the database is run elsewhere)."
  type        = bool
  default     = false
}

variable "database_size" {
  description = "Size slug of each managed PostgreSQL node."
  type        = string
  default     = "db-s-1vcpu-1gb"

  validation {
    condition     = contains(["db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb", "db-s-6vcpu-16gb"], var.database_size)
    error_message = "database_size must be one of: db-s-1vcpu-1gb, db-s-1vcpu-2gb, db-s-2vcpu-4gb, db-s-4vcpu-8gb, db-s-6vcpu-16gb."
  }
}

variable "database_node_count" {
  description = "Nodes of the PostgreSQL cluster: 1 (primary only) to 3 (primary and two standbys)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 3], var.database_node_count)
    error_message = "database_node_count must be 1, 2 or 3."
  }
}

variable "database_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "17"

  validation {
    condition     = contains(["16", "17", "18"], var.database_version)
    error_message = "database_version must be one of: 16, 17, 18."
  }
}

variable "database_name" {
  description = "Database the backend uses inside the PostgreSQL cluster."
  type        = string
  default     = "todo"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier (letters, digits, underscores)."
  }
}

variable "database_user" {
  description = "Role the backend connects as (its password is generated by DigitalOcean, never set here)."
  type        = string
  default     = "todo_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_user))
    error_message = "database_user must be a lowercase PostgreSQL identifier (letters, digits, underscores)."
  }
}

variable "database_firewall_rules" {
  description = "Sources the PostgreSQL firewall admits; { type = \"k8s\", value = \"cluster\" } stands for this environment's DOKS cluster. Must not be empty when database_enabled: a managed database without trusted sources accepts connections from anywhere."
  type = list(object({
    type  = string
    value = string
  }))
  default = [{ type = "k8s", value = "cluster" }]

  validation {
    condition     = alltrue([for r in var.database_firewall_rules : contains(["k8s", "droplet", "tag", "ip_addr", "app"], r.type)])
    error_message = "database_firewall_rules: each rule type must be one of k8s, droplet, tag, ip_addr, app."
  }

  validation {
    condition     = !var.database_enabled || length(var.database_firewall_rules) > 0
    error_message = "database_firewall_rules must hold at least one rule when database_enabled is true (the database would be open to the internet)."
  }
}

# --- Spaces (object storage) ------------------------------------------------------------------------

variable "spaces_bucket_prefix" {
  description = "Prefix of the Spaces bucket names (<prefix>-loki, <prefix>-backups); bucket names are global across DigitalOcean."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,53}[a-z0-9]$", var.spaces_bucket_prefix))
    error_message = "spaces_bucket_prefix must be 3-55 lowercase letters, digits and dashes."
  }
}

variable "backup_retention_days" {
  description = "Days a backup object (and a replaced version of it) is kept in the backups bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_retention_days >= 1 && floor(var.backup_retention_days) == var.backup_retention_days
    error_message = "backup_retention_days must be a whole number of at least 1."
  }
}
