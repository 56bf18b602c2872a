# Terraform and provider versions, and the remote state backend.
#
# Cross-variable validation (node_max_count refers to node_min_count, database_firewall_rules to
# database_enabled) needs Terraform >= 1.9 or OpenTofu >= 1.9; `make tf-validate` runs the OpenTofu
# pinned in versions.toml ([go_builds.tofu]).
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "~> 2.99"
    }
  }

  # State lives in a DigitalOcean Spaces bucket through the S3-compatible backend. This block is a
  # partial configuration: the key and the Spaces endpoint come from environments/<env>.s3.tfbackend,
  # the bucket name from the command line (`-backend-config=bucket=<name>`, see docs/SETUP.md), and
  # init refuses to start without it ("The attribute "bucket" is required").
  #
  # Locking: `use_lockfile` writes a `<key>.tflock` object next to the state with a conditional PUT
  # (If-None-Match), the S3-native lock of Terraform >= 1.10 / OpenTofu >= 1.10; no DynamoDB table is
  # needed (Spaces has none). CI additionally serialises applies per environment (one concurrency group).
  backend "s3" {
    region                      = "us-east-1"
    use_lockfile                = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    skip_s3_checksum            = true
  }
}
