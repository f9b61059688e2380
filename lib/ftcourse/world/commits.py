"""Commit messages labelled feat / fix / chore, as LandAI's engineers write them.

The label is what the commit *does*, decided before its message is written:

- **feat**: a capability users of the software can see is added or changed
  (a flag, an endpoint, a view, an output format, a noticeable speed-up);
- **fix**: behaviour that was wrong is corrected (a crash, a wrong value, a leak),
  including a dependency bump made to fix such a bug;
- **chore**: nothing users see changes: dependencies, build, CI, tests, docs,
  refactoring, formatting, releases.

Messages vary the way real histories do: seven repositories with their own
identifiers, authors with their own habits (capitalised imperative, lower case,
past tense, ``scope:`` prefixes, conventional commits, ticket keys), bodies and
trailers, issue references, bots, merges, typos. Conventional-commit prefixes
appear only for some authors and do not always agree with the label, and about
one commit in seven is worded so that it points at another label
(``ambiguous=True``): "fix flaky test" is a chore, "update the parser to handle
BOMs" is a fix.
"""
from __future__ import annotations

import random
import re
import textwrap
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

LABELS = ("feat", "fix", "chore")


@dataclass(frozen=True)
class Commit:
    sha: str
    repo: str
    author: str
    date: str
    message: str
    label: str
    ambiguous: bool  # worded so that it points at another label

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    def to_dict(self) -> dict:
        return asdict(self)


