"""Scale the sample portfolio for benchmarks: clone units and initiatives, keep the patterns.

Copy 0 of every unit and initiative keeps its id, so a scaled registry is a superset of the sample
(or a subset when fewer units per business unit are asked for). Clones are `<id>-0001`, ...
A cloned unit inherits its original's size and rollouts (same go-live dates). Initiative copies of
one original share the cloned units round-robin, so no unit gets the same effect twice and every
initiative keeps a clean ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sources.portfolio.registry import Registry


@dataclass(frozen=True)
class Scaled:
    registry: Registry
    # clone id -> the sample id it was copied from (identity for copy 0)
    unit_origin: dict[str, str]
    initiative_origin: dict[str, str]


def _clone_id(original: str, copy: int) -> str:
    return original if copy == 0 else f"{original}-{copy:04d}"


def _scale_units(
    reg: Registry, units_per_bu: int | None
) -> tuple[list[dict], dict[str, list[str]]]:
    """N units per business unit, cloning the originals round-robin; returns copies per original."""
    by_bu: dict[str, list] = {}
    for unit in reg.units:
        by_bu.setdefault(unit.business_unit, []).append(unit)
    units: list[dict] = []
    copies: dict[str, list[str]] = {}
    for originals in by_bu.values():
        n = units_per_bu or len(originals)
        for j in range(n):
            original, copy = originals[j % len(originals)], j // len(originals)
            unit = original.model_dump(exclude_none=True)
            unit["unit_id"] = _clone_id(original.unit_id, copy)
            if copy:
                unit["name"] = f"{original.name} (clone {copy})"
            units.append(unit)
            copies.setdefault(original.unit_id, []).append(unit["unit_id"])
    return units, copies


def _scale_initiatives(
    reg: Registry, n_initiatives: int | None, unit_copies: dict[str, list[str]]
) -> list[dict]:
    originals = reg.initiatives
    n = n_initiatives or len(originals)
    n_copies = [len(range(i, n, len(originals))) for i in range(len(originals))]
    initiatives = []
    for j in range(n):
        i, copy = j % len(originals), j // len(originals)
        original = originals[i]
        ini = original.model_dump(exclude_none=True)
        ini["initiative_id"] = _clone_id(original.initiative_id, copy)
        if copy:
            ini["name"] = f"{original.name} (clone {copy})"
        # Unit copy k of a rollout unit goes to initiative copy k mod (number of copies).
        ini["rollout"] = [
            {"unit_id": clone, "go_live": r.go_live}
            for r in original.rollout
            for k, clone in enumerate(unit_copies.get(r.unit_id, []))
            if k % n_copies[i] == copy
        ]
        initiatives.append(ini)
    return initiatives


def scale_registry(
    reg: Registry, units_per_bu: int | None = None, initiatives: int | None = None
) -> Scaled:
    units, unit_copies = _scale_units(reg, units_per_bu)
    data = reg.model_dump(exclude_none=True)
    data["units"] = units
    data["initiatives"] = _scale_initiatives(reg, initiatives, unit_copies)
    scaled = Registry.model_validate(data)
    unit_origin = {c: orig for orig, clones in unit_copies.items() for c in clones}
    n = len(reg.initiatives)
    initiative_origin = {
        ini.initiative_id: reg.initiatives[j % n].initiative_id
        for j, ini in enumerate(scaled.initiatives)
    }
    return Scaled(scaled, unit_origin, initiative_origin)


def unscaled(reg: Registry) -> Scaled:
    return Scaled(
        reg,
        {u.unit_id: u.unit_id for u in reg.units},
        {i.initiative_id: i.initiative_id for i in reg.initiatives},
    )


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # the C emitter when available
    def ignore_aliases(self, data) -> bool:
        return True  # shared date objects must not become &id001 anchors: keep it readable


def write_registry(reg: Registry, path: Path) -> None:
    """Write a registry that `load_registry` reads back, fast enough for 20,000 units."""
    text = yaml.dump(
        reg.model_dump(exclude_none=True),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        width=200,
        allow_unicode=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Scaled sample portfolio written by sources/sample/generate.py; do not edit.\n" + text,
        encoding="utf-8",
    )
