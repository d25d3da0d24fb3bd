#!/usr/bin/env bash
# `lifeboat plan validate|show|schema` from the outside (doc/plan.md): where the plan is found
# (--plan, LIFEBOAT_PLAN, ./lifeboat.yaml), the exact output and exit code of validate on a clean
# plan, a plan with warnings and broken plans, --json, show --json without resolving any secret,
# schema, and order (the recovery waves, doc/drills.md).
#
#   tests/plans/cli_plan_test.sh build/release/tests/lifeboat_testing
#
# Prints every check (ok or FAIL). Exits 0 when every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh"
lb_test_init plan
unset LIFEBOAT_PLAN
cd "$WORK" || exit 1

# The complete example of doc/plan.md.
sed -n '/<!-- plan-example-begin -->/,/<!-- plan-example-end -->/p' "$HERE/../../doc/plan.md" |
  sed '1,2d;$d' | sed '$d' >example.yaml
check "the doc example was extracted" grep -q '^version: 1$' example.yaml

# --- a clean plan, found as ./lifeboat.yaml
cp example.yaml lifeboat.yaml
expect_rc "validate ./lifeboat.yaml" 0 lb plan validate
check_eq "a clean plan says so" "lifeboat.yaml: valid, no warnings" "$(cat "$WORK/out")"

# --- warnings: exit 0, each printed with its position and hint
sed 's/^    rto: 2h$/    rto: 9h/' example.yaml >warn.yaml
expect_rc "validate a plan with a warning" 0 lb plan validate --plan warn.yaml
check_eq "the warning and the summary" \
  "warn.yaml:$(grep -n '^    rto: 9h$' warn.yaml | cut -d: -f1):10: warning: the RTO of service \"shop\" (9h) is longer than its maximum tolerable downtime (8h)
  hint: a recovery that takes the whole RTO would exceed the MTD: lower rto or raise mtd
warn.yaml: 0 errors, 1 warning" "$(cat "$WORK/out")"
expect_rc "validate -q prints nothing for warnings" 0 lb -q plan validate --plan warn.yaml
check_eq "quiet: no output" "" "$(cat "$WORK/out")"

# --- broken plans: exit 2, exactly the expected errors (warnings, which only a plan that parsed
# can have, are left out here: parse_test and validate_test check those) and the summary
without_warnings() { awk '/: warning: /{skip=1; next} /^  hint: / && skip {skip=0; next} {skip=0; print}' "$1"; }
for name in unknown_key_service dependency_cycle inline_password bad_timezone unknown_site \
    drill_schedule_bad_cron price_negative; do
  cp "$HERE/broken/$name.yaml" .
  expect_rc "validate broken/$name.yaml" 2 lb plan validate --plan "$name.yaml"
  errors="$(grep -c ': error: ' "$HERE/broken/$name.expected")"
  warnings="$(grep -c ': warning: ' "$WORK/out")"
  summary="$name.yaml: $errors error$([ "$errors" = 1 ] || echo s), $warnings warning$([ "$warnings" = 1 ] || echo s)"
  check_eq "broken/$name.yaml: exact errors and summary" \
    "$(cat "$HERE/broken/$name.expected"; echo "$summary")" "$(without_warnings "$WORK/out")"
done

# --- where the plan is found: LIFEBOAT_PLAN, then --plan over it
LIFEBOAT_PLAN="$WORK/unknown_site.yaml" expect_rc "LIFEBOAT_PLAN is used" 2 lb plan validate
check_has "it validated the file of LIFEBOAT_PLAN" "$WORK/out" "unknown_site.yaml:"
LIFEBOAT_PLAN="$WORK/unknown_site.yaml" expect_rc "--plan wins over LIFEBOAT_PLAN" 0 \
  lb plan validate --plan example.yaml
expect_rc "a missing plan file" 1 lb plan validate --plan missing.yaml
check_has "it says which file" "$WORK/err" "reading the plan missing.yaml"
if [ ! -e /etc/lifeboat/lifeboat.yaml ]; then
  mkdir -p empty && cd empty && expect_rc "no plan anywhere" 1 lb plan validate
  cd "$WORK" || exit 1
  check_has "it names the default paths" "$WORK/err" "neither ./lifeboat.yaml nor /etc/lifeboat/lifeboat.yaml"
fi

# --- --json
expect_rc "validate --json of a broken plan" 2 lb --json plan validate --plan inline_password.yaml
check "it is one JSON object" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["valid"] is False and d["errors"]==1 and d["diagnostics"][0]["line"]==5 else 1)' "$WORK/out"

# --- show --json: normalised, and no secret is ever read
echo "topsecret-plan-password" >site.pass
printf '%s\n' 'version: 1' 'sites:' '  a:' '    repository: /srv/a' "    password_file: $WORK/site.pass" \
  '    env: {AWS_SECRET_ACCESS_KEY_env: SECRET_FROM_ENV}' 'services:' '  db:' '    tier: 3' \
  '    rpo: 4h' '    sources: [{paths: [/srv/db]}]' '    sites: [a]' >secret.yaml
SECRET_FROM_ENV="topsecret-env-value" expect_rc "show --json" 0 lb --json plan show --plan secret.yaml
check "show --json is JSON with seconds and a derived schedule" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); s=d["services"]["db"]
sys.exit(0 if s["rpo_seconds"]==14400 and s["schedule"]["derived"] and d["sites"]["a"]["password"]=={"file":sys.argv[2]} else 1)' \
  "$WORK/out" "$WORK/site.pass"
check_lacks "show --json never resolves the password" "$WORK/out" "topsecret"
check_has "show prints its warnings on stderr" "$WORK/err" "warning:"
expect_rc "show (text)" 0 lb plan show --plan secret.yaml
check_has "show names the service" "$WORK/out" "service db: tier 3, rpo 4h"
check_lacks "show never resolves the password" "$WORK/out" "topsecret"
expect_rc "show refuses an invalid plan" 2 lb plan show --plan inline_password.yaml
check_has "saying nothing runs on it" "$WORK/err" "nothing runs on an invalid plan"

# --- schema
expect_rc "schema" 0 lb plan schema
check "schema is JSON of draft 2020-12" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["$schema"].endswith("2020-12/schema") else 1)' "$WORK/out"
expect_rc "plan without a subcommand" 2 lb plan

# --- order: the recovery waves of the doc example
expect_rc "order" 0 lb plan order --plan example.yaml
check_eq "the waves, each service after what it depends on" "wave 1:
  billing-db (tier 0)
  shares (tier 3)
wave 2:
  shop (tier 1) after billing-db" "$(cat "$WORK/out")"
expect_rc "order of one service" 0 lb --json plan order --plan example.yaml shop
check "its dependency is pulled in, as JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); w=d["waves"]; sys.exit(0 if d["message_type"]=="plan_order" and [[s["service"] for s in x["services"]] for x in w]==[["billing-db"],["shop"]] and w[0]["services"][0]["selected"] is False and w[0]["services"][0]["needed_by"]==["shop"] else 1)' "$WORK/out"
expect_rc "order of an unknown service" 2 lb plan order --plan example.yaml nope
check_has "names the plan's services" "$WORK/err" "its services: billing-db, shop, shares"

lb_test_finish
