"""Deterministic seeded data for one organization, shaped exactly like the API's records.

Every record starts from ``_writes.blank`` (the same complete field set a create produces) and
gets plausible values from ``random.Random(f"{seed}:{org_id}")``: the same seed always gives the
same data. Timestamps are ISO-8601 UTC with milliseconds and lie before the simulator's epoch;
money is in cents, durations in seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._catalog import catalog
from ._store import Record
from ._timeutil import format_ms
from ._writes import WriteContext, contact_info, purchase_order_item

__all__ = ["SeedData", "SeedSizes", "generate"]

_DAY_MS = 86_400_000

_FIRST = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lea",
    "Marco",
    "Nina",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
)
_LAST = (
    "Martin",
    "Tremblay",
    "Nguyen",
    "Smith",
    "Garcia",
    "Roy",
    "Kim",
    "Okafor",
    "Silva",
    "Dubois",
    "Patel",
    "Cohen",
    "Lopez",
    "Wong",
)
_MACHINES = (
    "Compressor",
    "Conveyor",
    "Boiler",
    "Chiller",
    "Forklift",
    "Pump",
    "Press",
    "Generator",
    "Mixer",
    "Packaging Line",
    "HVAC Unit",
    "Lathe",
    "Robot Arm",
)
_PLACES = ("Plant", "Warehouse", "Building", "Line", "Dock", "Workshop", "Yard", "Floor")
_TASKS = (
    "Inspect",
    "Repair",
    "Lubricate",
    "Replace filter on",
    "Calibrate",
    "Clean",
    "Check belts of",
    "Test alarms of",
    "Service",
    "Investigate noise in",
)
_PARTS = (
    "Bearing",
    "V-Belt",
    "Air Filter",
    "Gasket",
    "Fuse",
    "Motor",
    "Valve",
    "Seal Kit",
    "Sensor",
    "Hose",
    "Relay",
    "Coupling",
)
_CATEGORIES = (
    "Damage",
    "Electrical",
    "Inspection",
    "Mechanical",
    "Preventive",
    "Project",
    "Refrigeration",
    "Safety",
    "Standard Operating Procedure",
    "Cleaning",
)
_VENDORS = (
    "Acme Industrial",
    "Northwind Supply",
    "Globex Parts",
    "Initech Services",
    "Umbrella Maintenance",
    "Stark Tools",
    "Wayne Hydraulics",
    "Hooli Electric",
)
_MANUFACTURERS = ("Atlas Copco", "Siemens", "Caterpillar", "Grundfos", "ABB", "Bosch")
_CREWS = ("Electrical", "Mechanical", "Facilities", "Night Shift", "Safety")
_UNITS = ("hours", "miles", "psi", "°C", "kWh", "cycles")
#: The spec gives a purchase order's status as free text; these are the values it lists.
_PURCHASE_ORDER_STATUSES = (
    "APPROVED",
    "CANCELED",
    "COMPLETED",
    "DECLINED",
    "PARTIALLY_FULFILLED",
    "PENDING",
    "REQUESTED",
)
_WO_STATUS_WEIGHTS = (
    ("OPEN", 30),
    ("IN_PROGRESS", 15),
    ("ON_HOLD", 10),
    ("DONE", 35),
    ("CANCELED", 7),
    ("SKIPPED", 3),
)


@dataclass(frozen=True)
class SeedSizes:
    """How many records of each resource an organization starts with."""

    work_orders: int = 3000
    assets: int = 200
    locations: int = 30
    parts: int = 150
    users: int = 25
    teams: int = 5
    vendors: int = 20
    categories: int = 8
    meters: int = 40
    purchase_orders: int = 60
    work_requests: int = 120

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass
class SeedData:
    """The generated records per table, and where the per-organization sequences stand."""

    tables: dict[str, list[Record]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int | str, org_id: int, epoch_ms: int, new_id: Callable[[str], int]):
        self.rng = random.Random(f"{seed}:{org_id}")
        self.org_id = org_id
        self.epoch_ms = epoch_ms
        self.new_id = new_id
        self.sequences: dict[str, int] = {}
        self.data = SeedData()

    def sequence(self, name: str) -> int:
        self.sequences[name] = self.sequences.get(name, 0) + 1
        return self.sequences[name]

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def ctx(self, now: str, user_id: int) -> WriteContext:
        return WriteContext(
            self.org_id,
            user_id,
            now,
            lambda _n, _i: None,
            self.new_id,
            self.sequence,
            self.hex,
            lambda _labels: [],
        )

    @staticmethod
    def blank(name: str, record_id: int, ctx: WriteContext) -> Record:
        return catalog().collections[name].blank(record_id, ctx)

    def created_times(self, count: int) -> list[int]:
        """Sorted creation times (ms) over the year before the epoch."""
        start = self.epoch_ms - 365 * _DAY_MS
        end = self.epoch_ms - _DAY_MS // 24
        return sorted(self.rng.randint(start, end) for _ in range(count))

    def updated_after(self, created: int) -> int:
        later = created + int(self.rng.random() ** 2 * 30 * _DAY_MS)
        return min(later, self.epoch_ms - 1)

    def make(
        self, name: str, count: int, user_ids: Sequence[int], fill: Callable[[Record, int], None]
    ) -> list[Record]:
        records = []
        for index, created in enumerate(self.created_times(count)):
            user = self.rng.choice(user_ids) if user_ids else 1
            record = self.blank(name, self.new_id(name), self.ctx(format_ms(created), user))
            record["updatedAt"] = format_ms(self.updated_after(created))
            fill(record, index)
            records.append(record)
        self.data.tables[name] = records
        return records

    def maybe(self, probability: float, value: Any) -> Any:
        return value if self.rng.random() < probability else None

    def pick_ids(self, records: Sequence[Record], k_max: int) -> list[int]:
        if not records:
            return []
        k = self.rng.randint(0, min(k_max, len(records)))
        return sorted(r["id"] for r in self.rng.sample(list(records), k))


def generate(
    seed: int | str,
    org_id: int,
    sizes: SeedSizes,
    *,
    epoch_ms: int,
    new_id: Callable[[str], int],
    first_user_id: int | None = None,
) -> SeedData:
    """Seeded records for one organization. ``new_id(table)`` allocates global ids."""
    g = _Gen(seed, org_id, epoch_ms, new_id)
    rng = g.rng
    users = _users(g, sizes.users)
    user_ids = [u["id"] for u in users] or [first_user_id or 1]
    locations = g.make(
        "locations",
        sizes.locations,
        user_ids,
        lambda r, i: r.update(
            name=f"{rng.choice(_PLACES)} {i + 1}",
            description=g.maybe(0.5, "Main site area"),
            address=g.maybe(0.6, f"{rng.randint(1, 9999)} Industrial Rd"),
            barcode=g.maybe(0.3, f"LOC-{rng.randint(10000, 99999)}"),
        ),
    )
    location_ids = [loc["id"] for loc in locations]

    def fill_asset(r: Record, i: int) -> None:
        r.update(
            name=f"{rng.choice(_MACHINES)} #{i + 1}",
            description=g.maybe(0.5, "Critical production equipment"),
            locationId=rng.choice(location_ids) if location_ids else None,
            serialNumber=g.maybe(0.7, f"SN-{g.hex(8).upper()}"),
            barcode=g.maybe(0.4, f"AST-{rng.randint(100000, 999999)}"),
            criticalityId=g.maybe(0.3, rng.randint(1, 3)),
            manufacturer=g.maybe(0.6, rng.choice(_MANUFACTURERS)),
            model=g.maybe(0.4, f"M-{rng.randint(100, 999)}"),
            assetTypes=rng.sample(["Equipment", "Vehicle", "Facility"], rng.randint(0, 1)),
        )

    assets = g.make("assets", sizes.assets, user_ids, fill_asset)
    asset_ids = [a["id"] for a in assets]
    teams = g.make(
        "teams",
        sizes.teams,
        user_ids,
        lambda r, i: r.update(
            name=f"{rng.choice(_CREWS)} Team {i + 1}",
            description="Maintenance crew",
            _memberIds=g.pick_ids(users, 5),
            locationIds=g.pick_ids(locations, 2),
            assetIds=g.pick_ids(assets, 3),
        ),
    )
    for team in teams:
        team["membersCount"] = len(team["_memberIds"])
    vendors = g.make(
        "vendors",
        sizes.vendors,
        user_ids,
        lambda r, i: r.update(
            name=f"{_VENDORS[i % len(_VENDORS)]}{'' if i < len(_VENDORS) else f' {i + 1}'}",
            description=g.maybe(0.5, "Preferred supplier"),
            emails=[f"orders{i + 1}@vendor.example"],
            phoneNumbers=[f"+1-555-01{i % 100:02d}"],
        ),
    )
    categories = g.make(
        "categories",
        sizes.categories,
        user_ids,
        lambda r, i: r.update(
            label=_CATEGORIES[i] if i < len(_CATEGORIES) else f"Category {i + 1}",
            description=f"{_CATEGORIES[i % len(_CATEGORIES)]} work",
        ),
    )
    parts = _parts(g, sizes.parts, user_ids, location_ids, vendors)
    _meters(g, sizes.meters, user_ids, asset_ids, location_ids)
    _purchase_orders(g, sizes.purchase_orders, user_ids, vendors, parts)
    work_orders = _work_orders(
        g, sizes.work_orders, users, teams, assets, location_ids, categories, parts, vendors
    )
    _work_requests(g, sizes.work_requests, user_ids, asset_ids, location_ids, work_orders)
    _comments(g, work_orders, user_ids)
    g.data.sequences = dict(g.sequences)
    return g.data


def _users(g: _Gen, count: int) -> list[Record]:
    rng = g.rng

    def fill(r: Record, i: int) -> None:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        r.update(
            firstName=first,
            lastName=last,
            email=f"{first.lower()}.{last.lower()}{i + 1}@example.com",
            phoneNumber=g.maybe(0.5, f"+1-555-{rng.randint(1000, 9999)}"),
            role="ADMIN" if i == 0 else rng.choice(catalog().enum("users", "role")[:4]),
            hourlyRate=g.maybe(0.6, rng.randint(2000, 9000)),
            lastVisitedAt=format_ms(g.epoch_ms - rng.randint(1, 60) * _DAY_MS),
        )

    return g.make("users", count, [], fill)


def _parts(
    g: _Gen, count: int, user_ids: list[int], location_ids: list[int], vendors: list[Record]
) -> list[Record]:
    rng = g.rng

    def fill(r: Record, i: int) -> None:
        quantity = rng.randint(0, 200)
        location_id = rng.choice(location_ids) if location_ids else None
        r.update(
            name=f"{rng.choice(_PARTS)} {rng.choice('ABCDEFGH')}{rng.randint(10, 999)}",
            description=g.maybe(0.5, "Spare part"),
            barcode=g.maybe(0.5, f"PRT-{rng.randint(100000, 999999)}"),
            area=g.maybe(0.5, f"Shelf {rng.choice('ABCDEF')}{rng.randint(1, 20)}"),
            unitCost=g.maybe(0.9, rng.randint(100, 250_000)),
            availableQuantity=quantity,
            inStockQuantity=quantity,
            minimumQuantity=rng.randint(0, 20),
            orderedQuantity=rng.randint(0, 20),
            locationId=location_id,
            partTypes=rng.sample(["Consumable", "Electrical", "Mechanical"], rng.randint(0, 2)),
        )
        if location_id is not None:
            r["locations"] = [
                {
                    "locationId": location_id,
                    "availableQuantity": quantity,
                    "minimumQuantity": r["minimumQuantity"],
                    "maximumQuantity": None,
                    "area": r["area"],
                    "reservedQuantity": 0,
                    "committedQuantities": {"kitted": 0, "reserved": 0, "staged": 0},
                    "assignedQuantity": 0,
                }
            ]
        if vendors and rng.random() < 0.6:
            vendor = rng.choice(vendors)
            r["vendors"] = [
                {"vendorId": vendor["id"], "partNumber": f"PN-{rng.randint(1000, 9999)}"}
            ]
            r["vendorIds"] = [vendor["id"]]

    return g.make("parts", count, user_ids, fill)


def _meters(
    g: _Gen, count: int, user_ids: list[int], asset_ids: list[int], location_ids: list[int]
) -> None:
    rng = g.rng

    def fill(r: Record, i: int) -> None:
        r.update(
            name=f"Meter {i + 1}",
            unit=rng.choice(_UNITS),
            measurementType=rng.choice(catalog().enum("meters", "measurementType")),
            description=g.maybe(0.5, "Runtime meter"),
            assetId=rng.choice(asset_ids) if asset_ids and rng.random() < 0.8 else None,
            locationId=g.maybe(0.3, rng.choice(location_ids)) if location_ids else None,
            readingFrequency=g.maybe(0.3, {"type": "DAILY", "interval": 1}),
        )

    g.make("meters", count, user_ids, fill)
    g.data.tables["meterReadings"] = []


def _purchase_orders(
    g: _Gen, count: int, user_ids: list[int], vendors: list[Record], parts: list[Record]
) -> None:
    rng = g.rng

    def fill(r: Record, i: int) -> None:
        items = []
        for _ in range(rng.randint(1, 3)):
            part = rng.choice(parts) if parts else None
            items.append(
                purchase_order_item(
                    {
                        "partId": part["id"] if part else None,
                        "name": part["name"] if part else "Misc. supplies",
                        "quantityOrdered": rng.randint(1, 20),
                        "unitCost": part["unitCost"]
                        if part and part["unitCost"] is not None
                        else 1500,
                    },
                    g.new_id("purchaseOrderItems"),
                )
            )
        r.update(
            title=g.maybe(0.7, f"Restock order {i + 1}"),
            note=g.maybe(0.3, "Deliver to dock 2"),
            status=rng.choice(_PURCHASE_ORDER_STATUSES),
            vendorId=rng.choice(vendors)["id"] if vendors else None,
            items=items,
            dueDate=g.maybe(0.5, format_ms(g.epoch_ms + rng.randint(1, 60) * _DAY_MS)),
        )

    g.make("purchaseOrders", count, user_ids, fill)


def _work_orders(
    g: _Gen,
    count: int,
    users: list[Record],
    teams: list[Record],
    assets: list[Record],
    location_ids: list[int],
    categories: list[Record],
    parts: list[Record],
    vendors: list[Record],
) -> list[Record]:
    rng = g.rng
    user_ids = [u["id"] for u in users] or [1]
    priorities = catalog().enum("workOrders", "priority")
    statuses = [s for s, _ in _WO_STATUS_WEIGHTS]
    weights = [w for _, w in _WO_STATUS_WEIGHTS]

    def fill(r: Record, i: int) -> None:
        created = r["createdAt"]
        asset = rng.choice(assets) if assets and rng.random() < 0.8 else None
        status = rng.choices(statuses, weights)[0]
        kind = rng.choice(("REACTIVE", "PREVENTIVE", "OTHER", None))
        chosen = (
            rng.sample(categories, rng.randint(0, min(2, len(categories)))) if categories else []
        )
        r.update(
            title=f"{rng.choice(_TASKS)} {asset['name'] if asset else rng.choice(_MACHINES)}",
            description=g.maybe(0.6, "Reported by operator during shift."),
            status=status,
            priority=rng.choice(priorities),
            type=kind,
            assetId=asset["id"] if asset else None,
            locationId=asset["locationId"]
            if asset
            else g.maybe(0.5, rng.choice(location_ids))
            if location_ids
            else None,
            requesterId=g.maybe(0.3, rng.choice(user_ids)),
            assigneeIds=g.pick_ids(users, 2),
            teamIds=g.pick_ids(teams, 1),
            categories=[c["label"] for c in chosen],
            _categoryIds=[c["id"] for c in chosen],
            estimatedTime=g.maybe(0.4, rng.randint(1, 16) * 900),
            vendorIds=[rng.choice(vendors)["id"]] if vendors and rng.random() < 0.1 else [],
            extraFields={"Cost Center": f"CC-{rng.randint(10, 99)}"} if rng.random() < 0.3 else {},
        )
        created_ms = _ms(created)
        if rng.random() < 0.7:
            r["dueDate"] = format_ms(created_ms + rng.randint(1, 30) * _DAY_MS)
            r["dueDateIsFullDay"] = rng.random() < 0.5
        if rng.random() < 0.3:
            r["startDate"] = created
        if kind == "PREVENTIVE" and rng.random() < 0.5:
            r["recurrenceInfo"] = {"type": "WEEKLY", "interval": 1, "days": ["MONDAY"]}
        if status in ("IN_PROGRESS", "ON_HOLD", "DONE"):
            r["_startedAt"] = r["updatedAt"] if status == "IN_PROGRESS" else created
        if status == "DONE":
            r["completedAt"] = r["updatedAt"]
            r["completerId"] = rng.choice(user_ids)
        if parts and rng.random() < 0.2:
            part = rng.choice(parts)
            r["_parts"] = [
                {
                    "partId": part["id"],
                    "quantityUsed": rng.randint(1, 4),
                    "locationId": part["locationId"],
                    "copyOnRecurring": "Default",
                }
            ]
            r["_partIds"] = [part["id"]]
            r["partStatus"] = "ASSIGNED"

    return g.make("workOrders", count, user_ids, fill)


def _work_requests(
    g: _Gen,
    count: int,
    user_ids: list[int],
    asset_ids: list[int],
    location_ids: list[int],
    work_orders: list[Record],
) -> None:
    rng = g.rng
    priorities = catalog().enum("workRequests", "priority")
    statuses = catalog().enum("workRequests", "requestStatus")

    def fill(r: Record, i: int) -> None:
        status = rng.choice(statuses)
        linked = status in ("APPROVED", "DONE") and work_orders
        r.update(
            title=f"Request: {rng.choice(_TASKS).lower()} {rng.choice(_MACHINES)}",
            description=g.maybe(0.5, "Submitted from the request portal."),
            priority=rng.choice(priorities),
            requestStatus=status,
            assetId=g.maybe(0.5, rng.choice(asset_ids)) if asset_ids else None,
            locationId=g.maybe(0.5, rng.choice(location_ids)) if location_ids else None,
            workOrderId=rng.choice(work_orders)["id"] if linked else None,
            creatorContactInfo=g.maybe(0.5, contact_info(f"requester{i + 1}@example.com")),
        )

    g.make("workRequests", count, user_ids, fill)


def _comments(g: _Gen, work_orders: list[Record], user_ids: list[int]) -> None:
    rng = g.rng
    comments: list[Record] = []
    for work_order in work_orders:
        if rng.random() >= 0.2:
            continue
        at = _ms(work_order["createdAt"])
        for _ in range(rng.randint(1, 3)):
            at = min(at + rng.randint(60_000, 2 * _DAY_MS), g.epoch_ms - 1)
            comments.append(
                {
                    "id": 0,
                    "authorId": rng.choice(user_ids),
                    "content": rng.choice(
                        (
                            "On it.",
                            "Waiting for parts.",
                            "Fixed, please verify.",
                            "Needs a second look.",
                            "Photo attached.",
                        )
                    ),
                    "createdAt": format_ms(at),
                    "_parentId": work_order["id"],
                }
            )
        work_order["lastMessageSentAt"] = format_ms(at)
    comments.sort(key=lambda c: str(c["createdAt"]))
    for comment in comments:
        comment["id"] = g.new_id("comments")
    g.data.tables["comments"] = comments


def _ms(iso: str) -> int:
    from ._timeutil import parse_iso_ms

    return parse_iso_ms(iso)
