"""What a release of the platform is pinned to and where it goes: upstream images pinned by digest in the
values files (`pins`, `todo-cloud images pin`), the digest a registry serves for a tag (`oci`), and the
umbrella chart packaged and pushed to an OCI registry (`publish`, `todo-cloud publish`)."""
