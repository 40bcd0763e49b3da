"""Section 8, decision 15: how an update merges into the stored session."""

from __future__ import annotations

import pytest

from tests.unit.story import given, item, request, updated, v2

FULL = {
    "profileId": "",
    "storeIntegrationId": "store-1",
    "couponCodes": ["A", "B"],
    "referralCode": "FRIEND",
    "loyaltyCards": ["card-1"],
    "cartItems": [item("shoe", 1, 50), item("shirt", 2, 20)],
    "additionalCosts": {"shipping": {"price": 5}},
    "identifiers": ["ip-hash"],
    "attributes": {"channel": "web"},
    "experimentVariantAllocations": [{"experimentID": 1, "variantID": 2}],
}


def test_fields_left_out_of_an_update_keep_their_values():
    before = v2(given(request(**FULL)))
    after = v2(given(request(**FULL), request(attributes={"note": "gift"})))
    for field in FULL:
        if field != "attributes":
            assert after[field] == before[field], field
    assert after["attributes"] == {"channel": "web", "note": "gift"}


@pytest.mark.parametrize(
    ("field", "replacement"),
    [
        ("couponCodes", ["C"]),
        ("loyaltyCards", ["card-2"]),
        ("identifiers", ["device", "ip"]),
        ("additionalCosts", {"wrapping": {"price": 1}}),
        ("cartItems", [item("hat", 1, 15)]),
    ],
)
def test_a_list_or_map_that_is_sent_replaces_the_stored_one_wholesale(field, replacement):
    after = v2(given(request(**FULL), request(**{field: replacement})))
    sent = v2(given(request(**{field: replacement})))
    assert after[field] == sent[field]


@pytest.mark.parametrize(
    ("field", "empty"),
    [
        ("couponCodes", []),
        ("loyaltyCards", []),
        ("identifiers", []),
        ("additionalCosts", {}),
        ("cartItems", []),
    ],
)
def test_an_empty_list_or_map_clears_the_field(field, empty):
    after = v2(given(request(**FULL), request(**{field: empty})))
    assert after[field] == empty


def test_an_empty_referral_code_clears_it_and_a_missing_one_keeps_it():
    kept = given(request(**FULL), request(couponCodes=["Z"]))
    assert v2(kept)["referralCode"] == "FRIEND"
    assert v2(given(request(**FULL), request(referralCode="")))["referralCode"] == ""


def test_session_attributes_merge_by_key_and_nested_values_are_replaced():
    session = given(
        request(attributes={"channel": "web", "meta": {"a": 1, "b": 2}}),
        request(attributes={"meta": {"c": 3}, "device": "phone"}),
    )
    assert v2(session)["attributes"] == {
        "channel": "web",
        "meta": {"c": 3},
        "device": "phone",
    }


def test_cart_item_attributes_are_replaced_together_with_their_line():
    session = given(
        request(cartItems=[item("shirt", 1, 20, attributes={"color": "red", "size": "M"})]),
        request(cartItems=[item("shirt", 1, 20, attributes={"color": "blue"})]),
    )
    assert v2(session)["cartItems"][0]["attributes"] == {"color": "blue"}


def test_positions_are_renumbered_from_zero_whatever_the_client_sent():
    sent = [item("a", position=7), item("b", position=7), item("c", position=0)]
    session = given(request(cartItems=sent))
    assert [line["position"] for line in v2(session)["cartItems"]] == [0, 1, 2]
    assert [line["sku"] for line in v2(session)["cartItems"]] == ["a", "b", "c"]


def test_positions_follow_the_replacement_cart():
    session = given(
        request(cartItems=[item("a"), item("b"), item("c")]),
        request(cartItems=[item("c"), item("a")]),
    )
    lines = v2(session)["cartItems"]
    assert [(line["position"], line["sku"]) for line in lines] == [(0, "c"), (1, "a")]


def test_a_store_integration_id_left_out_is_kept_and_a_new_one_replaces_it():
    session = given(request(**FULL), request(referralCode="X"))
    assert v2(session)["storeIntegrationId"] == "store-1"
    moved = given(request(**FULL), request(storeIntegrationId="store-2"))
    assert v2(moved)["storeIntegrationId"] == "store-2"


def test_required_fields_are_always_emitted_even_when_empty():
    shape = v2(given())
    for field in ("profileId", "couponCodes", "referralCode", "loyaltyCards", "cartItems"):
        assert field in shape
    assert (shape["attributes"], shape["additionalCosts"], shape["identifiers"]) == ({}, {}, [])


def test_unknown_and_read_only_fields_of_a_request_are_ignored():
    cart = [item("shoe", 1, 50), item("shirt", 2, 20)]
    session = given(request(cartItems=cart))
    noisy = [
        {**line, "position": 9, "returnedQuantity": 1, "catalogItemID": 3, "unknown": True}
        for line in cart
    ]
    retry = request(cartItems=noisy, evaluableCampaignIds=[1], closurePrediction=0.5)
    assert updated(session, retry).events == []
    assert "returnedQuantity" not in v2(session)["cartItems"][0]
