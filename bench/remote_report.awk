# Turns bench/remote.sh's results.tsv into the Markdown tables of its report, for one dataset.
#   awk -F'\t' -v ds=kernel -f bench/report_lib.awk -f bench/remote_report.awk results.tsv
# Input columns: dataset site tool step rc wall_s user_s sys_s peak_rss_kib repo_bytes verify
#                server_cpu_s
# (rc is "skipped" for steps not run after an earlier failure). The tool of the report_lib
# helpers (ok, rc[]) is "site/tool" here, e.g. ok("s3/lifeboat", "restore").

function key(site, tool) { return site "/" tool }
function status(k, step,    r, v) {
  r = rc[k, step]; v = verify[k, step]
  if (r == "skipped") return "skipped (earlier step failed)"
  if (r != "0") return "FAILED (exit " r ")"
  return v != "-" ? "restore check: " v : "ok"
}
function label(step) {
  if (step == "backup-v1") return "first backup"
  if (step == "backup-v2") return "changed backup"
  if (step == "backup-v2-again") return "unchanged backup"
  return step
}
function value(k, step, what) {
  if (!ok(k, step)) return ((k SUBSEP step) in rc) ? status(k, step) : "not run"
  return what == "wall" ? sprintf("%.2f s", wall[k, step]) : mib(rss[k, step]) " MiB"
}
# One row of the targets table: `a` measured against `b` (keys site/tool) at `step`, bound `limit`.
function target(name, a, b, step, what, limit,    x, y) {
  if (!((a SUBSEP step) in rc) && !((b SUBSEP step) in rc)) return
  if (!ok(a, step) || !ok(b, step)) {
    printf "| %s | %s | %s | n/a | not measured |\n", name, value(a, step, what), value(b, step, what)
    return
  }
  x = what == "wall" ? wall[a, step] : rss[a, step]
  y = what == "wall" ? wall[b, step] : rss[b, step]
  printf "| %s | %s | %s | %s | %s |\n", name, value(a, step, what), value(b, step, what),
         ratio(x, y), (y > 0 && x / y <= limit) ? "yes" : "**no**"
}
# The step where Lifeboat's peak RSS is highest relative to restic's at `site`.
function worst_rss_step(site,    s, step, r, best, best_step) {
  best = -1; best_step = ""
  for (s = 1; s <= nsteps; s++) {
    step = steps[s]
    if (!ok(key(site, "lifeboat"), step) || !ok(key(site, "restic"), step)) continue
    if (rss[key(site, "restic"), step] <= 0) continue
    r = rss[key(site, "lifeboat"), step] / rss[key(site, "restic"), step]
    if (r > best) { best = r; best_step = step }
  }
  return best_step
}

$1 == ds {
  site = $2; tool = $3; step = $4; k = key(site, tool)
  if (!(site in site_seen)) { site_seen[site] = 1; sites[++nsites] = site }
  if (!(k in seen)) { seen[k] = 1; keys[++nkeys] = k; site_of[k] = site; tool_of[k] = tool }
  if (!(step in step_seen)) { step_seen[step] = 1; steps[++nsteps] = step }
  rc[k, step] = $5; wall[k, step] = $6; cpu[k, step] = $7 + $8
  rss[k, step] = $9 * 1024; repo[k, step] = $10; verify[k, step] = $11; server[k, step] = $12
}

