"""Wire shapes of the Integration API requests and responses (docs/talon.md §1.6, 1.7, 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.readmodels.items import Shape
from sessionstore.readmodels.v2 import CustomerSessionV2

ReturnContent = Literal[
    "customerSession",
    "customerProfile",
    "coupons",
    "triggeredCampaigns",
    "referral",
    "loyalty",
    "event",
    "previousReturns",
]
UpdateContent = Literal[
    ReturnContent, "awardedGiveaways", "ruleFailureReasons", "campaignEligibility"
]


class IntegrationRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    customer_session: SessionUpdate
    response_content: tuple[UpdateContent, ...] = ()


class NewReturn(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    returned_cart_items: tuple[ReturnedCartItem, ...]


class ReturnIntegrationRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    return_: NewReturn = msgspec.field(name="return")
    response_content: tuple[ReturnContent, ...] = ()


class ReturnEntity(Shape, frozen=True, kw_only=True):
    """Talon's `Return`: `eventId` is the return's number in this store, like its `id`."""

    id: int
    created: datetime
    application_id: int
    account_id: int
    returned_cart_items: tuple[ReturnedCartItem, ...]
    event_id: int
    session_id: int
    session_integration_id: str
    profile_id: int | None = None
    profile_integration_id: str | None = None


class IntegrationStateV2(Shape, frozen=True, kw_only=True):
    """`effects`, `createdCoupons` and `createdReferrals` are required by the SDKs."""

    customer_session: CustomerSessionV2 | None = None
    effects: tuple[Any, ...]
    created_coupons: tuple[Any, ...]
    created_referrals: tuple[Any, ...]
    return_: ReturnEntity | None = msgspec.field(default=None, name="return")
    previous_returns: tuple[ReturnEntity, ...] | None = None


class CustomerSessionResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    customer_session: CustomerSessionV2
    effects: tuple[Any, ...] = ()


class ReopenSessionResponse(msgspec.Struct, frozen=True, kw_only=True):
    effects: tuple[Any, ...] = ()


class ErrorSource(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    pointer: str | None = None
    parameter: str | None = None


class APIError(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    details: str
    source: ErrorSource


class ErrorResponse(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    errors: tuple[APIError, ...]
    StatusCode: int
