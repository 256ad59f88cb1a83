from tests.support.http_fixtures import tenant_a_schema_and_isolation

__all__ = ["tenant_a_schema_and_isolation"]
