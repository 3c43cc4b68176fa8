"""Demo data for a first run: departments, a user for every role, the default chain."""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Department, User
from accounts.roles import Role

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
    """Create the demo departments and users once; False if they were already there."""
    if User.objects.filter(username="requester").exists():
        return False
    with transaction.atomic():
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
    return True
