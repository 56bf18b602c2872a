"""The test suites, one package (pytest's default `prepend` import mode, pyproject.toml): a module is imported by
its full name from the repository root, so that helpers are imported as `from tests.cluster.support import
Deployment`, never by a bare name that depends on which folder pytest put on sys.path."""