# --- the repositories: each slot is a pool of identifiers a change can mention ---
REPOS = {
    "landai-api": dict(
        feat=["add API key scopes", "return flood risk with every parcel", "add bulk lookup of up to 100 parcels",
              "support If-None-Match on parcel responses", "add webhook for finished reports"],
        fix=["fix 500 on search with an empty query", "fix token refresh racing with logout",
             "stop charging twice when the Stripe webhook is retried", "fix N+1 query in search_parcels"],
        scopes=["api", "auth", "db", "search", "reports", "billing", "models", "migrations"],
        files=["app/routes/parcels.py", "app/auth/tokens.py", "app/db/session.py", "app/search/query.py",
               "app/reports/render.py", "app/billing/stripe_hooks.py", "app/models/parcel.py", "alembic/env.py"],
        funcs=["get_parcel", "search_parcels", "create_report", "refresh_token", "parse_bbox", "apply_filters",
               "to_geojson", "charge_invoice", "paginate", "load_settings"],
        things=["parcel search", "report queue", "API key cache", "session pool", "rate limiter", "invoice webhook",
                "token refresh", "search index"],
        fields=["flood_zone", "acreage", "zoning", "price_usd", "county", "slope_pct", "owner_name", "updated_at"],
        flags=[], cmds=[],
        endpoints=["/v1/parcels/{id}", "/v1/search", "/v1/reports", "/v2/parcels", "/auth/refresh", "/billing/webhook"],
        views=[],
        deps=[("fastapi", "0.110.2", "0.111.0"), ("sqlalchemy", "2.0.29", "2.0.30"), ("pydantic", "2.6.4", "2.7.1"),
              ("uvicorn", "0.29.0", "0.30.1"), ("httpx", "0.27.0", "0.27.2"), ("alembic", "1.13.1", "1.13.2"),
              ("stripe", "8.9.0", "9.6.0"), ("pytest", "8.1.1", "8.2.2")],
        configs=["DATABASE_URL", "SEARCH_PAGE_SIZE", "JWT_LEEWAY_SECONDS", "RATE_LIMIT_PER_MIN", "REPORTS_BUCKET"],
        tests=["test_search_pagination", "test_refresh_token_expiry", "test_geojson_roundtrip", "test_webhook_signature"],
        formats=["GeoJSON", "CSV", "PDF", "NDJSON"],
    ),
    "parcel-map": dict(
        feat=["add satellite basemap", "remember the last map position", "show flood zones as a hatched layer",
              "add measure tool for distances", "open parcel from URL hash"],
        fix=["fix legend overlapping zoom controls on mobile", "fix popup flicker on hover",
             "fix tiles not reloading after token refresh", "fix wrong acreage units in popup"],
        scopes=["ui", "map", "legend", "search", "i18n", "a11y", "build", "layers"],
        files=["src/components/Legend.tsx", "src/map/useParcelLayer.ts", "src/search/SearchBox.tsx",
               "src/i18n/en.json", "src/hooks/useDebounce.ts", "vite.config.ts", "src/map/tiles.ts"],
        funcs=["useParcelLayer", "zoomToBounds", "formatAcreage", "fetchTiles", "renderPopup", "useDebounce",
               "highlightParcel", "toggleLayer"],
        things=["parcel popup", "flood layer", "legend", "search box", "basemap switcher", "measure tool",
                "zoom controls", "parcel outline"],
        fields=["flood_zone", "acreage", "zoning", "price", "slope"],
        flags=[], cmds=[], endpoints=[],
        views=["parcel detail panel", "map legend", "search results list", "print view", "settings page"],
        deps=[("react", "18.2.0", "18.3.1"), ("vite", "5.2.8", "5.2.11"), ("maplibre-gl", "4.1.2", "4.3.2"),
              ("typescript", "5.4.3", "5.4.5"), ("eslint", "8.57.0", "9.2.0"), ("vitest", "1.4.0", "1.6.0"),
              ("@tanstack/react-query", "5.28.9", "5.35.1")],
        configs=["VITE_TILE_URL", "VITE_API_BASE", "maxZoom", "defaultBasemap"],
        tests=["Legend.test.tsx", "SearchBox.test.tsx", "tiles.test.ts", "the popup snapshot test"],
        formats=["PNG", "SVG", "PDF"],
    ),
    "tilegen": dict(
        feat=["add WebP output", "resume interrupted seeds", "read bbox from a GeoJSON file",
              "print tiles per second while rendering"],
        fix=["fix tiles at the antimeridian", "fix cache eviction never running", "retry S3 uploads on 503",
             "fix seam lines between tiles at zoom 17"],
        scopes=["cmd", "render", "cache", "storage", "config", "mbtiles"],
        files=["cmd/tilegen/main.go", "internal/render/raster.go", "internal/cache/lru.go", "internal/storage/s3.go",
               "internal/config/config.go", "pkg/mbtiles/writer.go"],
        funcs=["RenderTile", "NewLRU", "WriteMBTiles", "ParseConfig", "UploadBatch", "tileBounds", "simplifyRing"],
        things=["tile cache", "S3 uploader", "raster renderer", "worker pool", "progress output", "config loader"],
        fields=["zoom", "bbox", "tile size", "cache size"],
        flags=["--max-zoom", "--workers", "--dry-run", "--bbox", "--format", "--no-cache", "--since"],
        cmds=["tilegen render", "tilegen seed", "tilegen upload", "tilegen verify"],
        endpoints=[], views=[],
        deps=[("github.com/aws/aws-sdk-go-v2", "1.26.0", "1.27.0"), ("golang.org/x/image", "0.15.0", "0.16.0"),
              ("github.com/spf13/cobra", "1.8.0", "1.8.1"), ("github.com/mattn/go-sqlite3", "1.14.22", "1.14.23")],
        configs=["cache.max_entries", "render.antialias", "storage.bucket", "workers"],
        tests=["TestRenderTile", "TestLRUEviction", "TestWriteMBTiles", "TestTileBounds"],
        formats=["WebP", "PNG", "PBF"],
    ),
    "county-ingest": dict(
        feat=["add Harlow county feed", "ingest wetlands layer", "add --county filter to backfill",
              "keep history of zoning changes"],
        fix=["fix latin-1 owner names turning into mojibake", "fix duplicate parcels after a split",
             "fix reprojection of parcels in state plane feet", "skip rows with empty geometry instead of failing"],
        scopes=["etl", "parsers", "geo", "scheduler", "schema", "dedupe"],
        files=["ingest/parsers/shapefile.py", "ingest/parsers/csv_feed.py", "ingest/geo/reproject.py",
               "ingest/schema.py", "dags/nightly_refresh.py", "ingest/dedupe.py"],
        funcs=["parse_feed", "reproject", "normalize_owner", "merge_records", "load_shapefile", "detect_encoding",
               "upsert_parcels", "validate_row"],
        things=["nightly refresh", "shapefile parser", "CSV feed reader", "owner name normaliser", "dedupe step",
                "county feed", "schema check"],
        fields=["parcel_id", "flood_zone", "zoning", "acreage", "owner_name", "geometry", "assessed_value"],
        flags=["--county", "--since", "--dry-run", "--full"], cmds=["ingest run", "ingest backfill"],
        endpoints=[], views=[],
        deps=[("pandas", "2.2.1", "2.2.2"), ("geopandas", "0.14.3", "0.14.4"), ("pyproj", "3.6.1", "3.6.2"),
              ("apache-airflow", "2.8.4", "2.9.1"), ("shapely", "2.0.3", "2.0.4"), ("pyarrow", "15.0.2", "16.1.0")],
        configs=["INGEST_BATCH_SIZE", "COUNTY_FEEDS", "TARGET_CRS", "MAX_RETRIES"],
        tests=["test_parse_feed_latin1", "test_reproject_roundtrip", "test_merge_records", "test_dedupe_owner"],
        formats=["GeoPackage", "Parquet", "shapefile"],
    ),
    "report-writer": dict(
        feat=["stream tokens from /generate", "add verdict accuracy to the eval report",
              "support several adapters per process", "add --limit to writer eval"],
        fix=["fix eval counting empty answers as correct", "fix adapter not unloading between requests",
             "fix prompt missing the flood zone line", "fix leak of parcels between train and eval splits"],
        scopes=["prompts", "eval", "serving", "training", "data"],
        files=["writer/prompts.py", "writer/serve.py", "eval/run_eval.py", "train/lora.py", "data/build_sft.py"],
        funcs=["build_prompt", "generate_summary", "score_layout", "load_adapter", "collate", "split_by_parcel"],
        things=["eval harness", "adapter loader", "prompt builder", "SFT data builder", "batching", "streaming responses"],
        fields=["verdict", "flood_zone", "zoning", "max_new_tokens", "temperature"],
        flags=["--adapter", "--limit", "--seed", "--epochs"], cmds=["writer serve", "writer eval"],
        endpoints=["/generate", "/healthz"], views=[],
        deps=[("transformers", "4.40.1", "4.41.2"), ("peft", "0.10.0", "0.11.1"), ("torch", "2.2.2", "2.3.0"),
              ("accelerate", "0.29.3", "0.30.1"), ("datasets", "2.18.0", "2.19.1")],
        configs=["MODEL_PATH", "ADAPTER_DIR", "MAX_BATCH", "EVAL_SPLIT"],
        tests=["test_score_layout", "test_split_by_parcel", "test_prompt_snapshot"],
        formats=["JSONL", "CSV"],
    ),
    "infra": dict(
        feat=["add staging environment for the map", "add p95 latency alert for the API", "enable autoscaling for the report workers",
              "add nightly database snapshots"],
        fix=["fix ingress timeout for long report downloads", "fix alert firing on every deploy",
             "fix backup job writing to the wrong bucket", "raise api memory limit after OOM kills"],
        scopes=["terraform", "k8s", "helm", "monitoring", "ci", "dns"],
        files=["terraform/modules/rds/main.tf", "k8s/api/deployment.yaml", "charts/api/values.yaml",
               ".github/workflows/deploy.yml", "monitoring/alerts.yaml"],
        funcs=[], things=["staging cluster", "RDS instance", "ingress", "alert rules", "deploy workflow", "backup job"],
        fields=[],
        flags=[], cmds=[], endpoints=[], views=[],
        deps=[("hashicorp/aws", "5.44.0", "5.50.0"), ("ingress-nginx", "4.10.0", "4.10.1"),
              ("actions/checkout", "v3", "v4"), ("kube-prometheus-stack", "57.2.0", "58.7.2")],
        configs=["api.replicas", "rds.instance_class", "backup.retention_days", "alert.p95_latency_ms"],
        tests=["the terraform plan check"], formats=[],
    ),
    "geokit": dict(
        feat=["add Visvalingam simplification", "parse WKB", "add BBox::union", "expose area via the C API"],
        fix=["fix area of polygons with holes", "fix WKT parser rejecting scientific notation",
             "fix bbox intersection across the antimeridian", "fix ring orientation after simplify"],
        scopes=["proj", "wkt", "geojson", "bbox", "ffi", "simplify"],
        files=["src/wkt/parser.rs", "src/geojson.rs", "src/bbox.rs", "src/ffi.rs", "src/simplify.rs", "benches/area.rs"],
        funcs=["parse_wkt", "Polygon::area", "BBox::intersects", "to_geojson", "simplify_vw", "from_wkb"],
        things=["WKT parser", "GeoJSON writer", "bbox math", "C bindings", "polygon area", "ring orientation"],
        fields=["srid", "precision", "holes"],
        flags=[], cmds=[], endpoints=[], views=[],
        deps=[("serde", "1.0.197", "1.0.203"), ("serde_json", "1.0.115", "1.0.117"), ("thiserror", "1.0.58", "1.0.61"),
              ("criterion", "0.4.0", "0.5.1")],
        configs=["default features", "the `ffi` feature"],
        tests=["wkt_roundtrip", "area_of_donut", "bbox_antimeridian"],
        formats=["WKB", "GeoJSON", "WKT"],
    ),
}

