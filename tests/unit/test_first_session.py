"""Section 8, decision 12: firstSession is computed at creation, and again once."""

from __future__ import annotations

import pytest

from sessionstore.domain.commands import Profile
from tests.unit.story import created, given, item, management, request, updated, v1, v2

NEW = Profile(number=1, had_sessions=False)
KNOWN = Profile(number=2, had_sessions=True)


def first_session(session):
    """firstSession as V2 and V1 show it; both must agree."""
    shown = v2(session)["firstSession"]
    assert v1(session)["firstSession"] is shown
    return shown


def test_an_anonymous_session_is_a_first_session():
    assert first_session(created(request(cartItems=[item("a")])).session) is True


def test_an_explicitly_anonymous_session_is_a_first_session():
    assert first_session(created(request(profileId="")).session) is True


@pytest.mark.parametrize(("profile", "expected"), [(NEW, True), (KNOWN, False)])
def test_at_creation_a_profile_without_earlier_sessions_makes_it_a_first_session(profile, expected):
    session = created(request(profileId="alice"), profile=profile).session
    assert first_session(session) is expected


@pytest.mark.parametrize(("profile", "expected"), [(NEW, True), (KNOWN, False)])
def test_an_open_anonymous_session_that_gets_a_profile_computes_it_again(profile, expected):
    session = given(request(cartItems=[item("a")]))
    step = updated(session, request(profileId="alice"), profile=profile)
    assert first_session(step.session) is expected
    assert step.events[0].first_session is expected


def test_after_the_recomputation_first_session_no_longer_changes():
    session = updated(given(), request(profileId="alice"), profile=KNOWN).session
    for profile_id, profile in (("bob", NEW), ("", None), ("carol", NEW)):
        session = updated(session, request(profileId=profile_id), profile=profile).session
        assert first_session(session) is False


def test_a_session_created_with_a_profile_never_computes_it_again():
    session = created(request(profileId="alice"), profile=KNOWN).session
    after = updated(session, request(profileId="bob"), profile=NEW)
    assert first_session(after.session) is False
    assert after.events[0].first_session is None


def test_an_update_that_does_not_name_a_profile_leaves_first_session_open_for_later():
    session = given(request(cartItems=[item("a")]), request(referralCode="R"))
    later = updated(session, request(profileId="alice"), profile=KNOWN).session
    assert first_session(later) is False


def test_a_new_profile_shows_its_numeric_id_in_the_management_view():
    session = updated(given(), request(profileId="alice"), profile=NEW).session
    shape = management(session)
    assert (shape["profileId"], shape["profileintegrationid"]) == (NEW.number, "alice")
    assert "firstSession" not in shape


def test_an_anonymous_session_has_no_profile_in_the_management_view():
    shape = management(given())
    assert "profileId" not in shape
    assert "profileintegrationid" not in shape
    assert v2(given())["profileId"] == ""
