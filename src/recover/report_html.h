// The report of one recovery (a drill now, a failover later) as a self-contained HTML page
// (doc/drills.md, "The HTML report"): a verdict, a summary table (per service its result,
// achieved RTO and RPO against the plan's with met/missed marks, files and bytes restored, the
// failing step), the recovery timeline as a Gantt chart (one row per service, grouped by wave;
// one bar per step that ran, coloured by phase, failed steps in red; each service's RTO target
// marked on its row), then per service its steps, sources, failure output and notes. Built from
// src/report's pieces only (report/html.h, report/svg_chart.h), which escape every text they are
// given: a plan's strings are shown, never run. No script, no URL: it works offline.
//
//   LB_ASSIGN_OR_RETURN(RecoveryReport report, RecoverServices(plan, options));
//   LB_RETURN_IF_ERROR(WriteFileDurably("drill.html", AsBytes(RecoveryReportHtml(report)), true));
//
// Pure: a function of the report (times are the report's own; nothing is read or measured).
// Any thread.
#pragma once

#include <string>

#include "recover/recover.h"

namespace lifeboat::recover {

// The page (UTF-8, "<!DOCTYPE html>" ... "</html>\n").
std::string RecoveryReportHtml(const RecoveryReport& report);

}  // namespace lifeboat::recover
