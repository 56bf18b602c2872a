# The DigitalOcean provider takes its credentials from the environment only, never from variables or
# files in the repository:
#   DIGITALOCEAN_TOKEN                             API token (read/write) of the environment's team
#   SPACES_ACCESS_KEY_ID / SPACES_SECRET_ACCESS_KEY Spaces key for the Loki and backup buckets
# The S3 backend reads the same Spaces key as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
provider "digitalocean" {}
