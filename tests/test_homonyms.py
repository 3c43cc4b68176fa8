"""Words spelt alike in English and meaning different things carry a context, so each reads
right in Chinese: the phone number is 号码, the question type 数字题, a questionnaire's name
名称 (a person's is 姓名)."""

import pytest
from django.urls import reverse
from django.utils import translation

from surveys.forms import QuestionnaireForm
from surveys.models import QuestionType
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

org, telephony_settings = fx.org, fx.telephony_settings


def test_the_campaign_pages_number_is_a_phone_number(client, org, telephony_settings):
    order = make_campaign(org, phones=phones(2))
    open_attempt(order)
    client.force_login(org.outbound_admin)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    assert "<th>号码</th>" in page
    assert "<th>数字题</th>" not in page


def test_the_question_type_and_the_questionnaires_name():
    with translation.override("zh-hans"):
        assert str(QuestionType.NUMBER.label) == "数字题"
        assert str(QuestionnaireForm().fields["name"].label) == "名称"
    with translation.override("en"):
        assert str(QuestionType.NUMBER.label) == "Number"
        assert str(QuestionnaireForm().fields["name"].label) == "Name"
