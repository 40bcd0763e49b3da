"""Section 8, decisions 9 and 10: per-unit item costs, one total formula, exact Decimals."""

from __future__ import annotations

from decimal import Decimal

from sessionstore import codec
from sessionstore.readmodels.v2 import render_v2
from tests.unit.story import given, item, management, request, v1, v2

# -- decision 9: per-item additional costs ----------------------------------------------------


def test_per_item_costs_are_charged_per_unit_and_kept_out_of_additional_cost_total():
    gifts = item("mug", 3, 8, additionalCosts={"wrap": {"price": 2}, "insure": {"price": 0.5}})
    session = given(request(cartItems=[gifts], additionalCosts={"shipping": {"price": 4.9}}))
    shape = v2(session)
    per_unit = Decimal("2") + Decimal("0.5")
    assert shape["cartItemTotal"] == Decimal("8") * 3
    assert shape["cartItemAdditionalCostTotal"] == per_unit * 3
    assert shape["additionalCostTotal"] == Decimal("4.9")
    assert shape["total"] == Decimal("8") * 3 + per_unit * 3 + Decimal("4.9")


def test_v2_always_shows_cart_item_additional_cost_total_even_without_item_costs():
    shape = v2(given(request(cartItems=[item("mug", 2, 8)])))
    assert shape["cartItemAdditionalCostTotal"] == 0
    assert shape["additionalCostTotal"] == 0
    assert shape["total"] == shape["cartItemTotal"] == 16


def test_an_empty_session_has_zero_totals():
    shape = v2(given())
    assert (shape["total"], shape["cartItemTotal"], shape["cartItems"]) == (0, 0, [])


def test_v1_and_management_totals_use_the_v2_formula():
    lines = [
        item("mug", 3, 8, additionalCosts={"wrap": {"price": 2}}),
        item("tea", 1, 4.25),
    ]
    session = given(request(cartItems=lines, additionalCosts={"shipping": {"price": 5}}))
    expected = Decimal(3 * 8 + 3 * 2) + Decimal("4.25") + 5
    assert v2(session)["total"] == expected
    assert v1(session)["total"] == expected
    assert management(session)["total"] == expected


def test_a_line_without_price_adds_nothing_to_the_cart_item_total():
    session = given(request(cartItems=[{"sku": "catalog-only", "quantity": 2}, item("tea", 1, 3)]))
    assert v2(session)["cartItemTotal"] == 3


def test_a_totals_change_follows_a_replaced_cart():
    session = given(
        request(cartItems=[item("mug", 3, 8)]), request(cartItems=[item("tea", 2, 1.5)])
    )
    assert v2(session)["total"] == Decimal("1.5") * 2


# -- decision 10: Decimal, exact, JSON numbers ------------------------------------------------


def test_point_one_plus_point_two_is_exactly_point_three():
    session = given(request(cartItems=[item("a", 1, 0.1), item("b", 1, 0.2)]))
    assert session.totals.cart_items == Decimal("0.3")
    assert b'"cartItemTotal":0.3,' in codec.encode_document(render_v2(session))


def test_totals_are_not_rounded():
    session = given(
        request(
            cartItems=[item("screw", 3, 0.005, additionalCosts={"fee": {"price": 0.0001}})],
            additionalCosts={"shipping": {"price": 0.333}},
        )
    )
    shape = v2(session)
    assert shape["cartItemTotal"] == Decimal("0.015")
    assert shape["cartItemAdditionalCostTotal"] == Decimal("0.0003")
    assert shape["total"] == Decimal("0.3483")


def test_stored_prices_are_rendered_as_sent():
    session = given(request(cartItems=[item("a", 1, 19.999)]))
    assert v2(session)["cartItems"][0]["price"] == Decimal("19.999")
    assert b'"price":19.999' in codec.encode_document(render_v2(session))


def test_money_is_a_json_number_never_a_string():
    session = given(request(cartItems=[item("a", 1, 0.1)], discounts={"10% off": 0.01}))
    for shape in (v2(session), v1(session), management(session)):
        assert isinstance(shape["total"], Decimal)
    assert isinstance(v1(session)["discounts"]["10% off"], Decimal)
    assert isinstance(management(session)["totalDiscounts"], Decimal)


def test_a_large_cart_sums_exactly():
    lines = [item(f"sku-{i}", 7, 0.01) for i in range(1000)]
    session = given(request(cartItems=lines))
    assert session.totals.total == Decimal("70.00")
    assert v2(session)["total"] == 70
