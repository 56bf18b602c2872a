"""Custom checkov checks of the Terraform for DigitalOcean (DOKS); loaded with --external-checks-dir."""
