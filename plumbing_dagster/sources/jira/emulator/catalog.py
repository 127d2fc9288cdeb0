"""The fixed configuration of the emulated Jira instance: projects, users, issue types, the workflow,
priorities, resolutions, link types, components, versions, team options (the fields are in `fields.py`,
the sprints in `sprints.py`).

Ids follow Data Center's conventions (strings in JSON, `100xx` for most schemes, `JIRAUSER<n>` user
keys). Each object is rendered once into its JSON text here; issues only pick them. Links in that
text start with `BASE`, which the app replaces by the URL the client called (the instance's base URL
with its context path), so the same rendering serves any port and any context path.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from json.encoder import encode_basestring

BASE = "@@JIRA_BASE@@"  # replaced by e.g. `http://127.0.0.1:8080/jira` in every response
API = BASE + "/rest/api/2"


class Weights:
    """A weighted choice of index, drawn with one `random()` (cheaper than `random.choices`, which
    matters at 20,000 issues a day)."""

    def __init__(self, *weights: float):
        self.cumulative = list(accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        return bisect_right(self.cumulative, rng.random() * self.cumulative[-1])


def js(value: object) -> str:
    """Compact JSON text, as the responses are joined from pieces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def text(value: str | None) -> str:
    """A string (or null) as JSON text, as `js` would give it but without its overhead."""
    return "null" if value is None else encode_basestring(value)