# --- what a change does: (template, chore kind or None). Templates are imperative and
# lower case; the author's habits decide case, tense and prefixes. ---
FEAT = [
    "add {flag} flag to `{cmd}`", "add {flag} option", "support {format} output", "add {format} export",
    "add {endpoint} endpoint", "allow filtering {endpoint} by {field}", "expose {field} in {endpoint} responses",
    "show {field} in the {view}", "make {config} configurable",
    "read {config} from the environment", "add retry with backoff to {func}", "support {format} in {func}",
    "add dark mode to the {view}", "let users export the {view} as {format}", "add keyboard shortcuts to the {view}",
    "paginate {endpoint}", "cache {func} results", "add progress bar to `{cmd}`", "add `{cmd}` subcommand",
    "introduce {config} setting", "stream {format} rows instead of buffering", "add sorting by {field}",
    "implement {func}", "new {thing} ({format})", "add {field} column to {format} export",
    "allow multiple values for {flag}", "add healthcheck endpoint", "add {field} to the search filters",
    "translate the {view} into Spanish", "emit metrics for the {thing}",
]
FIX = [
    "fix crash when {field} is missing", "handle empty {field} in {func}", "fix off-by-one in {func}",
    "fix wrong {field} in the {view}", "don't drop {field} when {func} retries", "fix race in the {thing}",
    "fix memory leak in the {thing}", "prevent double submit in the {view}", "correct rounding of {field}",
    "return 404 instead of 500 from {endpoint} for unknown ids", "fix {func} when {field} is null",
    "{func}: guard against None", "fix timezone bug in {func}", "fix {flag} being ignored", "stop {thing} from hanging on timeout",
    "fix infinite loop in {func}", "fix utf-8 decoding in {func}", "avoid duplicate rows in {format} export",
    "fix pagination skipping the last page", "escape {field} in {format} output", "fix {thing} losing state on reload",
    "fix nil pointer in {func}", "restore {field} sorting", "fix broken {thing} after the last release",
    "make {func} respect {config}", "fix stale {thing}", "fix {field} shown as NaN", "close file handle in {func}",
    "fix panic on empty {field}", "clamp {field} to valid range", "fix {endpoint} returning stale {field}",
]
CHORE = [
    ("bump {dep} from {old} to {new}", "deps"), ("update {dep} to {new}", "deps"), ("upgrade {dep}", "deps"),
    ("update dependencies", "deps"), ("regenerate lockfile", "deps"), ("pin {dep} to {old}", "deps"),
    ("refactor {func}", "refactor"), ("split {file} into smaller modules", "refactor"),
    ("rename {func} to {func_new}", "refactor"), ("move {func} into {file}", "refactor"),
    ("extract {thing} helpers", "refactor"), ("remove unused imports", "style"), ("remove dead code in {file}", "refactor"),
    ("simplify {func}", "refactor"), ("add type hints to {file}", "refactor"), ("run formatter", "style"),
    ("fix lint warnings", "style"), ("reformat {file}", "style"), ("add tests for {func}", "test"),
    ("add {test}", "test"), ("speed up the test suite", "test"), ("update README", "docs"),
    ("document {config}", "docs"), ("document {file}", "docs"), ("update CHANGELOG", "docs"),
    ("cache dependencies in CI", "ci"), ("run CI on pull requests only", "ci"), ("add {dep} to dev dependencies", "build"),
    ("bump version to {version}", "release"), ("release {version}", "release"), ("prepare {version}", "release"),
    ("update .gitignore", "chore"), ("tidy up {file}", "refactor"), ("add CODEOWNERS", "chore"),
    ("drop support for python 3.8", "build"), ("update copyright year", "chore"), ("enable stricter type checking", "build"),
    ("migrate CI to GitHub Actions", "ci"), ("split CI into lint and test jobs", "ci"), ("add pre-commit config", "chore"),
]
# Worded to suggest another label; the second item is the true label, the third the chore kind.
HARD = [
    ("fix flaky {test}", "chore", "test"), ("fix typo in README", "chore", "docs"), ("fix lint errors", "chore", "style"),
    ("fix CI", "chore", "ci"), ("fix broken link in docs", "chore", "docs"), ("fix tests after refactor", "chore", "test"),
    ("add test for crash in {func}", "chore", "test"), ("add regression test for {test}", "chore", "test"),
    ("handle {field} in {func} (refactor, no behaviour change)", "chore", "refactor"),
    ("update {func} to handle missing {field}", "fix", None), ("update {dep} to {new} to fix crash on startup", "fix", None),
    ("improve error when {config} is unset", "feat", None), ("update {view} layout", "feat", None),
    ("remove deprecated {flag} flag", "feat", None), ("make {func} faster", "feat", None),
    ("add missing null check in {func}", "fix", None), ("add missing {field} to {format} export", "fix", None),
    ("revert \"{feat_subject}\"", "fix", None), ("clean up {thing} error handling", "fix", None),
    ("tweak {thing} timeout", "fix", None), ("change default {config}", "feat", None),
    ("typo in error message for {flag}", "fix", None), ("improve {thing} performance", "feat", None),
    ("better defaults for {config}", "feat", None), ("bump {dep} to {new} (security fix)", "fix", None),
]

