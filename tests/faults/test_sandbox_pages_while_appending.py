"""The MultiMail sandbox's newest-first lists (audit log, webhook deliveries) paged while they grow.

Found by the 10,000-draft soak (bench/soak.py, 2026-12-07): its end checks read MultiMail's audit log
while decisions were still being carried out, and an offset cursor shifted by the entries appended
meanwhile read some twice (59 decides and 52 tags counted "doubled" that were not). Fixed in 0478d75:
the cursor is the position, from the oldest, where the next page ends."""

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from reviewqueue.sandbox.multimail.app import _cursor
from reviewqueue.sandbox.multimail.common import SandboxError, newest_first_page


def read_all(items: list[dict], *, limit: int, appended_per_page: int) -> list[int]:
    """Page through `items` newest first, appending new items after every page as a busy system would."""
    seen, cursor = [], None
    while True:
        page = newest_first_page(items, limit, cursor, lambda item: item["n"])
        seen += page["items"]
        for _ in range(appended_per_page):
            items.append({"n": len(items)})
        if page["cursor"] is None:
            return seen
        cursor = int(page["cursor"])


def test_items_appended_while_paging_neither_repeat_nor_hide_the_ones_already_there():
    # The cursor used to count from the newest: each append moved the next page back over items
    # already read (a soak's check read 59 decisions twice from the audit log while decisions went on).
    items = [{"n": n} for n in range(250)]
    seen = read_all(items, limit=100, appended_per_page=7)
    assert seen == list(range(249, -1, -1))


def test_pages_run_newest_first_and_the_cursor_is_where_the_next_page_ends():
    items = [{"n": n} for n in range(5)]
    first = newest_first_page(items, 2, None, lambda item: item["n"])
    assert first == {"items": [4, 3], "cursor": "3"}
    assert newest_first_page(items, 2, 3, lambda item: item["n"]) == {"items": [2, 1], "cursor": "1"}
    assert newest_first_page(items, 2, 1, lambda item: item["n"]) == {"items": [0], "cursor": None}
    assert newest_first_page([], 2, None, lambda item: item["n"]) == {"items": [], "cursor": None}


@pytest.mark.parametrize("raw", ["-1", "x", "1.5"])
def test_a_cursor_that_is_not_a_position_is_a_400(raw):
    request = Request(EnvironBuilder(query_string={"cursor": raw}).get_environ())
    with pytest.raises(SandboxError) as refused:
        _cursor(request)
    assert refused.value.status == 400
