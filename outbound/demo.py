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
        phone="+8613800000001",
    ),
    DemoUser(
        "agent2",
        "吴话务",
        "service-centre",
        (Role.CALL_AGENT,),
        agent_no="1002",
        phone="+8613800000002",
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
    return True


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