CONVENTIONAL = {"feat": "feat", "fix": "fix", "deps": "chore", "refactor": "refactor", "style": "style",
                "test": "test", "docs": "docs", "ci": "ci", "build": "build", "release": "chore", "chore": "chore"}

PAST = {"add": "added", "fix": "fixed", "update": "updated", "remove": "removed", "handle": "handled",
        "support": "supported", "allow": "allowed", "make": "made", "bump": "bumped", "refactor": "refactored",
        "rename": "renamed", "move": "moved", "show": "showed", "expose": "exposed", "correct": "corrected",
        "prevent": "prevented", "implement": "implemented", "upgrade": "upgraded", "simplify": "simplified",
        "clean": "cleaned", "improve": "improved", "change": "changed", "split": "split", "run": "ran",
        "drop": "dropped", "document": "documented", "restore": "restored", "tweak": "tweaked", "cache": "cached",
        "introduce": "introduced", "translate": "translated", "emit": "emitted", "extract": "extracted"}

AUTHORS = [
    ("Priya Raman", "imperative"), ("Tomasz Nowak", "lower"), ("Ana Souza", "conventional"),
    ("Kenji Watanabe", "scope"), ("Maya Cohen", "imperative"), ("Luis Ortega", "past"),
    ("Grace Liu", "conventional"), ("Sam Okafor", "lower"), ("Elena Petrova", "scope"),
    ("Jonas Berg", "ticket"), ("Fatima Al-Sayed", "imperative"), ("Dave Miller", "terse"),
    ("Chloe Martin", "past"), ("Arjun Mehta", "ticket"), ("Noah Fischer", "lower"),
]
BODY = {  # by kind of change
    "feat": [
        "Buyers kept asking for this on the support channel.",
        "The {thing} now accepts {field} as well; the old behaviour is unchanged when it is not given.",
        "Behind {config} for now so we can roll it out per county.",
        "This is the first half; the {view} part follows in a separate PR.",
        "Defaults to off. Docs updated.",
        "Uses the existing {func} under the hood, so no new queries.",
    ],
    "fix": [
        "{func} assumed {field} was always set, which is not true for records from older county feeds.",
        "The bug only showed up with more than one worker, which is why the tests never caught it.",
        "Reported by a customer: the {view} showed last week's {field}.",
        "We were comparing strings instead of numbers, so 9 sorted after 10.",
        "Regression from the {thing} rewrite.",
        "Root cause was a missing await; the request finished before the write did.",
    ],
    "deps": ["Dependabot was failing on this, updating by hand.", "Changelog has nothing that affects us.",
             "Needed for the security advisory, no API changes on our side.", "Lockfile regenerated with the same resolver."],
    "refactor": ["No functional change.", "Pure move, no behaviour change intended.",
                 "Keeps the diff for the next PR small.", "{func} was doing three things at once."],
    "style": ["No functional change.", "Mechanical change, produced by the formatter.", "Makes the linter happy again."],
    "test": ["Covers the case from #{issue}.", "The old test relied on dict ordering.", "Runs in under a second now."],
    "docs": ["Several people asked about this in standup.", "Also fixes a few dead links.", "Wording only."],
    "ci": ["CI time drops from about 9 to 6 minutes.", "The runner image changed under us.", "Saves a few minutes per PR."],
    "build": ["Nobody uses it anymore according to the download stats.", "Needed for the new test runner."],
    "release": ["See CHANGELOG.md for the list of changes.", "Tagging after the staging soak test."],
    "chore": ["Housekeeping.", "No functional change.", "The old config is kept until everything is migrated."],
}
NEUTRAL_BODY = ["See discussion in #{issue}.", "Tested locally against staging.", "Follow-up to #{issue}.",
                "Thanks to {other} for the review.", "Part of the Q3 cleanup.", "Needs a redeploy of the workers."]


