"""How tests/data/stores/v0.1.db was made: run with version 0.1.0 (commit 6142ac0) installed.

    git worktree add /tmp/v01 6142ac0
    PYTHONPATH=/tmp/v01/src python tests/data/stores/make_v0_1_store.py tests/data/stores/v0.1.db

It holds the events of three sessions, two profiles and a return, with the store-wide numbers
that version kept as `sequence.allocated` events; expected.json holds what that version
answered for each session (GET's CustomerSessionV2), for the upgrade test to compare.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from sessionstore import codec
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.readmodels.v2 import render_v2


def main(path: Path) -> None:
    path.unlink(missing_ok=True)
    store = build_store(Settings(database_url=f"sqlite:///{path}"))
    cart = (CartItem(sku="SHOE", quantity=2, price=Decimal("89.90")),)
    store.update_session(1, "old-1", SessionUpdate(profile_id="alice", cart_items=cart))
    store.update_session(1, "old-1", SessionUpdate(state="closed"))
    store.return_items(1, "old-1", (ReturnedCartItem(position=0, quantity=1),))
    store.update_session(1, "old-2", SessionUpdate(profile_id="bob", attributes={"a": 1}))
    store.update_session(2, "old-3", SessionUpdate(cart_items=cart))
    expected = {
        f"{app}/{name}": json.loads(codec.encode_document(render_v2(store.get_session(app, name))))
        for app, name in ((1, "old-1"), (1, "old-2"), (2, "old-3"))
    }
    store.close()
    path.with_name("expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
