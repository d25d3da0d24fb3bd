# Turns bench/lifecycle.sh's results.tsv into the Markdown tables of its report.
#   awk -F'\t' -v snapshots=11 -v keep=3 -v increments=10 -f bench/report_lib.awk \
#       -f bench/lifecycle_report.awk results.tsv
# Input columns: tool step kind rc wall_s user_s sys_s peak_rss_kib repo_bytes verify
#   step: init, backup-01..backup-NN, replica-init, copy, check-read-data, forget-prune, check,
#         restore-latest (verification only, nothing timed)
#   kind: build, replica, target, sanity, verify
#   rc:   exit status, "skipped" (an earlier step failed) or "unavailable" (no such command)
# mib(), ratio() and ok() come from bench/report_lib.awk; rss[] holds KiB as recorded.

function status(tool, step,    r, v) {
  r = rc[tool, step]; v = verify[tool, step]
  if (r == "skipped") return "skipped (earlier step failed)"
  if (r == "unavailable") return "not run (no `copy` in this Lifeboat build)"
  if (r != "0") return "FAILED (exit " r ")" (v != "-" ? "; " v : "")
  return v != "-" ? "ok; " v : "ok"
}
function target_label(step) {
  if (step == "copy") return "`copy` of all " snapshots " snapshots into a replica"
  if (step == "check-read-data") return "`check --read-data`"
  return "`forget --keep-last " keep " --prune`"
}
function label(step) {
  if (step == "init") return "init"
  if (step == "backup-01") return "backup v1"
  if (step == "backups") return "backups v2-v" snapshots " (" increments ", summed)"
  if (step == "replica-init") return "replica init"
  if (step == "copy") return "copy (all " snapshots " snapshots)"
  if (step == "check-read-data") return "check --read-data"
  if (step == "forget-prune") return "forget --keep-last " keep " --prune"
  if (step == "check") return "check (after prune)"
  return step
}

{
  tool = $1; step = $2
  if (!(tool in seen)) { seen[tool] = 1; tools[++ntools] = tool }
  rc[tool, step] = $4; wall[tool, step] = $5; cpu[tool, step] = $6 + $7
  rss[tool, step] = $8; repo[tool, step] = $9; verify[tool, step] = $10
  if (step ~ /^backup-/ && step != "backup-01") {
    n = substr(step, 8) + 0
    if (n > nversions) nversions = n
    # The incremental backups are summed (wall, CPU), peak RSS is their maximum, the size is
    # the one after the last; the first failure (or skip) is the row's status.
    if (!((tool SUBSEP "backups") in rc)) {
      rc[tool, "backups"] = "0"; verify[tool, "backups"] = "-"
      wall[tool, "backups"] = 0; cpu[tool, "backups"] = 0; rss[tool, "backups"] = 0
    }
    if (rc[tool, "backups"] == "0") {
      if ($4 != "0") { rc[tool, "backups"] = $4; verify[tool, "backups"] = "at " step }
      wall[tool, "backups"] += $5; cpu[tool, "backups"] += $6 + $7
      if ($8 > rss[tool, "backups"]) rss[tool, "backups"] = $8
      repo[tool, "backups"] = $9
    }
  }
}