def _fill(template: str, rng: random.Random, repo: dict) -> str | None:
    """Fill every ``{slot}`` from the repository's pools; None if the repo lacks one."""
    values = {}
    for slot in dict.fromkeys(re.findall(r"{(\w+)}", template)):  # in order: a set would follow the hash seed
        if slot in ("dep", "old", "new"):
            if "dep" not in values:
                values["dep"], values["old"], values["new"] = rng.choice(repo["deps"])
            continue
        pool = {
            "flag": repo["flags"], "cmd": repo["cmds"], "format": repo["formats"], "endpoint": repo["endpoints"],
            "field": repo["fields"], "view": repo["views"], "thing": repo["things"],
            "config": repo["configs"], "func": repo["funcs"], "file": repo["files"], "test": repo["tests"],
            "version": [f"v{rng.randint(0, 3)}.{rng.randint(0, 14)}.{rng.randint(0, 9)}"],
            "issue": [str(rng.randint(12, 2400))],
            "other": [a for a, _ in AUTHORS],
        }.get(slot)
        if slot == "func_new":
            continue
        if slot == "feat_subject":
            inner = _fill(rng.choice(FEAT), rng, repo)
            if inner is None:
                return None
            values[slot] = inner[0].upper() + inner[1:]
            continue
        if not pool:
            return None
        values[slot] = rng.choice(pool)
    if "func_new" in template:  # a new name for the function being renamed
        old = values["func"]
        values["func_new"] = rng.choice([old + "_impl", "_" + old, old.replace("get_", "fetch_") if "get_" in old else old + "_v2"])
    return template.format(**values)


