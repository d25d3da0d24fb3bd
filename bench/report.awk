# Turns bench/run.sh's results.tsv into Markdown tables for one dataset.
#   awk -F'\t' -v ds=image [-v floor_v1=CPU_S -v floor_v2=CPU_S -v cores=2] \
#       -f bench/report_lib.awk -f bench/report.awk work/results.tsv
# Input columns: dataset tool step rc wall_s user_s sys_s peak_rss_kib repo_bytes verify
# (rc is "skipped" for steps not run after an earlier failure).
# mib(), ratio() and ok() come from bench/report_lib.awk.

$1 == ds {
  tool = $2; step = $3
  if (!(tool in seen)) { seen[tool] = 1; tools[++ntools] = tool }
  if (!(step in step_seen)) { step_seen[step] = 1; steps[++nsteps] = step }
  rc[tool, step] = $4; wall[tool, step] = $5; cpu[tool, step] = $6 + $7
  rss[tool, step] = $8 * 1024; repo[tool, step] = $9; verify[tool, step] = $10
}

END {
  if (ntools == 0) { print "_No results for this dataset._"; exit }

  print "| Tool | Step | Wall (s) | CPU user+sys (s) | Peak RSS (MiB) | Repo size (MiB) | Result |"
  print "|---|---|--:|--:|--:|--:|---|"
  for (t = 1; t <= ntools; t++) {
    for (s = 1; s <= nsteps; s++) {
      tool = tools[t]; step = steps[s]
      if (!((tool SUBSEP step) in rc)) continue
      if (rc[tool, step] == "skipped") {
        printf "| %s | %s | | | | | skipped (earlier step failed) |\n", tool, step
        continue
      }
      result = rc[tool, step] == "0" ? "ok" : "FAILED (exit " rc[tool, step] ")"
      if (result == "ok" && verify[tool, step] != "-") result = "restore check: " verify[tool, step]
      printf "| %s | %s | %.2f | %.2f | %s | %s | %s |\n", tool, step, wall[tool, step],
             cpu[tool, step], mib(rss[tool, step]), mib(repo[tool, step]), result
    }
  }

  print ""
  print "Data added by the backup of v2 (repository size after backup-v2 minus after backup-v1):"
  print ""
  print "| Tool | Repo after v1 (MiB) | Repo after v2 (MiB) | Added by v2 (MiB) |"
  print "|---|--:|--:|--:|"
  for (t = 1; t <= ntools; t++) {
    tool = tools[t]
    if (!ok(tool, "backup-v1") || !ok(tool, "backup-v2")) {
      printf "| %s | | | n/a |\n", tool
      continue
    }
    added[tool] = repo[tool, "backup-v2"] - repo[tool, "backup-v1"]
    printf "| %s | %s | %s | %.2f |\n", tool, mib(repo[tool, "backup-v1"]),
           mib(repo[tool, "backup-v2"]), added[tool] / 1048576
  }

  if (floor_v1 != "") {
    print ""
    print "CPU floor of Lifeboat's design (bench/floor_bench: read, chunk, id, compress, seal and the"
    print "mandatory open-decompress-re-hash check of the files a backup must read, on one thread;"
    print "without directory walking and metadata, packs and their SHA-256 names, index or writes);"
    print "its CPU time over " cores " cores is a lower bound on the wall time of any implementation:"
    print ""
    print "| Step | Floor CPU (s) | Floor wall on " cores " cores (s) | Floor / restic wall | Lifeboat / floor wall |"
    print "|---|--:|--:|--:|--:|"
    floor_cpu["backup-v1"] = floor_v1; floor_cpu["backup-v2"] = floor_v2
    for (f = 1; f <= 2; f++) {
      step = "backup-v" f
      if (floor_cpu[step] == "") continue
      best = floor_cpu[step] / cores
      printf "| %s | %.2f | %.2f | %s | %s |\n", step, floor_cpu[step], best,
             ok("restic", step) ? ratio(best, wall["restic", step]) : "n/a",
             ok("lifeboat", step) ? ratio(wall["lifeboat", step], best) : "n/a"
    }
  }

  print ""
  if (!("lifeboat" in seen) || !("restic" in seen)) {
    print "Lifeboat / restic ratios: n/a (" (("lifeboat" in seen) ? "restic" : "lifeboat") \
          " was not run on this dataset)."
    exit
  }
  print "Lifeboat / restic (below 1 means Lifeboat is faster / smaller):"
  print ""
  print "| Step | Wall | CPU | Peak RSS | Repo size |"
  print "|---|--:|--:|--:|--:|"
  for (s = 1; s <= nsteps; s++) {
    step = steps[s]
    if (!ok("lifeboat", step) || !ok("restic", step)) {
      printf "| %s | n/a | n/a | n/a | n/a |\n", step
      continue
    }
    printf "| %s | %s | %s | %s | %s |\n", step,
           ratio(wall["lifeboat", step], wall["restic", step]),
           ratio(cpu["lifeboat", step], cpu["restic", step]),
           ratio(rss["lifeboat", step], rss["restic", step]),
           ratio(repo["lifeboat", step], repo["restic", step])
  }
  printf "| data added by v2 | | | | %s |\n", \
         (("lifeboat" in added) && ("restic" in added)) ? ratio(added["lifeboat"], added["restic"]) : "n/a"
}
