"""Write the rule packs' JSON Schema to regions/schema.json (``make schema``)."""

from __future__ import annotations

import json
from pathlib import Path

from baohan.rulepacks.models import RulePack

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "regions" / "schema.json"


def schema_json() -> str:
    return json.dumps(RulePack.model_json_schema(), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    SCHEMA_PATH.write_text(schema_json(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
