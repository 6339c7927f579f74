"""Routes and users as use cases, through SQLite in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.domain.routes import Route
from postroom.errors import NotFoundError, UserError
from postroom.records.config import Role
from postroom.services.routes import RouteService
from postroom.services.users import UserService
from unit.services.config_fakes import Clock, memory_storage


def test_routes_are_checked_kept_listed_and_removed(tmp_path: Path) -> None:
    routes = RouteService(memory_storage(str(tmp_path)), Clock())
    added = routes.add(" Support@Example.COM ", " Sales ", "Orders", "q1", acknowledge=True)
    assert added == Route("support@example.com", "Sales", "Orders", "q1", True)
    routes.add("billing@example.com", "A", "B", "q2")
    assert [r.address for r in routes.list()] == ["billing@example.com", "support@example.com"]
    with pytest.raises(UserError, match=r"a route for support@example\.com exists already"):
        routes.add("support@example.com", "A", "B", "q")
    routes.remove("SUPPORT@example.com")
    assert routes.list() == [Route("billing@example.com", "A", "B", "q2", False)]
    with pytest.raises(NotFoundError, match=r"no route for support@example\.com"):
        routes.remove("support@example.com")


@pytest.mark.parametrize(
    ("address", "context", "message"),
    [
        (
            "not an address",
            "A",
            "not an email address: 'not an address': contains a control character or white space",
        ),
        (
            "a@b@example.com",
            "A",
            "not an email address: 'a@b@example.com': more than one @ (local@domain has "
            "exactly one; a quoted local part is not written)",
        ),
        (
            "help@-example-.test",
            "A",
            "not an email address: 'help@-example-.test': domain label '-example-' starts or "
            "ends with a hyphen",
        ),
        (
            "Support <help@example.test>",
            "A",
            "give the bare address without a display name: 'help@example.test' "
            "(not 'Support <help@example.test>')",
        ),
        (
            "help@bücher.test",
            "A",
            "a route's domain must be ASCII: give help@xn--bcher-kva.test (mail to the "
            "non-ASCII form bücher.test is not matched to a route yet)",
        ),
        ("a@example.com", "  ", "--context must not be empty"),
    ],
)
def test_what_a_route_refuses(tmp_path: Path, address: str, context: str, message: str) -> None:
    routes = RouteService(memory_storage(str(tmp_path)), Clock())
    with pytest.raises(UserError) as refused:
        routes.add(address, context, "B", "q")
    assert str(refused.value) == message
    assert routes.list() == []


def test_users(tmp_path: Path) -> None:
    users = UserService(memory_storage(str(tmp_path)), Clock())
    added = users.add(" zoe ", "Zoe@Example.com", Role.ADMIN)
    assert (added.name, added.email, added.role) == ("zoe", "zoe@example.com", "admin")
    users.add("adam")
    assert [(u.name, u.email, u.role) for u in users.list()] == [
        ("adam", None, "agent"),
        ("zoe", "zoe@example.com", "admin"),
    ]
    with pytest.raises(UserError, match="user adam exists already"):
        users.add("adam")
    with pytest.raises(UserError, match="not an email address"):
        users.add("eve", "eve")
    with pytest.raises(UserError, match="--name must not be empty"):
        users.add(" ")
