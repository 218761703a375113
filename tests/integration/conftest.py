"""pytest fixtures: a live Signet behind each web server.

SIGNET_TEST_SERVERS="lighttpd apache" (the default) chooses the servers;
SIGNET_BUILDDIR (default: the repository) is where src/signet.fcgi and
src/signetctl were built; SIGNET_TEST_KEEP=1 keeps the temp directories.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SERVERS = os.environ.get("SIGNET_TEST_SERVERS", "lighttpd apache").split()


def pytest_configure(config):
    harness.become_subreaper()


@pytest.fixture(scope="session", params=SERVERS)
def signet_instance(request):
    inst = harness.Instance(request.param)
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


@pytest.fixture
def signet(signet_instance):
    """The running instance; restarted if an earlier test left it stopped."""
    if signet_instance.proc is None or signet_instance.proc.poll() is not None:
        signet_instance.stop()
        signet_instance.start()
    return signet_instance


@pytest.fixture
def admin(signet):
    """A fresh account with an admin API key: (account_id, apikey_id, token)."""
    return signet.account("admin")


@pytest.fixture
def token(admin):
    return admin[2]


@pytest.fixture
def endpoint(signet, token):
    """A fresh endpoint (with its first signing key) of a fresh account."""
    return signet.create_endpoint(token)