def _avatars(kind: str, owner: str, avatar_id: int) -> dict[str, str]:
    sizes = (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"), ("32x32", "medium"))
    return {px: f"{BASE}/secure/{kind}?size={size}&{owner}&avatarId={avatar_id}" for px, size in sizes}


@dataclass(frozen=True)
class User:
    name: str
    key: str
    display_name: str
    time_zone: str
    active: bool = True

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    def bean(self) -> dict[str, object]:
        """The user as issue fields and change histories show it (UserJsonBean)."""
        return {
            "self": f"{API}/user?username={self.name}",
            "name": self.name,
            "key": self.key,
            "emailAddress": self.email,
            "avatarUrls": _avatars("useravatar", f"ownerId={self.name}", 10122),
            "displayName": self.display_name,
            "active": self.active,
            "timeZone": self.time_zone,
        }


# The PAT's owner is a service account in a zone that differs from the server's by an hour, so a
# client that reads quoted JQL dates in the server's zone (or in UTC) gets the wrong window.
SERVICE_ACCOUNT = User("svc-plumbing", "JIRAUSER10000", "Plumbing Service Account", "Europe/Helsinki")
USERS: tuple[User, ...] = (
    SERVICE_ACCOUNT,
    User("anna.schmidt", "JIRAUSER10100", "Anna Schmidt", "Europe/Berlin"),
    User("ben.costa", "JIRAUSER10101", "Ben Costa", "Europe/Berlin"),
    User("chloe.dubois", "JIRAUSER10102", "Chloé Dubois", "UTC"),
    User("david.meyer", "JIRAUSER10103", "David Meyer", "America/Los_Angeles"),
    User("emma.jansen", "JIRAUSER10104", "Emma Jansen", "America/Los_Angeles"),
    User("felix.novak", "JIRAUSER10105", "Felix Novak", "Asia/Kolkata"),
    User("greta.olsen", "JIRAUSER10106", "Greta Olsen", "UTC"),
    User("hugo.rossi", "JIRAUSER10107", "Hugo Rossi", "Europe/Berlin", active=False),  # has left
    User("ines.silva", "JIRAUSER10108", "Inês Silva", "America/New_York"),
    User("jonas.weber", "JIRAUSER10109", "Jonas Weber", "Europe/Berlin"),
)
PEOPLE = tuple(range(1, len(USERS)))  # indexes of the users who work on issues (not the service)
USER_JSON = tuple(js(user.bean()) for user in USERS)
USER_BY_NAME = {user.name: index for index, user in enumerate(USERS)}


@dataclass(frozen=True)
class Named:
    """A scheme object (issue type, status, priority, resolution, option): an id, a name, its JSON."""

    id: str
    name: str
    json: str = field(compare=False)


def _named(id_: str, name: str, bean: dict[str, object]) -> Named:
    return Named(id_, name, js(bean))


def _issue_type(id_: str, name: str, description: str, avatar: int) -> Named:
    icon = f"{BASE}/secure/viewavatar?size=xsmall&avatarId={avatar}&avatarType=issuetype"
    bean = {
        "self": f"{API}/issuetype/{id_}",
        "id": id_,
        "description": description,
        "iconUrl": icon,
        "name": name,
        "subtask": False,
        "avatarId": avatar,
    }
    return _named(id_, name, bean)


ISSUE_TYPES = (
    _issue_type("10000", "Epic", "A big user story that needs to be broken down.", 10307),
    _issue_type("10001", "Story", "A user story. Created by Jira Software - do not edit or delete.", 10315),
    _issue_type("10002", "Task", "A task that needs to be done.", 10318),
    _issue_type("10004", "Bug", "A problem which impairs or prevents the functions of the product.", 10303),
)
STORY = 1
ISSUE_TYPE_WEIGHTS = Weights(0.07, 0.33, 0.30, 0.30)

_CATEGORIES = {  # status category: (id, key, colour, name)
    "new": (2, "new", "blue-gray", "To Do"),
    "indeterminate": (4, "indeterminate", "yellow", "In Progress"),
    "done": (3, "done", "green", "Done"),
}


def _status(id_: str, name: str, category: str, icon: str, description: str) -> Named:
    cat_id, cat_key, colour, cat_name = _CATEGORIES[category]
    bean = {
        "self": f"{API}/status/{id_}",
        "description": description,
        "iconUrl": f"{BASE}/images/icons/statuses/{icon}.png",
        "name": name,
        "id": id_,
        "statusCategory": {
            "self": f"{API}/statuscategory/{cat_id}",
            "id": cat_id,
            "key": cat_key,
            "colorName": colour,
            "name": cat_name,
        },
    }
    return _named(id_, name, bean)


STATUSES = (
    _status("10000", "To Do", "new", "open", "The issue is open and ready for the assignee to start work."),
    _status("3", "In Progress", "indeterminate", "inprogress", "This issue is being actively worked on."),
    _status("10100", "In Review", "indeterminate", "generic", "The change is waiting for review."),
    _status("10001", "Done", "done", "closed", "Work on this issue is complete."),
)
TO_DO, IN_PROGRESS, IN_REVIEW, DONE = range(4)
# The workflow: from each status, the statuses it may move to, with their weights.
TRANSITIONS: dict[int, tuple[tuple[int, ...], Weights]] = {
    TO_DO: ((IN_PROGRESS, DONE), Weights(0.85, 0.15)),  # straight to Done: won't do, duplicate
    IN_PROGRESS: ((IN_REVIEW, TO_DO), Weights(0.8, 0.2)),
    IN_REVIEW: ((DONE, IN_PROGRESS), Weights(0.7, 0.3)),
    DONE: ((TO_DO, IN_PROGRESS), Weights(0.5, 0.5)),  # reopened
}


def _priority(id_: str, name: str, icon: str, colour: str) -> Named:
    bean = {
        "self": f"{API}/priority/{id_}",
        "iconUrl": f"{BASE}/images/icons/priorities/{icon}.svg",
        "name": name,
        "id": id_,
        "statusColor": colour,
    }
    return _named(id_, name, bean)


PRIORITIES = (
    _priority("1", "Highest", "highest", "#d04437"),
    _priority("2", "High", "high", "#f15C75"),
    _priority("3", "Medium", "medium", "#f79232"),
    _priority("4", "Low", "low", "#707070"),
    _priority("5", "Lowest", "lowest", "#999999"),
)
PRIORITY_WEIGHTS = Weights(0.03, 0.17, 0.6, 0.15, 0.05)


def _resolution(id_: str, name: str, description: str) -> Named:
    return _named(
        id_, name, {"self": f"{API}/resolution/{id_}", "id": id_, "description": description, "name": name}
    )


RESOLUTIONS = (
    _resolution("10000", "Done", "Work has been completed on this issue."),
    _resolution("10001", "Won't Do", "This issue won't be actioned."),
    _resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
)


@dataclass(frozen=True)
class LinkType:
    id: str
    name: str
    inward: str
    outward: str

    @property
    def json(self) -> str:
        bean = {
            "id": self.id,
            "name": self.name,
            "inward": self.inward,
            "outward": self.outward,
            "self": f"{API}/issueLinkType/{self.id}",
        }
        return js(bean)


LINK_TYPES = (
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
    LinkType("10003", "Relates", "relates to", "relates to"),
)
LINK_TYPE_JSON = tuple(link_type.json for link_type in LINK_TYPES)

TEAMS = tuple(
    _named(id_, name, {"self": f"{API}/customFieldOption/{id_}", "value": name, "id": id_, "disabled": False})
    for id_, name in (("10300", "Platform"), ("10301", "Payments"), ("10302", "Growth"), ("10303", "SRE"))
)
LABELS = (
    "backend",
    "frontend",
    "tech-debt",
    "customer",
    "security",
    "performance",
    "regression",
    "ux",
    "docs",
    "infra",
)
STORY_POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)


