""".ci/run, the script CI runs: it refuses to pass when CI's services are missing or when pytest collected no
test at all, whatever value CI has."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = {"CI_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/test", "CI_REDIS_URL": "redis://127.0.0.1:9/0"}


def run_ci(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("CI", "GRANTS_REQUIRE_SERVICES", "PYTEST_STATUS_FILE", "HYPOTHESIS_PROFILE",
                          "PYTEST_ADDOPTS", "PYTEST_ARGS", "DATABASE_URL", "REDIS_URL")}
    clean.update(env)
    return subprocess.run(["bash", ".ci/run"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_any_value_of_ci_makes_missing_services_fail_the_run(ci):
    result = run_ci(CI=ci, **NOWHERE)
    assert result.returncode == 1, result.stderr
    assert "CI ERROR: these services must be running" in result.stderr
    assert "127.0.0.1:9" in result.stderr


def test_a_run_that_collects_no_test_fails():
    # Outside CI the missing services are only noted; the run goes on to pytest, which finds nothing to run.
    result = run_ci(PYTEST_ARGS="-k no_test_has_this_name_anywhere -p no:randomly", **NOWHERE)
    assert "not reachable; running on the embedded defaults only" in result.stderr
    assert "no tests ran" in result.stdout or "deselected" in result.stdout, result.stdout[-2000:]
    assert result.returncode == 1, (result.stdout[-2000:], result.stderr[-2000:])
    assert "CI ERROR: pytest collected no tests" in result.stderr