END {
  if (nkeys == 0) { print "_No results for this dataset._"; exit }

  # --- targets -------------------------------------------------------------------------------
  print "Targets (issue 13), Lifeboat against restic on the same server, or against Lifeboat's own"
  print "backup to a local directory:"
  print ""
  print "| Target | Lifeboat | compared with | Ratio | Met? |"
  print "|---|--:|--:|--:|---|"
  lb_local = key("local", "lifeboat")
  for (i = 1; i <= nsites; i++) {
    site = sites[i]; lb = key(site, "lifeboat"); rs = key(site, "restic")
    if (site == "s3" || site == "sftp" || site == "rest") {
      target(site ": first backup wall ≤ 0.5× restic", lb, rs, "backup-v1", "wall", 0.5)
      if (site == "s3")
        target(site ": unchanged backup wall ≤ 0.5× restic", lb, rs, "backup-v2-again", "wall", 0.5)
      target(site ": restore wall ≤ 0.5× restic", lb, rs, "restore", "wall", 0.5)
      if (site == "s3") {
        w = worst_rss_step(site)
        if (w != "")
          target(site ": peak RSS ≤ 1× restic (worst step: " label(w) ")", lb, rs, w, "rss", 1)
        target(site ": first backup wall ≤ 1.3× Lifeboat to a local directory", lb, lb_local,
               "backup-v1", "wall", 1.3)
      }
    } else if (site == "multi") {
      target("--also-to two local replicas: first backup wall ≤ 1.2× one local site", lb,
             lb_local, "backup-v1", "wall", 1.2)
      target("--also-to two local replicas: changed backup wall ≤ 1.2× one local site", lb,
             lb_local, "backup-v2", "wall", 1.2)
    }
  }

  # --- all steps -----------------------------------------------------------------------------
  print ""
  print "| Site | Tool | Step | Wall (s) | CPU user+sys (s) | Server CPU (s) | Peak RSS (MiB) | Repo size (MiB) | Result |"
  print "|---|---|---|--:|--:|--:|--:|--:|---|"
  for (i = 1; i <= nkeys; i++) {
    k = keys[i]
    for (s = 1; s <= nsteps; s++) {
      step = steps[s]
      if (!((k SUBSEP step) in rc)) continue
      if (rc[k, step] == "skipped") {
        printf "| %s | %s | %s | | | | | | %s |\n", site_of[k], tool_of[k], step, status(k, step)
        continue
      }
      printf "| %s | %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n", site_of[k], tool_of[k], step,
             wall[k, step], cpu[k, step], (site_of[k] ~ /^(s3|sftp|rest)$/) ? server[k, step] : "-",
             mib(rss[k, step]), mib(repo[k, step]), status(k, step)
    }
  }

  # --- ratios --------------------------------------------------------------------------------
  print ""
  print "Lifeboat / restic on the same site (below 1 means Lifeboat is faster / smaller):"
  print ""
  print "| Site | Step | Wall | CPU | Server CPU | Peak RSS | Repo size |"
  print "|---|---|--:|--:|--:|--:|--:|"
  for (i = 1; i <= nsites; i++) {
    site = sites[i]; lb = key(site, "lifeboat"); rs = key(site, "restic")
    if (!(lb in seen) || !(rs in seen)) continue
    for (s = 1; s <= nsteps; s++) {
      step = steps[s]
      if (!ok(lb, step) || !ok(rs, step)) {
        printf "| %s | %s | n/a | n/a | n/a | n/a | n/a |\n", site, step
        continue
      }
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", site, step,
             ratio(wall[lb, step], wall[rs, step]), ratio(cpu[lb, step], cpu[rs, step]),
             site == "local" ? "-" : ratio(server[lb, step], server[rs, step]),
             ratio(rss[lb, step], rss[rs, step]), ratio(repo[lb, step], repo[rs, step])
    }
  }

  # --- Lifeboat: each site against its local directory ----------------------------------------
  if (lb_local in seen) {
    print ""
    print "Lifeboat at each site / Lifeboat to a local directory (wall):"
    print ""
    header = "| Step |"; rule = "|---|"
    for (i = 1; i <= nsites; i++) {
      if (sites[i] == "local" || !(key(sites[i], "lifeboat") in seen)) continue
      header = header " " sites[i] " |"; rule = rule "--:|"
    }
    print header
    print rule
    for (s = 1; s <= nsteps; s++) {
      step = steps[s]
      line = "| " step " |"
      for (i = 1; i <= nsites; i++) {
        lb = key(sites[i], "lifeboat")
        if (sites[i] == "local" || !(lb in seen)) continue
        line = line " " ((ok(lb, step) && ok(lb_local, step)) ? ratio(wall[lb, step], wall[lb_local, step]) : "n/a") " |"
      }
      print line
    }
  }
}
