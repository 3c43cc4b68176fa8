"""Demo data for a first run: departments, a user for every role, the default chain."""

from dataclasses import dataclass
from datetime import time, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from accounts.roles import Role
from surveys.demo import demo_questionnaire_create

DEMO_PASSWORD = "waihu-demo"  # noqa: S105  (printed for the newcomer; demo data only)

DEPARTMENTS = [
    ("marketing", "市场经营部"),
    ("customer-service", "客服部"),
    ("service-centre", "客服中心"),
]


# Ofcom (the UK regulator) keeps +44 7700 900000 to 900999 for drama and never gives them
# to anyone, so the demo's customers and agents can never ring a real phone, whatever
# telephony is configured. (China keeps no such range.)
FICTIONAL_PREFIX = "+447700900"


def fictional_number(n: int) -> str:
    if not 0 <= n <= 999:
        raise ValueError("the reserved drama range holds 1000 numbers")
    return f"{FICTIONAL_PREFIX}{n:03d}"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    department: str
    roles: tuple[str, ...]
    leads: bool = False
    agent_no: str = ""
    phone: str = ""
    staff: bool = False


USERS = [
    DemoUser("requester", "王需求", "marketing", (Role.REQUESTER,)),
    DemoUser(
        "dept_leader", "李部长", "marketing", (Role.DEPARTMENT_LEADER, Role.REQUESTER), leads=True
    ),
    DemoUser("outbound_admin", "赵管理", "customer-service", (Role.OUTBOUND_ADMIN,)),
    DemoUser(
        "cs_leader",
        "钱主任",
        "customer-service",
        (Role.CS_DEPARTMENT_LEADER, Role.DEPARTMENT_LEADER),
        leads=True,
    ),
    DemoUser(
        "centre_leader",
        "孙经理",
        "service-centre",
        (Role.CS_CENTRE_LEADER, Role.DEPARTMENT_LEADER),
        leads=True,
    ),
    DemoUser(
        "agent1",
        "周话务",
        "service-centre",
        (Role.CALL_AGENT,),
        agent_no="1001",
        phone=fictional_number(901),
    ),
    DemoUser(
        "agent2",
        "吴话务",
        "service-centre",
        (Role.CALL_AGENT,),
        agent_no="1002",
        phone=fictional_number(902),
    ),
    DemoUser("analyst", "郑分析", "customer-service", (Role.ANALYST,)),
    DemoUser("admin", "系统管理员", "customer-service", (), staff=True),
]


def demo_load() -> bool:
    """Create the demo departments, users, questionnaire and a first order once; False if
    they were already there."""
    if User.objects.filter(username="requester").exists():
        return False
    with transaction.atomic():
        _people()
        admin = User.objects.get(username="outbound_admin")
        version = demo_questionnaire_create(created_by=admin)
        _first_order(version)
        voice = _voice_questionnaire(admin)
    # Each approval commits on its own, so the approved order is ready when it starts.
    _voice_campaign(voice)
    return True


def _voice_questionnaire(admin):
    """A short keypad survey after a broadband repair, for the automated campaign."""
    from surveys import services as surveys

    version = surveys.questionnaire_create(
        name="宽带维修回访（语音）", language="zh-hans", mode="voice", created_by=admin
    )
    surveys.version_update_parts(
        version=version,
        greeting_salutation="{customer_name}您好！",
        greeting_introduction="这里是中国移动客服中心，就您近期的宽带维修做一个简短回访。",
        transition_purpose="请您用电话按键回答三个问题。",
        transition_duration_minutes=1,
        transition_cost="本次回访不收取任何费用。",
        closing_summary="您的评价我们已经记录。",
        closing_thanks="感谢您的配合！",
        closing_wishes="祝您生活愉快，再见！",
    )
    fixed = surveys.question_add(
        version=version, type="yes_no", text="您的宽带故障是否已经修复？是请按1，否请按2。"
    )
    rating = surveys.question_add(
        version=version,
        type="scale",
        text="您对本次维修服务满意吗？非常满意请按1，比较满意按2，一般按3，不太满意按4，非常差按5。",
    )
    again = surveys.question_add(
        version=version, type="yes_no", text="今后我们可以再次致电您吗？可以请按1，不可以请按2。"
    )
    for question in (fixed, rating, again):
        for digit, choice in enumerate(question.choices.order_by("position"), start=1):
            surveys.choice_update(choice=choice, keypad=str(digit))
    surveys.version_publish(version=version, published_by=admin)
    version.refresh_from_db()
    return version


