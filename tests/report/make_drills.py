#!/usr/bin/python3
"""Writes the record objects (doc/repository-format.md section 12.1, by hand, as an independent
writer would) of a drill history for tests/report/drill_history_page_test.sh:

  make_drills.py OUTDIR NOW_SECONDS

Thirty-one weekly drills of billing-db (wave 0) and shop (wave 1, after billing-db) from the
offsite site, the newest two days before NOW; in the newest, billing-db's postgres_restore step
takes 50% longer (the injected regression). One billing-db drill from the local site (the
twelfth week) failed, with a script tag in its error and in a step's name. One JSON file per drill
invocation per site: OUTDIR/offsite-NN.json, OUTDIR/local-NN.json.
"""
import hashlib
import json
import os
import sys
import time

NS = 1_000_000_000


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // NS)) + ".%09dZ" % (ns % NS)


def hexid(*parts):
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def step(name, kind, start, seconds, result="passed", output=""):
    s = {"name": name, "kind": kind, "start": rfc3339(start),
         "end": rfc3339(start + int(seconds * NS)), "result": result}
    if output:
        s["output"] = output
    return s, start + int(seconds * NS)


def drill(i, service, site, start, steps_spec, rto_target, rpo_target, wave, error="",
          first_step=None):
    t = first_step or start  # a service of a later wave waits for the earlier ones
    steps = []
    for spec in steps_spec:
        s, t = step(*spec[:2], t, *spec[2:])
        steps.append(s)
    passed = all(s["result"] == "passed" for s in steps)
    record = {
        "id": hexid("record", i, service, site)[:32],
        "drill_id": hexid("drill", i, site)[:32],
        "service": service, "site": site,
        "start": rfc3339(start), "end": rfc3339(t), "wave": wave,
        "snapshots": [{"source": "db", "kind": "postgres", "snapshot": hexid("snap", i, service),
                       "time": rfc3339(start - 240 * NS)}],
        "achieved_rpo_ns": 240 * NS,
        "rto_target_ns": rto_target, "rpo_target_ns": rpo_target,
        "bytes_restored": 734003200, "files_restored": 1,
        "result": "passed" if passed else "failed",
        "steps": steps, "host": "dr1", "program_version": "lifeboat 0.1.0",
        "tools": [{"name": "pg_restore", "version": "pg_restore (PostgreSQL) 15.14"}],
    }
    if passed:
        record["achieved_rto_ns"] = t - start
    if error:
        record["error"] = error
    return record


def main():
    out, now = sys.argv[1], int(sys.argv[2]) * NS
    os.makedirs(out, exist_ok=True)
    week = 7 * 86400 * NS
    jitter = [0.0, 1.5, -2.0, 2.5, -1.0, 0.5, -2.5, 1.0, 2.0, -1.5]
    for i in range(31):
        start = now - 2 * 86400 * NS - (30 - i) * week
        recover = 60.0 + jitter[i % 10]
        if i == 30:
            recover *= 1.5  # the injected regression: postgres_restore 50% slower
        db = drill(i, "billing-db", "offsite", start,
                   [("restore billing-db", "restore", 20),
                    ("postgres_restore", "recover", recover, "passed", "pg_restore: done\n"),
                    ("sql select count(*) > 0 from invoices", "verify", 5, "passed", "t\n")],
                   3600 * NS, 900 * NS, 0)
        shop = drill(i, "shop", "offsite", start,
                     [("restore shop", "restore", 10),
                      ("shop --data ... --port $LIFEBOAT_PORT_HTTP", "recover", 15),
                      ("http /health", "verify", 2, "passed", "200 ok\n")],
                     7200 * NS, 3600 * NS, 1,
                     first_step=start + int((25 + recover) * NS))  # billing-db verified
        with open(os.path.join(out, "offsite-%02d.json" % i), "w", encoding="utf-8") as f:
            json.dump({"version": 2, "records": [], "drills": [db, shop]}, f)
    # The failed drill from the local site.
    start = now - 2 * 86400 * NS - 18 * week + 3600 * NS
    bad = drill(99, "billing-db", "local", start,
                [("restore billing-db", "restore", 18),
                 ("postgres_restore", "recover", 61),
                 ("<b>sql</b> select count(*) > 0 from invoices", "verify", 3, "failed",
                  "f\n<script>console.error(\"injected from an output\")</script>\n")],
                3600 * NS, 900 * NS, 0,
                error="verify check failed: <script>console.error(\"injected from an error\")</script>")
    with open(os.path.join(out, "local-12.json"), "w", encoding="utf-8") as f:
        json.dump({"version": 2, "records": [], "drills": [bad]}, f)


if __name__ == "__main__":
    main()
