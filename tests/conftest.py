"""Shared test configuration: the real loopback servers and databases the tests run against."""

pytest_plugins = [
    "tests.disk_log",
    "tests.servers.database",
    "tests.servers.dovecot",
    "tests.servers.smtp",
]