def _voice_campaign(version) -> None:
    """An approved automated campaign of forty customers, already running, so a first run
    shows the sandbox dial, ring and finish on its campaign page."""
    from outbound.dialer.services import campaign_start, settings_update
    from outbound.models import Contact
    from outbound.services import order_create, order_decide, order_submit

    people = {spec.username: User.objects.get(username=spec.username) for spec in USERS}
    today = timezone.localdate()
    order = order_create(
        user=people["requester"],
        data={
            "title": "宽带维修回访（自动语音）",
            "kind": "service_callback",
            "background": "宽带故障修复后一个工作日内回访。",
            "purpose": "了解故障是否修复及客户对维修服务的满意度。",
            "target_description": "昨日报结的宽带维修工单客户。",
            "expected_contacts": 40,
            "desired_start": today,
            "desired_end": today + timedelta(days=14),
            "calling_hours_start": time(9, 0),
            "calling_hours_end": time(20, 0),
            "mode": "voice",
            "questionnaire": version,
        },
    )
    order_submit(order=order, user=people["requester"])
    assignment = {
        "questionnaire": version,
        "team": [people["agent1"], people["agent2"]],
        "planned_start": today,
        "planned_end": today + timedelta(days=14),
        "daily_volume": 500,
    }
    for approver in (
        "dept_leader",
        "outbound_admin",
        "cs_leader",
        "outbound_admin",
        "centre_leader",
        "agent1",
    ):
        step = order.approval.current_step
        order_decide(
            order=order,
            user=people[approver],
            action="approve",
            comment="同意。",
            assignment=assignment if step.kind == "assign" else None,
        )
    brands = ["全球通", "动感地带", "神州行"]
    Contact.objects.bulk_create(
        Contact(
            campaign=order,
            phone=fictional_number(n),
            name=f"客户{n:02d}",
            brand=brands[n % 3],
            region="长沙",
        )
        for n in range(40)
    )
    order.refresh_from_db()
    admin = people["outbound_admin"]
    # Round the clock, so the demo dials whenever it is first run.
    settings_update(
        campaign=order,
        user=admin,
        data={
            "weekly_hours": {str(day): ["00:00", "23:59"] for day in range(1, 8)},
            "calls_per_second": 1.0,
            "max_concurrent": 5,
        },
    )
    campaign_start(campaign=order, user=admin)


def _first_order(version) -> None:
    """A satisfaction survey waiting for the marketing department leader's approval."""
    from outbound.services import order_create, order_submit

    requester = User.objects.get(username="requester")
    today = timezone.localdate()
    order = order_create(
        user=requester,
        data={
            "title": "2026年第四季度客服满意度调查",
            "kind": "satisfaction",
            "background": "本季度10086热线投诉量上升，需了解客户对客服工作的评价。",
            "purpose": "测评客户对客户服务的满意度，找出短板并改进。",
            "target_description": (
                "近三个月拨打过10086热线的全球通、动感地带、神州行客户，随机抽样。"
            ),
            "expected_contacts": 2000,
            "desired_start": today + timedelta(days=7),
            "desired_end": today + timedelta(days=21),
            "calling_hours_start": time(9, 0),
            "calling_hours_end": time(20, 0),
            "mode": "agents",
            "questionnaire": version,
        },
    )
    order_submit(order=order, user=requester)


def _people() -> None:
    departments = {
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEPARTMENTS
    }
    for spec in USERS:
        user = User.objects.create_user(
            username=spec.username,
            password=DEMO_PASSWORD,
            email=f"{spec.username}@waihu.example",
            display_name=spec.display_name,
            department=departments[spec.department],
            agent_no=spec.agent_no,
            phone=spec.phone,
            is_staff=spec.staff,
            is_superuser=spec.staff,
        )
        user.groups.set(Group.objects.filter(name__in=[str(r) for r in spec.roles]))
        if spec.leads:
            Department.objects.filter(pk=user.department_id).update(leader=user)
