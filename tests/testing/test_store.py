"""The in-memory store: tables, filters, sorting and cursor pagination."""

from __future__ import annotations

import pytest

from maintainx_resilient.testing._store import (
    FilterSpec,
    QueryError,
    Record,
    Table,
    compile_filters,
    paginate,
    query_digest,
)
from maintainx_resilient.testing._timeutil import format_ms


def make_record(record_id: int, **fields: object) -> Record:
    return {"id": record_id, "updatedAt": format_ms(1_700_000_000_000 + record_id * 1000), **fields}


def make_table(count: int) -> Table:
    return Table(make_record(i) for i in range(1, count + 1))


def walk(
    table: Table,
    limit: int,
    between: object = None,
    *,
    sort: str = "id",
    descending: bool = False,
    mode: str = "keyset",
) -> list[int]:
    """Serve every page; ``between(page_number, served_ids)`` mutates the table between pages."""
    served: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = paginate(
            [table],
            predicates=[],
            limit=limit,
            cursor=cursor,
            sort=sort,
            descending=descending,
            filters_fingerprint="f",
            mode=mode,  # type: ignore[arg-type]
        )
        assert len(page.records) <= limit
        served.extend(r["id"] for r in page.records)
        pages += 1
        if page.next_cursor is None:
            return served
        cursor = page.next_cursor
        if callable(between):
            between(pages, served)


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
def test_keyset_pages_serve_each_record_once_despite_inserts_and_deletes(limit: int) -> None:
    """With inserts and deletes between pages nothing is served twice and no survivor is skipped."""
    table = make_table(450)
    original = set(range(1, 451))
    deleted_unserved: set[int] = set()
    deleted_served: set[int] = set()
    inserted: list[int] = []

    def mutate(page: int, served: list[int]) -> None:
        if page > 25:
            return
        next_id = 1000 + page
        table.put(make_record(next_id))
        inserted.append(next_id)
        remaining = sorted(i for i in original - set(served) - deleted_unserved if i in table)
        if remaining:
            victim = remaining[len(remaining) // 2]
            table.delete(victim)
            deleted_unserved.add(victim)
        if served and served[0] in table:
            table.delete(served[0])
            deleted_served.add(served[0])

    served = walk(table, limit, mutate)
    assert len(served) == len(set(served)), "a record was served twice"
    assert served == sorted(served)
    survivors = original - deleted_unserved
    assert survivors <= set(served), "a record present throughout was skipped"
    assert not deleted_unserved & set(served)
    assert set(inserted) <= set(served), "ids grow, so later inserts are on later pages"


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_by_timestamp_are_exact(limit: int, descending: bool) -> None:
    """Sorted by updatedAt (either direction) every record is served once, in order."""
    table = make_table(300)
    served = walk(table, limit, sort="updatedAt", descending=descending)
    expected = list(range(1, 301))
    assert served == (expected[::-1] if descending else expected)


def test_pages_respect_inserts_before_and_after_the_cursor_in_sort_order() -> None:
    """A record inserted behind the cursor is not served; one ahead of it is, exactly once."""
    table = make_table(10)
    first = paginate([table], predicates=[], limit=5, cursor=None, filters_fingerprint="f")
    table.put(make_record(0))  # sorts before the cursor
    table.put(make_record(11))  # sorts after it
    second = paginate(
        [table], predicates=[], limit=50, cursor=first.next_cursor, filters_fingerprint="f"
    )
    assert [r["id"] for r in second.records] == [6, 7, 8, 9, 10, 11]
    assert second.next_cursor is None


def test_next_cursor_is_null_exactly_on_the_last_page() -> None:
    """A page that ends the list has no cursor, even when it is exactly full."""
    table = make_table(10)
    full = paginate([table], predicates=[], limit=10, cursor=None, filters_fingerprint="f")
    assert len(full.records) == 10 and full.next_cursor is None
    partial = paginate([table], predicates=[], limit=9, cursor=None, filters_fingerprint="f")
    assert partial.next_cursor is not None
    empty = paginate([Table()], predicates=[], limit=5, cursor=None, filters_fingerprint="f")
    assert empty.records == [] and empty.next_cursor is None


def test_nulls_sort_last_ascending_and_first_descending_ties_by_id() -> None:
    """Records without a value follow the others ascending and lead descending; ties go by id."""
    table = Table(
        [
            {"id": 1, "dueDate": "2024-01-02T00:00:00.000Z"},
            {"id": 2, "dueDate": None},
            {"id": 3, "dueDate": "2024-01-01T00:00:00.000Z"},
            {"id": 4, "dueDate": "2024-01-01T00:00:00.000Z"},
            {"id": 5},
        ]
    )
    assert walk(table, 2, sort="dueDate") == [3, 4, 1, 2, 5]
    assert walk(table, 2, sort="dueDate", descending=True) == [5, 2, 1, 4, 3]


def test_a_cursor_only_works_with_the_filters_and_sort_it_was_made_for() -> None:
    """Changing filters or sort between pages, or a made-up cursor, is a QueryError."""
    table = make_table(20)
    page = paginate([table], predicates=[], limit=5, cursor=None, filters_fingerprint="a")
    with pytest.raises(QueryError):
        paginate([table], predicates=[], limit=5, cursor=page.next_cursor, filters_fingerprint="b")
    with pytest.raises(QueryError):
        paginate(
            [table],
            predicates=[],
            limit=5,
            cursor=page.next_cursor,
            sort="updatedAt",
            filters_fingerprint="a",
        )
    for garbage in ("not-a-cursor", "e30", "W10", "eyJzIjoiaWQiLCJmIjoiYSIsImsiOlsiYSJdfQ"):
        with pytest.raises(QueryError):
            paginate([table], predicates=[], limit=5, cursor=garbage, filters_fingerprint="a")


def test_offset_pagination_can_skip_a_record_when_an_earlier_one_goes_away() -> None:
    """Offset mode reproduces the documented caveat: deleting a served record skips another."""
    table = make_table(10)
    first = paginate(
        [table], predicates=[], limit=5, cursor=None, filters_fingerprint="f", mode="offset"
    )
    table.delete(1)
    second = paginate(
        [table],
        predicates=[],
        limit=5,
        cursor=first.next_cursor,
        filters_fingerprint="f",
        mode="offset",
    )
    assert [r["id"] for r in second.records] == [7, 8, 9, 10]  # 6 was skipped


def test_filters_select_the_documented_way() -> None:
    """Every filter kind keeps exactly the records it should."""
    records: list[Record] = [
        {
            "id": 1,
            "status": "OPEN",
            "assetId": 10,
            "tags": [1, 2],
            "title": "Fix Pump",
            "labels": ["Damage"],
            "_labelIds": [7],
            "role": "ADMIN",
            "updatedAt": "2024-01-01T00:00:00.000Z",
        },
        {
            "id": 2,
            "status": "DONE",
            "assetId": 11,
            "tags": [3],
            "title": "Oil press",
            "labels": [],
            "_labelIds": [],
            "role": "REQUESTER",
            "updatedAt": "2024-02-01T00:00:00.000Z",
        },
        {
            "id": 3,
            "status": "OPEN",
            "assetId": None,
            "tags": [],
            "title": "pump check",
            "labels": ["Safety"],
            "_labelIds": [8],
            "role": "MEMBER",
            "updatedAt": "2024-03-01T00:00:00.000Z",
        },
    ]
    specs = (
        FilterSpec("statuses", "status", "in", "str", ("OPEN", "DONE")),
        FilterSpec("assets", "assetId"),
        FilterSpec("notAssets", "assetId", "not_in"),
        FilterSpec("tags", "tags", "any"),
        FilterSpec("notTags", "tags", "none"),
        FilterSpec("title", "title", "contains", "str"),
        FilterSpec("labels", "labels", "label_or_id", "str", id_field="_labelIds"),
        FilterSpec("assignable", "", "flag", "bool", key=lambda r: r["role"] != "REQUESTER"),
        FilterSpec("updatedAt[gte]", "updatedAt", "gte", "datetime"),
        FilterSpec("updatedAt[lte]", "updatedAt", "lte", "datetime"),
        FilterSpec("assetId", "assetId", "eq"),
    )

    def ids(*query: tuple[str, str]) -> list[int]:
        predicates, _ = compile_filters(specs, list(query))
        return [int(r["id"]) for r in records if all(p(r) for p in predicates)]

    assert ids() == [1, 2, 3]
    assert ids(("statuses", "OPEN")) == [1, 3]
    assert ids(("statuses", "OPEN"), ("statuses", "DONE")) == [1, 2, 3]
    assert ids(("assets", "10"), ("assets", "11")) == [1, 2]
    assert ids(("notAssets", "10")) == [2, 3]
    assert ids(("tags", "2"), ("tags", "3")) == [1, 2]
    assert ids(("notTags", "1")) == [2, 3]
    assert ids(("title", "PUMP")) == [1, 3]
    assert ids(("labels", "Damage")) == [1]
    assert ids(("labels", "8")) == [3]
    assert ids(("labels", "Damage"), ("labels", "8")) == [1, 3]
    assert ids(("assignable", "true")) == [1, 3]
    assert ids(("assignable", "false")) == [1, 2, 3]
    assert ids(("updatedAt[gte]", "2024-02-01T00:00:00Z")) == [2, 3]
    assert ids(("updatedAt[lte]", "2024-02-01")) == [1, 2]
    assert ids(
        ("updatedAt[gte]", "2024-01-15T00:00:00+00:00"), ("updatedAt[lte]", "2024-02-15")
    ) == [2]
    assert ids(("assetId", "11")) == [2]
    assert ids(("unknownParam", "x"), ("statuses", "DONE")) == [2]


@pytest.mark.parametrize(
    "query",
    [
        ("statuses", "COMPLETED"),
        ("assets", "abc"),
        ("updatedAt[gte]", "yesterday"),
        ("assignable", "maybe"),
    ],
)
def test_bad_filter_values_are_query_errors(query: tuple[str, str]) -> None:
    """An enum value the API does not know, a non-integer id or a bad date is a 400."""
    specs = (
        FilterSpec("statuses", "status", "in", "str", ("OPEN", "DONE")),
        FilterSpec("assets", "assetId"),
        FilterSpec("updatedAt[gte]", "updatedAt", "gte", "datetime"),
        FilterSpec("assignable", "", "flag", "bool"),
    )
    with pytest.raises(QueryError):
        compile_filters(specs, [query])


def test_fingerprint_ignores_the_order_of_filters() -> None:
    """The same filters in another order make the same query_digest; other filters do not."""
    spec = (FilterSpec("statuses", "status", "in", "str"), FilterSpec("assets", "assetId"))
    _, one = compile_filters(spec, [("statuses", "DONE"), ("assets", "1"), ("statuses", "OPEN")])
    _, two = compile_filters(spec, [("assets", "1"), ("statuses", "OPEN"), ("statuses", "DONE")])
    _, three = compile_filters(spec, [("assets", "2")])
    assert query_digest(one) == query_digest(two) != query_digest(three)


def test_encoded_views_are_cached_until_the_record_changes() -> None:
    """A record's JSON is rendered once per view and again only after a write."""
    table = make_table(3)
    calls: list[int] = []

    def render(record: Record) -> bytes:
        calls.append(record["id"])
        return str(record.get("title")).encode()

    record = table.get(2)
    assert record is not None
    assert table.encoded(record, "list", render) == b"None"
    assert table.encoded(record, "list", render) == b"None"
    table.put({**record, "title": "new"})
    updated = table.get(2)
    assert updated is not None
    assert table.encoded(updated, "list", render) == b"new"
    assert calls == [2, 2]


def test_tables_keep_id_order_and_membership() -> None:
    """Out-of-order inserts still iterate by id; delete of an unknown id is a no-op."""
    table = Table([make_record(5), make_record(2), make_record(9)])
    table.put(make_record(7))
    assert [r["id"] for r in table] == [2, 5, 7, 9]
    assert 7 in table and 3 not in table and len(table) == 4
    assert table.delete(3) is None
    assert table.delete(5) is not None
    assert [r["id"] for r in table] == [2, 7, 9]


def test_several_tables_page_as_one_list() -> None:
    """Multi-organization lists merge tables by id."""
    first = Table([make_record(1), make_record(4)])
    second = Table([make_record(2), make_record(3)])
    page = paginate([first, second], predicates=[], limit=3, cursor=None, filters_fingerprint="f")
    assert [r["id"] for r in page.records] == [1, 2, 3]
    rest = paginate(
        [first, second], predicates=[], limit=3, cursor=page.next_cursor, filters_fingerprint="f"
    )
    assert [r["id"] for r in rest.records] == [4]
