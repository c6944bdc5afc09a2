"""The real redis-server fixture of the persistence tests, shared with the e2e tests."""

from tests.persistence.conftest import redis_url as redis_url

__all__ = ["redis_url"]
