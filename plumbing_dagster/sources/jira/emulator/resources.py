"""The REST resources besides search: the caller (`myself`), the server, one issue, fields, projects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from plumbing_dagster.kit.emulator import BadRequest, EmulatorRequest, EmulatorResponse
from plumbing_dagster.sources.jira.emulator.catalog import BASE, ISSUE_TYPES, User, js
from plumbing_dagster.sources.jira.emulator.fields import field_beans, select_fields
from plumbing_dagster.sources.jira.emulator.search import expand_arg
from plumbing_dagster.sources.jira.emulator.times import jira_datetime

if TYPE_CHECKING:
    from plumbing_dagster.sources.jira.emulator.app import JiraEmulator

VERSION = (10, 3, 24)
BUILD_NUMBER = 10030024


def json_response(text: str) -> EmulatorResponse:
    return EmulatorResponse(200, text.encode("utf-8"), {"Content-Type": "application/json;charset=UTF-8"})


def user_bean(user: User) -> dict[str, Any]:
    """`/myself`: the user with what only the user sees of themself."""
    return {
        **user.bean(),
        "deleted": False,
        "locale": "en_US",
        "groups": {"size": 2, "items": []},
        "applicationRoles": {"size": 1, "items": []},
        "expand": "groups,applicationRoles",
    }


class Resources:
    """Handlers for the app's routes other than search."""

    def __init__(self, app: JiraEmulator):
        self.app = app

    def myself(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response(js(user_bean(self.app.user)))

    def server_info(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.app.world.now_ms()
        info = {
            "baseUrl": BASE,
            "version": ".".join(map(str, VERSION)),
            "versionNumbers": list(VERSION),
            "deploymentType": "Server",  # Data Center reports "Server" here too
            "buildNumber": BUILD_NUMBER,
            "buildDate": "2025-10-14T00:00:00.000+0200",
            "databaseBuildNumber": BUILD_NUMBER,
            "serverTime": jira_datetime(now),
            "scmInfo": "emulator",
            "serverTitle": "Plumbing Jira (emulator)",
        }
        return json_response(js(info))

    def issue(self, request: EmulatorRequest, id_or_key: str) -> EmulatorResponse:
        """One issue, `*all` fields by default; an old key of a moved issue gives it, current key."""
        world = self.app.world
        now = world.now_ms()
        plan = world.find(id_or_key, now)
        if plan is None:
            raise BadRequest("Issue Does Not Exist", status=404)
        expand = expand_arg(request.query.get("expand"))
        text = world.renderer.issue(
            plan,
            now,
            select_fields(request.query.get("fields"), "*all"),
            changelog=None if "changelog" in expand else 0,  # always the whole changelog here
            names="names" in expand,
            schema="schema" in expand,
        )
        return json_response(text)

    def fields(self, request: EmulatorRequest) -> EmulatorResponse:
        return json_response(js(field_beans()))

    def projects(self, request: EmulatorRequest) -> EmulatorResponse:
        """Every project, unpaged (Data Center has no `/project/search`)."""
        expand = expand_arg(request.query.get("expand"))
        return json_response(js([p.listed(expand) for p in self.app.world.project_list]))

    def project(self, request: EmulatorRequest, id_or_key: str) -> EmulatorResponse:
        for project in self.app.world.project_list:
            if id_or_key in (project.id, project.key) or id_or_key.upper() == project.key:
                bean = {
                    **project.listed(frozenset({"description", "lead"})),
                    "expand": "description,lead,issueTypes,url,projectKeys,permissions",
                    "components": [json.loads(c.json) for c in project.components],
                    "issueTypes": [json.loads(t.json) for t in ISSUE_TYPES],
                    "versions": list(project.version_beans),
                    "assigneeType": "UNASSIGNED",
                    "roles": {},
                    "projectKeys": [project.key],
                }
                return json_response(js(bean))
        what = "id" if id_or_key.isdigit() else "key"
        raise BadRequest(f"No project could be found with {what} '{id_or_key}'.", status=404)
