"""Request ids: drawn in bulk from ``os.urandom``, each one fresh, in every thread."""

from __future__ import annotations

import re
import threading

from kdeps_expr.server.request_ids import IDS_PER_DRAW, new_request_id


def test_ids_are_fresh_across_draws() -> None:
    ids = [new_request_id() for _ in range(2 * IDS_PER_DRAW + 3)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


def test_threads_draw_their_own_ids() -> None:
    drawn: list[list[str]] = [[], []]

    def draw(into: list[str]) -> None:
        into.extend(new_request_id() for _ in range(IDS_PER_DRAW))

    threads = [threading.Thread(target=draw, args=(ids,)) for ids in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(drawn[0]) & set(drawn[1])
    assert len(set(drawn[0])) == len(set(drawn[1])) == IDS_PER_DRAW
