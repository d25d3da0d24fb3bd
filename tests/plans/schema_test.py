#!/usr/bin/env python3
"""The JSON Schema of `lifeboat plan schema` against real plans (python3-jsonschema, python3-yaml).

  tests/plans/schema_test.py build/release/tests/lifeboat_testing

Checks that the schema is a valid draft 2020-12 schema, that the complete example of doc/plan.md
(read as JSON, the way an editor reads YAML) satisfies it, that `plan show --json` of that example
is JSON, and that broken plans whose fault is structural (an unknown key, a wrong type, an inline
secret, an unknown enum word) do not. Exits 0 when every check passed, 1 otherwise.
"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok else ": " + detail))
    if not ok:
        FAILED += 1


def doc_example():
    doc = open(os.path.join(ROOT, "doc", "plan.md"), encoding="utf-8").read()
    begin = "<!-- plan-example-begin -->\n```yaml\n"
    start = doc.index(begin) + len(begin)
    return doc[start:doc.index("```\n<!-- plan-example-end -->")]


def main():
    if len(sys.argv) != 2:
        print("usage: schema_test.py path/to/lifeboat", file=sys.stderr)
        return 2
    lifeboat = sys.argv[1]
    out = subprocess.run([lifeboat, "plan", "schema"], capture_output=True, text=True, check=False)
    check("plan schema exits 0", out.returncode == 0, out.stderr)
    schema = json.loads(out.stdout)
    cls = jsonschema.Draft202012Validator
    try:
        cls.check_schema(schema)
        check("the schema is a valid draft 2020-12 schema", True)
    except jsonschema.SchemaError as e:
        check("the schema is a valid draft 2020-12 schema", False, str(e))
    validator = cls(schema)
    example = yaml.safe_load(doc_example())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example)]
    check("the doc example satisfies the schema", not errors, "; ".join(errors[:5]))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lifeboat.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(doc_example())
        shown = subprocess.run([lifeboat, "--json", "plan", "show", "--plan", path],
                               capture_output=True, text=True, check=False)
        check("plan show --json of the example exits 0", shown.returncode == 0, shown.stderr)
        try:
            normalised = json.loads(shown.stdout)
            check("plan show --json prints the services in file order",
                  list(normalised["services"]) == ["billing-db", "shop", "shares"])
        except (ValueError, KeyError) as e:
            check("plan show --json prints JSON", False, str(e))

    # Structural faults the schema must catch as well (the parser's messages are checked by
    # src/plan/parse_test.cc). Not boolean_yes: PyYAML reads YAML 1.1, where `yes` is true.
    for name in ["unknown_key_service", "unknown_key_top", "tier_quoted", "tier_out_of_range",
                 "inline_password", "two_passwords", "inline_env_value", "unknown_event",
                 "unknown_channel_type", "slack_url_inline", "source_two_kinds", "source_no_kind",
                 "version_2", "version_missing", "retention_unknown_key",
                 "service_not_mapping", "missing_required", "bad_duration",
                 "drill_every_bad", "drill_every_typo", "price_negative", "price_quoted",
                 "currency_list"]:
        text = open(os.path.join(HERE, "broken", name + ".yaml"), encoding="utf-8").read()
        data = yaml.safe_load(text)
        check(f"the schema refuses broken/{name}.yaml", not validator.is_valid(data))
    print("schema_test: " + ("all passed" if FAILED == 0 else f"{FAILED} failed"))
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
