# Table helpers shared by bench/report.awk (bench/run.sh) and bench/lifecycle_report.awk
# (bench/lifecycle.sh). Load it before the report:
#   awk -F'\t' -v ds=image -f bench/report_lib.awk -f bench/report.awk work/results.tsv
# It only defines functions. ok() reads the report's global array rc[tool, step], the step's
# exit status as recorded ("0" = success, else a code, "skipped" or "unavailable").

# Bytes as MiB with one decimal.
function mib(bytes) { return sprintf("%.1f", bytes / 1048576) }
# a / b with two decimals, or "n/a" when b is not positive or a is empty.
function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "n/a" }
# Whether `tool` ran `step` and it exited 0.
function ok(tool, step) { return ((tool SUBSEP step) in rc) && rc[tool, step] == "0" }
