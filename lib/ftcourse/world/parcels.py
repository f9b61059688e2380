"""Land parcels: the subject of LandAI's buyer summaries.

A parcel's attributes depend only on its id, so parcel 4412 is the same parcel
in every data set, notebook and corpus that mentions it. A seed picks *which*
parcels a call returns. Ids 1000-4999 are the course's parcels (what
``parcels`` hands out); ids 5000-9999 are reserved for the pretraining corpus,
so no parcel a learner fine-tunes or evaluates on was ever seen in pretraining.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

COURSE_IDS = range(1000, 5000)
PRETRAINING_IDS = range(5000, 10000)

COUNTIES = (
    "Alder", "Bramble", "Cedar Hollow", "Dunmore", "Elk Run", "Fenwick",
    "Grayson", "Harlow", "Ironwood", "Juniper", "Kestrel", "Larch",
)
ZONING = {
    "R-1": "single-family residential",
    "R-2": "two-family residential",
    "R-3": "multi-family residential",
    "C-1": "neighborhood commercial",
    "C-2": "general commercial",
    "AG": "agricultural",
    "I-1": "light industrial",
    "MU": "mixed use",
}
_ZONING_CODE = re.compile(rf"(?<![A-Za-z0-9-])({'|'.join(map(re.escape, ZONING))})(?![A-Za-z0-9-])")


def zoning_in(reply: str) -> str | None:
    """The first zoning code a free-text reply names, as a whole token in capitals (``MUST`` is not ``MU``)."""
    match = _ZONING_CODE.search(reply)
    return match.group(1) if match else None


FLOOD_RISK = {"X": "low", "X500": "moderate", "A": "high", "AE": "high", "VE": "very high"}
HIGH_FLOOD_ZONES = ("A", "AE", "VE")
SOILS = ("loam", "sandy loam", "silt loam", "clay loam", "clay", "sand", "gravelly loam", "rocky")
ROAD_ACCESS = ("paved", "gravel", "dirt", "none")
UTILITIES = ("water", "sewer", "electric", "gas", "fiber")
EASEMENTS = ("utility", "drainage", "access", "conservation", "pipeline")

# zoning -> (share of parcels, acreage range, price per acre range in USD)
_ZONING_PROFILE = {
    "R-1": (0.22, (0.25, 5.0), (40_000, 160_000)),
    "R-2": (0.12, (0.2, 3.0), (60_000, 200_000)),
    "R-3": (0.08, (0.5, 6.0), (90_000, 300_000)),
    "C-1": (0.09, (0.3, 4.0), (120_000, 400_000)),
    "C-2": (0.08, (0.5, 10.0), (100_000, 500_000)),
    "AG": (0.22, (5.0, 160.0), (3_000, 15_000)),
    "I-1": (0.09, (1.0, 40.0), (30_000, 120_000)),
    "MU": (0.10, (0.2, 3.5), (150_000, 450_000)),
}
_FLOOD_SHARES = {"X": 0.55, "X500": 0.17, "A": 0.09, "AE": 0.12, "VE": 0.07}
_FLOOD_DISCOUNT = {"X": 1.0, "X500": 0.95, "A": 0.8, "AE": 0.75, "VE": 0.7}
_ROAD_SHARES = {  # rural land is reached by worse roads
    "AG": (0.25, 0.35, 0.28, 0.12),
    "I-1": (0.70, 0.20, 0.05, 0.05),
}
_DEFAULT_ROADS = (0.78, 0.12, 0.05, 0.05)
_URBAN = ("R-2", "R-3", "C-1", "C-2", "MU")


@dataclass(frozen=True)
class Parcel:
    parcel_id: int
    county: str
    zoning: str
    flood_zone: str
    acreage: float
    slope_pct: float
    soil: str
    road_access: str
    utilities: tuple[str, ...]
    price_usd: int
    wetlands: bool
    easements: tuple[str, ...]

    @property
    def zoning_name(self) -> str:
        return ZONING[self.zoning]

    @property
    def flood_risk(self) -> str:
        return FLOOD_RISK[self.flood_zone]

    @property
    def terrain(self) -> str:
        """The slope in a word, as a buyer says it; "steep" exactly where the slope is above 15%."""
        if self.slope_pct > 15:
            return "steep"
        return "flat" if self.slope_pct < 2 else "gently sloping" if self.slope_pct < 6 else "moderately sloping"

    @property
    def price_per_acre_usd(self) -> int:
        """Rounded half up in decimal, as a person would: $185,000 / 3.2 acres = $57,813."""
        exact = Decimal(self.price_usd) / Decimal(str(self.acreage))
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def to_dict(self) -> dict:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> Parcel:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def record(self) -> str:
        """The parcel as LandAI's listings database prints it: one ``key: value`` line per field.

        This is the retrieved context LandAI's report writer reads.
        """
        lines = {
            "parcel_id": self.parcel_id,
            "county": self.county,
            "zoning": self.zoning,
            "flood_zone": self.flood_zone,
            "acreage": f"{self.acreage:.2f}",
            "slope": f"{self.slope_pct:g}%",
            "soil": self.soil,
            "road_access": self.road_access,
            "utilities": ", ".join(self.utilities) or "none",
            "price": f"${self.price_usd:,}",
            "price_per_acre": f"${self.price_per_acre_usd:,}",
            "wetlands": "yes" if self.wetlands else "no",
            "easements": ", ".join(self.easements) or "none",
        }
        return "\n".join(f"{k}: {v}" for k, v in lines.items())


def _pick(rng: random.Random, shares: dict[str, float] | tuple, options=None):
    if isinstance(shares, dict):
        options, shares = tuple(shares), tuple(shares.values())
    return rng.choices(options, weights=shares)[0]


def parcel(parcel_id: int) -> Parcel:
    """The one parcel with this id (its attributes are a function of the id alone)."""
    if parcel_id not in COURSE_IDS and parcel_id not in PRETRAINING_IDS:
        raise ValueError(f"parcel ids run from 1000 to 9999, not {parcel_id}")
    rng = random.Random(f"parcel:{parcel_id}")
    zoning = _pick(rng, {z: p[0] for z, p in _ZONING_PROFILE.items()})
    _, (lo, hi), (plo, phi) = _ZONING_PROFILE[zoning]
    acreage = round(max(0.1, lo * (hi / lo) ** rng.random()), 2)  # log-uniform: many small lots, few big ones
    flood_zone = _pick(rng, _FLOOD_SHARES)
    if rng.random() < 0.1:
        slope = rng.uniform(15.5, 32.0)
    else:
        slope = rng.triangular(0.0, 14.5, 3.0)
    slope_pct = round(slope, 1 if rng.random() < 0.3 else 0)
    soil = rng.choice(SOILS[:-1]) if slope_pct < 15 else rng.choice(("rocky", "gravelly loam", "clay loam", "sandy loam"))
    road = _pick(rng, _ROAD_SHARES.get(zoning, _DEFAULT_ROADS), ROAD_ACCESS)
    if zoning == "AG":
        utilities = tuple(u for u, p in zip(UTILITIES, (0.3, 0.05, 0.85, 0.1, 0.2)) if rng.random() < p)
    else:
        urban = zoning in _URBAN
        odds = (0.95, 0.85 if urban else 0.55, 0.98, 0.6, 0.65 if urban else 0.35)
        utilities = tuple(u for u, p in zip(UTILITIES, odds) if rng.random() < p)
    if road == "none":
        utilities = tuple(u for u in utilities if u == "electric")
    per_acre = rng.uniform(plo, phi) * _FLOOD_DISCOUNT[flood_zone] * (0.7 if slope_pct > 15 else 1.0)
    step = 500 if acreage * per_acre < 200_000 else 1000
    price = max(step, round(acreage * per_acre / step) * step)
    wetlands = rng.random() < (0.35 if flood_zone in HIGH_FLOOD_ZONES else 0.06)
    easements = tuple(e for e in EASEMENTS if rng.random() < 0.12)
    return Parcel(
        parcel_id=parcel_id,
        county=rng.choice(COUNTIES),
        zoning=zoning,
        flood_zone=flood_zone,
        acreage=acreage,
        slope_pct=float(slope_pct),
        soil=soil,
        road_access=road,
        utilities=utilities,
        price_usd=int(price),
        wetlands=wetlands,
        easements=easements,
    )


def _draw(ids: range, n: int, seed: int | str, exclude: Iterable[int]) -> list[Parcel]:
    skip = set(exclude)
    order = list(ids)
    random.Random(seed).shuffle(order)
    chosen = [i for i in order if i not in skip][:n]
    if len(chosen) < n:
        raise ValueError(f"only {len(chosen)} parcels are left to draw from ids {ids.start}-{ids.stop - 1}, not {n}")
    return [parcel(i) for i in chosen]


def parcels(n: int, seed: int = 0, *, exclude: Iterable[int] = ()) -> list[Parcel]:
    """``n`` distinct course parcels, chosen by ``seed``; ``exclude`` holds ids to leave out.

    The first ``n`` of a larger draw with the same seed are the same parcels.
    """
    return _draw(COURSE_IDS, n, f"parcels:{seed}", exclude)


def pretraining_parcels(n: int, seed: int = 0) -> list[Parcel]:
    """Parcels from the id range only the pretraining corpus uses."""
    return _draw(PRETRAINING_IDS, n, f"pretraining:{seed}", ())
