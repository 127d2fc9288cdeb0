"""Jira Data Center (seed 002): issues with their changelogs, searched by JQL over `/rest/api/2`.

Only the emulator exists so far (`emulator/`: the Data Center 10.3 REST API over a deterministic
world, for the sandbox and the tests). There is deliberately no `VENDOR` here yet: the registry
treats a package that exports one as a live vendor, and the client and streams come later.
"""
