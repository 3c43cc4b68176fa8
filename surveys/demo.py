"""The customer-service satisfaction questionnaire the demo ships with, modelled on the
branch's own survey: four parts, fifteen questions, published."""

from typing import Any

from django.db import transaction

from surveys import services
from surveys.models import (
    Action,
    Condition,
    Language,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    VersionStatus,
)
from surveys.presets import Preset

DEMO_NAME = "客户服务满意度调查"

DEMO_PARTS = {
    "greeting_salutation": "您好！请问是{customer_name}先生/女士吗？",
    "greeting_introduction": "我是中国移动客服中心的话务员{agent_name}，工号{agent_no}。",
    "transition_purpose": (
        "为了进一步提升我们的服务质量，想耽误您一点时间，了解一下您对我们服务的看法和建议。"
    ),
    "transition_duration_minutes": 5,
    "transition_cost": "本次回访对您完全免费，不会产生任何费用。",
    "closing_summary": (
        "您刚才谈到了您使用的业务、对我们服务质量的评价以及需要改进的地方，"
        "我们会认真整理并反馈给相关部门。"
    ),
    "closing_thanks": "非常感谢您的耐心配合和宝贵意见！",
    "closing_wishes": "祝您工作顺利、生活愉快，再见！",
}


def _choices(question: Question, labels: list[str], *, specify_last: bool = False) -> list:
    made = []
    for i, label in enumerate(labels, start=1):
        made.append(
            services.choice_add(
                question=question,
                label=label,
                specify=specify_last and i == len(labels),
            )
        )
    return made


def demo_questionnaire_create(*, created_by: Any = None) -> QuestionnaireVersion:
    """Build and publish the demo questionnaire; when one of that name is already published,
    return its latest published version instead."""
    existing = (
        QuestionnaireVersion.objects.filter(
            questionnaire__name=DEMO_NAME, status=VersionStatus.PUBLISHED
        )
        .select_related("questionnaire")
        .order_by("-number")
        .first()
    )
    if existing is not None:
        return existing
    with transaction.atomic():
        stale = Questionnaire.objects.filter(name=DEMO_NAME).first()
        if stale is not None:
            draft = stale.versions.filter(status=VersionStatus.DRAFT).first()
            if draft is not None:
                services.version_discard(version=draft)
        version = services.questionnaire_create(
            name=DEMO_NAME, language=Language.ZH_HANS, created_by=created_by
        )
        services.version_update_parts(version=version, **DEMO_PARTS)
        _body(version)
        services.version_publish(version=version, published_by=created_by)
    version.refresh_from_db()
    return version


def _body(version: QuestionnaireVersion) -> None:
    add = services.question_add
    q1 = add(
        version=version,
        type=QuestionType.SINGLE,
        text="请问您的性别是？",
        instruction="可根据声音判断，无法判断时再询问。",
    )
    _choices(q1, ["男", "女"])
    q2 = add(
        version=version,
        type=QuestionType.SINGLE,
        text="请问您的年龄在哪个范围？",
        allow_refused=True,
    )
    under18 = _choices(q2, ["18岁以下", "18-25岁", "25-40岁", "40岁以上"])[0]
    q3 = add(version=version, type=QuestionType.SINGLE, text="请问您目前使用的是哪个品牌？")
    _choices(q3, ["全球通", "动感地带", "神州行", "G3"])
    q4 = add(
        version=version,
        type=QuestionType.SINGLE,
        text="请问您平均每月的话费大约是多少？",
        allow_refused=True,
    )
    _choices(q4, ["50元以下", "50-100元", "100-500元", "500元以上"])
    q5 = add(
        version=version,
        type=QuestionType.SINGLE,
        text="遇到问题时，您通常通过什么方式解决？",
    )
    _choices(q5, ["拨打10086热线", "网上营业厅", "营业厅", "其他（请注明）"], specify_last=True)
    q6 = add(
        version=version,
        type=QuestionType.MULTIPLE,
        text="您目前在使用哪些增值业务？可以多选。",
        instruction="逐项读出选项；选“无”时不能再选其他选项。",
        required=True,  # “无” lets everyone answer
    )
    _choices(q6, ["手机上网", "彩铃", "飞信", "手机报"])
    q6_other = services.choice_add(question=q6, label="其他（请注明）", specify=True)
    q6_none = services.choice_add(question=q6, label="无", code=9, exclusive=True)
    del q6_other
    q7 = add(
        version=version,
        type=QuestionType.SINGLE,
        text="如果推出新的业务品牌，您认为它最应该提供什么？",
    )
    _choices(
        q7,
        ["低廉的价格", "强力的促销", "高质量的服务", "更多的优惠", "其他（请注明）"],
        specify_last=True,
    )
    q8 = add(
        version=version,
        type=QuestionType.MULTIPLE,
        text="您选择我们的原因有哪些？可以多选。",
    )
    _choices(
        q8,
        ["价格合理", "信号好", "产品丰富", "信誉好", "服务周到", "其他（请注明）"],
        specify_last=True,
    )
    add(
        version=version,
        type=QuestionType.SCALE,
        preset=Preset.SATISFACTION_5,
        text="您对我们的服务质量总体评价如何？",
    )
    add(
        version=version,
        type=QuestionType.SCALE,
        preset=Preset.SATISFACTION_5,
        text="您对我们为解决您的问题所采取的措施评价如何？",
        allow_dont_know=True,
    )
    for statement in (
        "话务员的态度礼貌。",
        "话务员处理来电迅速。",
        "等待接通的时间可以接受。",
    ):
        add(
            version=version,
            type=QuestionType.SCALE,
            preset=Preset.AGREEMENT_4,
            text=f"请问您是否同意以下说法：{statement}",
        )
    q14 = add(
        version=version,
        type=QuestionType.MULTIPLE,
        text="您认为我们最需要在哪些方面改进？可以多选。",
    )
    _choices(
        q14,
        ["网络技术", "品牌形象", "产品业务", "服务质量", "优惠活动", "公益事业", "其他（请注明）"],
        specify_last=True,
    )
    add(
        version=version,
        type=QuestionType.TEXT,
        text="您对我们的服务还有什么意见或建议？",
        instruction="简要复述客户的意见并确认。",
        required=False,
    )

    # Minors are not surveyed. Someone who uses no value-added service skips the question
    # on what a new brand of such services should offer.
    services.rule_add(
        question=q2, condition=Condition.CHOICE, choices=[under18], action=Action.SCREEN_OUT
    )
    services.rule_add(
        question=q6, condition=Condition.CHOICE, choices=[q6_none], action=Action.GOTO, target=q8
    )
