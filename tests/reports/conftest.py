import pytest

from accounts.roles import Role
from tests.factories import UserFactory


def install_index_defaults() -> None:
    """The weights and targets come from a data migration; transactional tests flush them."""
    from importlib import import_module

    from django.apps import apps

    import_module("reports.migrations.0002_index_defaults").install(apps, None)


@pytest.fixture
def demo_version(db):
    from surveys.demo import demo_questionnaire_create

    return demo_questionnaire_create()


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst", roles=[Role.ANALYST])


@pytest.fixture
def outbound_admin(db):
    return UserFactory(username="admin1", roles=[Role.OUTBOUND_ADMIN])


@pytest.fixture
def no_attribute_source():
    """Tests that register a source of contact attributes take it away again."""
    from reports import hooks

    before = list(hooks._sources)
    yield
    hooks._sources[:] = before
