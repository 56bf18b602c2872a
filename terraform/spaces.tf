# Spaces buckets of the environment: Loki's chunks and index, and backups (versioned, expiring).

resource "digitalocean_spaces_bucket" "loki" {
  # checkov:skip=CKV_DIO_1:Loki's chunks are written once and deleted by its compactor at the end of retention; versioning would keep every deleted chunk and defeat retention. Backups are versioned.
  name   = "${var.spaces_bucket_prefix}-loki"
  region = var.region
  acl    = "private"
}

resource "digitalocean_spaces_bucket" "backups" {
  name   = "${var.spaces_bucket_prefix}-backups"
  region = var.region
  acl    = "private"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    id                                     = "expire-backups"
    enabled                                = true
    abort_incomplete_multipart_upload_days = 1

    expiration {
      days = var.backup_retention_days
    }

    noncurrent_version_expiration {
      days = var.backup_retention_days
    }
  }
}

# Loki's own Spaces key, limited to its bucket (read and write), so Loki never holds the team-wide key.
resource "digitalocean_spaces_key" "loki" {
  name = "${var.cluster_name}-loki"

  grant {
    bucket     = digitalocean_spaces_bucket.loki.name
    permission = "readwrite"
  }
}

# The backups' own Spaces key, limited to their bucket (read and write): the PostgreSQL dump job's Secret
# todo-chatbot-backups-spaces (charts/platform postgresDump.credentials) holds it, and nothing else.
resource "digitalocean_spaces_key" "backups" {
  name = "${var.cluster_name}-backups"

  grant {
    bucket     = digitalocean_spaces_bucket.backups.name
    permission = "readwrite"
  }
}

# Velero's own Spaces key, limited to the backups bucket: read and write (it deletes the backups whose
# retention ended), apart from the dump job's, so that either can be revoked alone. It goes into the Secret
# todo-chatbot-velero-spaces (docs/RUNBOOK.md "What is backed up").
resource "digitalocean_spaces_key" "velero" {
  name = "${var.cluster_name}-velero"

  grant {
    bucket     = digitalocean_spaces_bucket.backups.name
    permission = "readwrite"
  }
}