def _typo(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"\b[a-z]{5,}\b", text)]
    if not words:
        return text
    m = rng.choice(words)
    w, i = m.group(), rng.randint(1, len(m.group()) - 2)
    w = rng.choice([w[:i] + w[i + 1] + w[i] + w[i + 2:], w[:i] + w[i + 1:], w[:i] + w[i] + w[i:]])
    return text[:m.start()] + w + text[m.end():]


def _capitalise(text: str) -> str:
    """Capitalise a leading English word, never an identifier such as ``get_parcel``."""
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if first.isalpha() and first.islower() else text


def _subject(change: str, kind: str, style: str, rng: random.Random, repo: dict, issue: int) -> str:
    head, _, rest = change.partition(" ")
    if style == "past" and head in PAST:
        change = f"{PAST[head]} {rest}"
    if rng.random() < 0.3:
        change = change.replace("`", "")
    if style == "conventional":
        if kind == "fix" and change.startswith("fix ") and rng.random() < 0.7:
            change = change[4:]
        scope = f"({rng.choice(repo['scopes'])})" if rng.random() < 0.6 else ""
        return f"{CONVENTIONAL[kind]}{scope}: {change}"
    if style == "scope":
        return f"{rng.choice(repo['scopes'])}: {change}"
    if style == "ticket":
        return f"{rng.choice(['LND', 'MAP', 'OPS'])}-{issue} {_capitalise(change)}"
    if style == "terse":
        change = re.sub(r"\b(the|a|an)\b ", "", change).rstrip(".")
        return change.split(" (")[0]
    if style in ("imperative", "past"):
        change = _capitalise(change)
        if rng.random() < 0.1:
            change += "."
    return change


