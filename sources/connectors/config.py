"""Source configuration (sources.yaml): one entry per source, of kind file, sql or rest.

Every kind maps its fields to the canonical columns (`columns`) and may convert units (`convert`);
what differs is only where the rows come from. Secrets are never in the file: entries name the
environment variable that holds them (`url_env`, `token_env`).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sources.connectors.errors import SourceConfigError
from sources.contracts import EVIDENCE_CONTRACTS, Contract

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Conversion(BaseModel):
    """A linear unit conversion applied after typing: value * multiply + add."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    multiply: float = Field(1.0, allow_inf_nan=False)
    add: float = Field(0.0, allow_inf_nan=False)


class Freshness(BaseModel):
    """How old a source's newest evidence date may get before its freshness check warns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_lag_days: int = Field(ge=0, le=3660)


class BaseSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_system: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    table: Literal["kpi_observations", "ai_costs", "adoption"]
    columns: dict[str, str] = Field(default_factory=dict)
    convert: dict[str, Conversion] = Field(default_factory=dict)
    # None: no freshness check for this source (the relative evidence_freshness gate still runs).
    freshness: Freshness | None = None

    @property
    def contract(self) -> Contract:
        return EVIDENCE_CONTRACTS[self.table]

    def source_name(self, canonical: str) -> str:
        return self.columns.get(canonical, canonical)

    @model_validator(mode="after")
    def _known_columns(self):
        known = {c.name: c for c in self.contract.source_columns}
        unknown = sorted((set(self.columns) | set(self.convert)) - set(known))
        if unknown:
            raise ValueError(
                f"source '{self.source_system}' maps unknown canonical column(s) {unknown}; "
                f"the {self.table} contract has {list(known)}"
            )
        not_numbers = sorted(c for c in self.convert if known[c].sql_type != "double")
        if not_numbers:
            raise ValueError(
                f"source '{self.source_system}': convert applies to decimal columns only, "
                f"not {not_numbers}"
            )
        return self


class SourceConfig(BaseSource):
    """Files matching a glob below the sources folder (CSV, Parquet, JSON lines; .gz allowed)."""

    kind: Literal["file"] = "file"
    format: Literal["csv", "parquet", "jsonl"]
    path: str
    delimiter: str = Field(",", min_length=1, max_length=1)

    def files(self, root: Path) -> list[Path]:
        return sorted(Path(p) for p in glob.glob(str(root / self.path)) if Path(p).is_file())


FileSource = SourceConfig


class SqlSource(BaseSource):
    """A query or table in any database SQLAlchemy reaches; the URL comes from `url_env`."""

    kind: Literal["sql"]
    url_env: str = Field(pattern=ENV_NAME)
    query: str | None = None
    source_table: str | None = Field(None, pattern=r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")
    # Incremental loads: only rows with cursor > the last value loaded (updated_at or an id).
    cursor: str | None = None
    chunk_size: int = Field(10_000, ge=1)
    connect_timeout_s: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _one_origin(self):
        if (self.query is None) == (self.source_table is None):
            raise ValueError(
                f"source '{self.source_system}': give exactly one of 'query' or 'source_table'"
            )
        return self


class NoPagination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    style: Literal["none"] = "none"


class PagePagination(BaseModel):
    """?page=1&page_size=100, then 2, 3... until a page has fewer than page_size records."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    style: Literal["page"]
    page_param: str = "page"
    size_param: str = "page_size"
    first_page: int = 1
    page_size: int = Field(100, ge=1)


class OffsetPagination(BaseModel):
    """?offset=0&limit=100, then offset 100, 200... until a page has fewer than page_size."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    style: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: int = Field(100, ge=1)


class CursorPagination(BaseModel):
    """The body carries the next token (at `next_path`); it goes back as `cursor_param`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    style: Literal["cursor"]
    next_path: str = "next"
    cursor_param: str = "cursor"
    size_param: str | None = None
    page_size: int | None = Field(None, ge=1)


class LinkPagination(BaseModel):
    """Follow the Link header's rel="next" URL (RFC 8288) until there is none."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    style: Literal["link"]
    size_param: str | None = None
    page_size: int | None = Field(None, ge=1)


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination | LinkPagination,
    Field(discriminator="style"),
]


class RestSource(BaseSource):
    """A JSON API; records at `records` (a dotted path in the body, empty = the body is a list)."""

    kind: Literal["rest"]
    url: str = Field(pattern=r"^https?://[^\s]+$")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    token_env: str | None = Field(None, pattern=ENV_NAME)
    token_header: str = "Authorization"
    token_prefix: str = "Bearer "
    records: str = ""
    pagination: Pagination = NoPagination()
    timeout_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(5, ge=1, le=20)
    backoff_s: float = Field(1.0, ge=0)
    max_backoff_s: float = Field(60.0, ge=0)
    max_pages: int = Field(10_000, ge=1)


AnySource = SourceConfig | SqlSource | RestSource
KINDS: dict[str, type[BaseSource]] = {"file": SourceConfig, "sql": SqlSource, "rest": RestSource}


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    loc = ".".join(map(str, first["loc"]))
    return f"field '{loc}': {msg}" if loc else msg


def parse_sources(raw: object, where: str) -> list[AnySource]:
    """Validate the parsed YAML; one readable error (naming the entry) for the first mistake."""
    if raw is None:
        return []
    entries = raw.get("sources") if isinstance(raw, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise SourceConfigError(f"{where}: 'sources' must be a list of source entries")
    configs: list[AnySource] = []
    for i, entry in enumerate(entries):
        name = entry.get("source_system", f"#{i + 1}") if isinstance(entry, dict) else f"#{i + 1}"
        if not isinstance(entry, dict):
            raise SourceConfigError(f"{where}: source entry {name} is not a mapping")
        kind = entry.get("kind", "file")
        cls = KINDS.get(kind)
        if cls is None:
            raise SourceConfigError(
                f"{where}: source '{name}' has unknown kind '{kind}'; expected one of {list(KINDS)}"
            )
        try:
            configs.append(cls.model_validate(entry))
        except ValidationError as exc:
            raise SourceConfigError(
                f"{where}: invalid source entry '{name}', {_first_error(exc)}"
            ) from None
    # A sql or rest source owns its source_system (its refresh and upsert act on all its rows).
    for cfg in configs:
        if cfg.kind != "file":
            others = [c for c in configs if c.source_system == cfg.source_system]
            if len(others) > 1:
                raise SourceConfigError(
                    f"{where}: source_system '{cfg.source_system}' is used by {len(others)} "
                    f"entries; a {cfg.kind} source must have a source_system of its own"
                )
    return configs


def load_sources_config(path: Path) -> list[AnySource]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceConfigError(f"{path}: cannot read the sources configuration: {exc}") from None
    return parse_sources(raw, str(path))
