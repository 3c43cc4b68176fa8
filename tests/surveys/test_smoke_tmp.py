import pytest
from accounts.roles import Role
from surveys import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_smoke(client):
    admin = UserFactory(username="a", roles=[Role.OUTBOUND_ADMIN])
    client.force_login(admin)
    v = services.questionnaire_create(name="S", created_by=admin)
    q1 = services.question_add(version=v, type="yes_no", text="Use {brand}?")
    q2 = services.question_add(version=v, type="number", text="How many", min_value=0, max_value=10)
    q3 = services.question_add(version=v, type="text", text="Why")
    services.rule_add(
        question=q1, condition="choice", action="goto", choices=[q1.choices.first()], target=q3
    )
    services.rule_add(question=q2, condition="range", action="screen_out", min_value=5)
    for url in [
        "/questionnaires/",
        f"/questionnaires/versions/{v.pk}/",
        f"/questionnaires/questions/{q1.pk}/",
        f"/questionnaires/questions/{q2.pk}/",
        f"/questionnaires/versions/{v.pk}/check/",
        f"/questionnaires/versions/{v.pk}/preview/",
        "/questionnaires/new/",
        "/questionnaires/import/",
        f"/questionnaires/versions/{v.pk}/export.xlsx",
    ]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.content[:3000])
    r = client.post(f"/questionnaires/versions/{v.pk}/preview/", {"action": "start", "state": ""})
    assert r.status_code == 200
    print(r.content.decode()[-6000:])
