"""Build the Integration API's response bodies from a command's outcome."""

from __future__ import annotations

from sessionstore.domain.session import Return, Session
from sessionstore.http.schemas import IntegrationStateV2, ReturnEntity
from sessionstore.readmodels.v2 import render_v2


def return_entity(session: Session, record: Return, account_id: int) -> ReturnEntity:
    return ReturnEntity(
        id=record.return_id,
        created=record.created,
        application_id=session.application_id,
        account_id=account_id,
        returned_cart_items=record.requested,
        event_id=record.return_id,
        session_id=session.session_id,
        session_integration_id=session.integration_id,
        profile_id=session.profile_number,
        profile_integration_id=session.profile_id or None,
    )


def integration_state(
    session: Session,
    content: tuple[str, ...],
    account_id: int,
    new_return: Return | None = None,
) -> IntegrationStateV2:
    """`customerSession` and `previousReturns` are sent only when `responseContent` asks."""
    previous = None
    if "previousReturns" in content:
        earlier = [r for r in session.returns if r != new_return]
        previous = tuple(return_entity(session, r, account_id) for r in earlier)
    return IntegrationStateV2(
        customer_session=render_v2(session) if "customerSession" in content else None,
        effects=(),
        created_coupons=(),
        created_referrals=(),
        return_=return_entity(session, new_return, account_id) if new_return else None,
        previous_returns=previous,
    )
