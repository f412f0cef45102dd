"""Hypothesis profiles: ``fast`` for local runs, ``ci`` (thorough) when CI=true; one summary line
for the database tests skipped because no server URL is set (``-rfE`` lists nothing skipped)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# encryption at rest is on by default and needs a key: one generated ring for the whole session
# (and the subprocesses it starts), unless the caller configured one
if not (os.environ.get("QIANDAO_KEYS") or os.environ.get("QIANDAO_KEY_FILE")):
    import base64
    import secrets

    os.environ["QIANDAO_KEYS"] = "test-1=" + base64.b64encode(secrets.token_bytes(16)).decode()

# before anything imports them: readable assertion failures from the shipped suites
pytest.register_assert_rewrite("qiandao.testing")

# files that exist only to be type-checked (mypy reads them; nothing runs them)
collect_ignore = ["typing"]

settings.register_profile("fast", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "fast")
)

# the variables naming the database servers of tests/sql (see docs/storage.md)
DATABASE_URL_VARIABLES = ("QIANDAO_TEST_POSTGRES_URL", "QIANDAO_TEST_MYSQL_URL")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist every worker tests against databases of its own (the given database's
    name with ``_gw0``, ``_gw1``, ... appended, made afresh), so workers never share tables."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    for variable in DATABASE_URL_VARIABLES:
        url = os.environ.get(variable, "").strip()
        if url:
            os.environ[variable] = _fresh_database(url, str(workerinput["workerid"]))


def _fresh_database(url: str, worker: str) -> str:
    """Drop and create ``<database>_<worker>`` on the server of ``url``; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    given = make_url(url)
    name = f"{given.database}_{worker}"
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if given.get_backend_name() == "postgresql":
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                connection.execute(
                    text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                )
    finally:
        engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line instead of hundreds of SKIPPED ones when the database servers were not given."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if any(f"{name} is not set" in str(report.longrepr) for name in DATABASE_URL_VARIABLES)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} 项数据库测试已跳过 / database tests skipped: "
            f"设置 {' 和 '.join(DATABASE_URL_VARIABLES)} 以在 PostgreSQL / MariaDB 上运行 "
            "(set them to run on PostgreSQL / MariaDB; see docs/storage.md)"
        )