@dataclass(frozen=True)
class Project:
    index: int
    id: str
    key: str
    name: str
    lead: str
    description: str
    components: tuple[Named, ...]
    versions: tuple[Named, ...]
    version_beans: tuple[dict[str, object], ...] = field(compare=False)

    @property
    def json(self) -> str:
        """The project as an issue's `project` field shows it (ProjectJsonBean)."""
        return js(
            {
                "self": f"{API}/project/{self.id}",
                "id": self.id,
                "key": self.key,
                "name": self.name,
                "projectTypeKey": "software",
                "avatarUrls": _avatars("projectavatar", f"pid={self.id}", 10200 + self.index),
            }
        )

    def listed(self, expand: frozenset[str]) -> dict[str, object]:
        """The project as `GET /rest/api/2/project` lists it; `lead` and `description` on request."""
        bean: dict[str, object] = {
            "expand": "description,lead,url,projectKeys",
            "self": f"{API}/project/{self.id}",
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "avatarUrls": _avatars("projectavatar", f"pid={self.id}", 10200 + self.index),
            "projectTypeKey": "software",
            "archived": False,
        }
        if "description" in expand:
            bean["description"] = self.description
        if "lead" in expand:
            bean["lead"] = USERS[USER_BY_NAME[self.lead]].bean()
        return bean


def _project(index: int, key: str, name: str, lead: str, components: tuple[str, ...], start: date) -> Project:
    project_id = str(10000 + index)
    comps = tuple(
        _named(
            str(10100 + index * 10 + n),
            comp,
            {
                "self": f"{API}/component/{10100 + index * 10 + n}",
                "id": str(10100 + index * 10 + n),
                "name": comp,
            },
        )
        for n, comp in enumerate(components)
    )
    beans = []
    for n, version in enumerate(("1.0", "1.1", "1.2", "2.0")):
        version_id = str(10200 + index * 10 + n)
        release = start + timedelta(days=45 * (n + 1))
        beans.append(
            {
                "self": f"{API}/version/{version_id}",
                "id": version_id,
                "description": f"{name} {version}",
                "name": version,
                "archived": False,
                "released": n < 2,
                "releaseDate": release.isoformat(),
            }
        )
    versions = tuple(_named(str(b["id"]), str(b["name"]), b) for b in beans)
    description = f"{name}: the {key} team's work."
    return Project(index, project_id, key, name, lead, description, comps, versions, tuple(beans))


# key, name, lead, components
PROJECT_SPECS = (
    ("ABC", "Alpha Backend", "anna.schmidt", ("API", "Database", "Auth", "Billing")),
    ("OPS", "Operations", "ben.costa", ("Monitoring", "Deployments", "Networking", "Storage")),
    ("WEB", "Web Storefront", "chloe.dubois", ("Checkout", "Search", "Accounts", "Design")),
)


def make_projects(start: date) -> tuple[Project, ...]:
    """The projects; version release dates follow `start_date`, so some versions are released."""
    return tuple(_project(index, *spec, start) for index, spec in enumerate(PROJECT_SPECS))


PROJECT_WEIGHTS = Weights(0.5, 0.3, 0.2)