END {
  if (ntools == 0) { print "_No results._"; exit }
  nsteps = split("init backup-01 backups replica-init copy check-read-data forget-prune check", steps, " ")
  both = ("lifeboat" in seen) && ("restic" in seen)

  # --- targets -------------------------------------------------------------------------------
  print "## Targets (Lifeboat / restic)"
  print ""
  if (increments != 10)
    print "_The targets are stated for 10 incremental snapshots; this run used " increments "._\n"
  if (!both) {
    print "Not evaluated: only " tools[1] " was run."
  } else {
    print "| Target | Lifeboat | restic | Ratio | Met? |"
    print "|---|--:|--:|--:|---|"
    ntargets = split("copy:0.3 check-read-data:0.5 forget-prune:0.3", targets, " ")
    for (i = 1; i <= ntargets; i++) {
      split(targets[i], parts, ":"); step = parts[1]; limit = parts[2]
      for (measure = 1; measure <= 2; measure++) {
        name = target_label(step) ": " (measure == 1 ? "wall ≤ " limit "×" : "peak RSS ≤ 1×")
        bound = measure == 1 ? limit : 1
        for (t = 1; t <= 2; t++) {
          tool = t == 1 ? "lifeboat" : "restic"
          if (!ok(tool, step)) value[t] = status(tool, step)
          else if (measure == 1) value[t] = sprintf("%.2f s", wall[tool, step])
          else value[t] = mib(rss[tool, step] * 1024) " MiB"
        }
        if (!ok("lifeboat", step) || !ok("restic", step)) {
          printf "| %s | %s | %s | n/a | not measured |\n", name, value[1], value[2]
          continue
        }
        a = measure == 1 ? wall["lifeboat", step] : rss["lifeboat", step]
        b = measure == 1 ? wall["restic", step] : rss["restic", step]
        met = (b > 0 && a / b <= bound) ? "yes" : "**no**"
        printf "| %s | %s | %s | %s | %s |\n", name, value[1], value[2], ratio(a, b), met
      }
    }
  }

  # --- all steps -----------------------------------------------------------------------------
  print ""
  print "## Steps"
  print ""
  print "| Tool | Step | Wall (s) | CPU user+sys (s) | Peak RSS (MiB) | Repo size after (MiB) | Result |"
  print "|---|---|--:|--:|--:|--:|---|"
  for (t = 1; t <= ntools; t++) {
    tool = tools[t]
    for (s = 1; s <= nsteps; s++) {
      step = steps[s]
      if (!((tool SUBSEP step) in rc)) continue
      if (rc[tool, step] == "skipped" || rc[tool, step] == "unavailable") {
        printf "| %s | %s | | | | | %s |\n", tool, label(step), status(tool, step)
        continue
      }
      printf "| %s | %s | %.2f | %.2f | %s | %s | %s |\n", tool, label(step), wall[tool, step],
             cpu[tool, step], mib(rss[tool, step] * 1024), mib(repo[tool, step]),
             status(tool, step)
    }
  }
  print ""
  print "Build steps (init, backups) and replica init are context; the targets concern copy,"
  print "`check --read-data` and `forget --prune`; the last `check` is a sanity check."

  # --- ratios --------------------------------------------------------------------------------
  if (both) {
    print ""
    print "Lifeboat / restic (below 1 means Lifeboat is faster / smaller):"
    print ""
    print "| Step | Wall | CPU | Peak RSS | Repo size |"
    print "|---|--:|--:|--:|--:|"
    for (s = 1; s <= nsteps; s++) {
      step = steps[s]
      if (!ok("lifeboat", step) || !ok("restic", step)) {
        printf "| %s | n/a | n/a | n/a | n/a |\n", label(step)
        continue
      }
      printf "| %s | %s | %s | %s | %s |\n", label(step),
             ratio(wall["lifeboat", step], wall["restic", step]),
             ratio(cpu["lifeboat", step], cpu["restic", step]),
             ratio(rss["lifeboat", step], rss["restic", step]),
             ratio(repo["lifeboat", step], repo["restic", step])
    }
  }

  # --- backups one by one --------------------------------------------------------------------
  print ""
  print "## Backups one by one (context)"
  print ""
  header = "| Version |"; rule = "|--:|"
  for (t = 1; t <= ntools; t++) {
    header = header " " tools[t] " wall (s) | " tools[t] " repo (MiB) |"; rule = rule "--:|--:|"
  }
  print header
  print rule
  for (v = 1; v <= nversions; v++) {
    step = sprintf("backup-%02d", v)
    line = "| " v " |"
    for (t = 1; t <= ntools; t++) {
      tool = tools[t]
      if (ok(tool, step))
        line = line sprintf(" %.2f | %s |", wall[tool, step], mib(repo[tool, step]))
      else
        line = line " " (((tool SUBSEP step) in rc) ? status(tool, step) : "") " | |"
    }
    print line
  }

  # --- checks --------------------------------------------------------------------------------
  print ""
  print "## Checks (not timed)"
  print ""
  for (t = 1; t <= ntools; t++) {
    tool = tools[t]
    printf "- %s: copy: %s; after forget --prune: %s; check after prune: %s", tool,
           ((tool SUBSEP "copy") in rc) ? status(tool, "copy") : "not run",
           ((tool SUBSEP "forget-prune") in rc) ? status(tool, "forget-prune") : "not run",
           ((tool SUBSEP "check") in rc) ? status(tool, "check") : "not run"
    if ((tool SUBSEP "restore-latest") in verify)
      printf "; restore of the latest snapshot vs the live tree (`diff -r`): %s",
             verify[tool, "restore-latest"]
    print ""
  }
}
