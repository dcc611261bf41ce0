"""Write a `rollout_plan` block into the registry YAML without touching anything else.

The block is replaced or appended inside the initiative's entry as text, so comments, key order
and flow style of the rest of the file stay as they were (a YAML round trip through a parser
would lose them). The result is checked before it is written: it must parse to the old
registry with only this initiative's `rollout_plan` changed, and pass registry validation.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

from sources.portfolio.registry import RegistryError, parse_registry


class _PlanDumper(yaml.SafeDumper):
    """Block style like the registry: nested lists indented, lists of ids on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _list(dumper: yaml.SafeDumper, items: list):
    flow = all(not isinstance(i, dict | list) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_PlanDumper.add_representer(list, _list)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def insert_plan(text: str, initiative_id: str, plan: dict, path: Path | str = "<registry>") -> str:
    lines = text.splitlines(keepends=True)
    pattern = re.compile(rf"^(\s*)- initiative_id:\s*['\"]?{re.escape(initiative_id)}['\"]?\s*$")
    starts = [n for n, line in enumerate(lines) if pattern.match(line.rstrip("\n"))]
    if len(starts) != 1:
        raise RegistryError(
            path,
            [
                f"initiative '{initiative_id}': found {len(starts)} block entries "
                "'- initiative_id: ...'; write the rollout_plan block by hand"
            ],
        )
    start = starts[0]
    dash = _indent(lines[start])
    key_indent = dash + 2
    end = start + 1  # one past the entry's last content line
    for n in range(start + 1, len(lines)):
        if _is_content(lines[n]):
            if _indent(lines[n]) <= dash:
                break
            end = n + 1
    body = lines[start:end]
    # Drop an existing rollout_plan block (the key and its more-indented lines).
    kept, skipping = [], False
    for line in body:
        if _is_content(line) and _indent(line) == key_indent:
            skipping = line.strip().startswith("rollout_plan:")
        if not skipping:
            kept.append(line)
    block = yaml.dump(
        {"rollout_plan": plan},
        Dumper=_PlanDumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    block_lines = [" " * key_indent + b + "\n" for b in block.splitlines()]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    new_text = "".join(lines[:start] + kept + block_lines + lines[end:])

    expected = copy.deepcopy(yaml.safe_load(text))
    for ini in expected["initiatives"]:
        if ini.get("initiative_id") == initiative_id:
            ini["rollout_plan"] = plan
    if yaml.safe_load(new_text) != expected:
        raise RegistryError(
            path,
            [
                f"initiative '{initiative_id}': the rollout_plan block could not be placed "
                "without changing other content; write it by hand"
            ],
        )
    parse_registry(new_text, path)  # raises with every problem, naming file/initiative/field
    return new_text


def write_plan(path: Path | str, initiative_id: str, plan: dict) -> None:
    path = Path(path)
    new_text = insert_plan(path.read_text(encoding="utf-8"), initiative_id, plan, path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