def _body(label: str, kind: str, rng: random.Random, repo: dict, issue: int, style: str) -> str:
    parts = []
    lines = BODY.get(kind, BODY["chore"])
    if rng.random() < 0.75:
        for line in rng.sample(lines, min(len(lines), rng.randint(1, 2))):
            text = _fill(line, rng, repo) or _fill(rng.choice(NEUTRAL_BODY), rng, repo)
            parts.append(textwrap.fill(text, 72))
    else:  # a squashed branch lists its steps
        pool = {"feat": FEAT, "fix": FIX}.get(label) or [t for t, _ in CHORE]
        bullets = dict.fromkeys(_fill(t, rng, repo) for t in rng.sample(pool, 4))
        parts.append("\n".join(f"- {b}" for b in bullets if b))
    if rng.random() < 0.3:
        parts.append(_fill(rng.choice(NEUTRAL_BODY), rng, repo))
    trailer = rng.random()
    if trailer < 0.25 and style != "ticket":
        parts.append(f"{rng.choice(['Fixes', 'Closes', 'Refs', 'Resolves'])} #{issue}")
    elif trailer < 0.35:
        other = rng.choice(AUTHORS)[0]
        parts.append(f"Co-authored-by: {other} <{other.split()[0].lower()}@landai.dev>")
    return "\n\n".join(parts)


def _dependabot(rng: random.Random, repo: dict) -> str:
    dep, old, new = rng.choice(repo["deps"])
    where = rng.choice(["", "", " in /web", " in /docs"])
    return (f"Bump {dep} from {old} to {new}{where}\n\nBumps {dep} from {old} to {new}.\n\n"
            "---\nupdated-dependencies:\n"
            f"- dependency-name: {dep}\n  dependency-type: direct:production\n\n"
            "Signed-off-by: dependabot[bot] <support@github.com>")


def _one(seed: int | str, i: int) -> Commit:
    rng = random.Random(f"commit:{seed}:{i}")
    name = rng.choice(sorted(REPOS))
    repo = REPOS[name]
    author, style = rng.choice(AUTHORS)
    if rng.random() < 0.2:  # nobody is perfectly consistent
        style = rng.choice(["imperative", "lower", "terse"])
    issue = rng.randint(12, 2400)
    roll = rng.random()
    ambiguous = False
    if roll < 0.05:
        label, message, author = "chore", _dependabot(rng, repo), "dependabot[bot]"
    else:
        label = rng.choices(LABELS, weights=(0.36, 0.34, 0.30))[0]
        ambiguous = roll < 0.20
        own = [(t, label) for t in repo.get(label, [])] * 3  # what this repository's changes are about
        pool = [(t, kind or lab) for t, lab, kind in HARD if lab == label] if ambiguous else \
            [(t, label) for t in FEAT] + own if label == "feat" else \
            [(t, label) for t in FIX] + own if label == "fix" else CHORE
        change = None
        while change is None:  # some repositories have no flags, endpoints, ...: draw again
            template, kind = rng.choice(pool)
            change = _fill(template, rng, repo)
        prefix = kind
        if style == "conventional" and rng.random() < 0.12:  # the prefix the author picked is not the right one
            prefix = rng.choice([k for k in ("feat", "fix", "chore") if k != label])
            ambiguous = True
        subject = _subject(change, prefix, style, rng, repo, issue)
        if rng.random() < 0.07:
            subject = _typo(subject, rng)
        if rng.random() < 0.18 and style != "ticket":
            subject += f" (#{issue + rng.randint(1, 40)})"
        message = subject
        if rng.random() < 0.35 and style != "terse":
            message += "\n\n" + _body(label, kind, rng, repo, issue, style)
        if rng.random() < 0.04:
            branch = {"feat": "feature", "fix": "bugfix", "chore": "chore"}[label] if rng.random() < 0.5 else "patch"
            slug = re.sub(r"[^a-z0-9]+", "-", change.lower()).strip("-")[:30]
            login = author.split()[0].lower()
            message = f"Merge pull request #{issue} from landai/{login}/{branch}-{slug}\n\n{subject}"
            ambiguous = ambiguous or branch == "patch"
    when = datetime(2023, 1, 2, 9, 0) + timedelta(minutes=rng.randint(0, 700 * 24 * 60))
    sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    return Commit(sha, name, author, when.isoformat(timespec="minutes"), message, label, ambiguous)


def commits(n: int, seed: int = 0) -> list[Commit]:
    """``n`` commits in generation order; ``commits(n)`` is a prefix of ``commits(m)`` for m > n."""
    return [_one(seed, i) for i in range(n)]
