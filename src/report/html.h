// The HTML of Lifeboat's reports (drill history, drill report, BIA, runbook): escaping, and a
// self-contained single-file page (inline CSS, no script, no external resource: it works offline,
// from a USB stick in a data centre without network, and can be mailed as one file). Every string
// that comes from a plan or a record goes through HtmlEscape (directly, or through Table and the
// charts of svg_chart.h, which escape what they are given): a service named
// `<script>alert(1)</script>` is shown as text, never run.
//
//   HtmlPage page("Drill history");
//   page.Heading(2, "billing-db");
//   page.Add(Table({"date", "result"}, {{Cell("2026-12-06"), Cell("passed", "good")}}));
//   std::string html = page.Render();
//
// Pure: strings in, strings out. Any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::report {

// `text` with & < > " ' replaced by entities, so it is safe as element content and as a quoted
// attribute value in HTML and in SVG. Invalid UTF-8 is kept byte for byte (the page declares
// UTF-8; a browser shows U+FFFD for it).
std::string HtmlEscape(std::string_view text);

// One cell of a Table: its text (escaped by Table) and an optional CSS class ("good", "bad",
// "warn", "num", "muted").
struct Cell {
  Cell(std::string text = "", std::string css_class = "")
      : text(std::move(text)), css_class(std::move(css_class)) {}
  std::string text;
  std::string css_class;
};

// A <table> with a header row; every text is escaped.
std::string Table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<Cell>>& rows);

// A page: <!DOCTYPE html>, UTF-8, a viewport for phones, the title, one inline <style>, and the
// body parts in the order they were added. No <script> and no URL of any kind is ever emitted.
class HtmlPage {
 public:
  explicit HtmlPage(std::string title);
  // Trusted HTML made by this module or svg_chart.h (never text from a plan or a record).
  void Add(std::string html) { body_ += std::move(html); }
  // Escaped text in an element.
  void Heading(int level, std::string_view text);     // <h1>..<h4>
  void Paragraph(std::string_view text, std::string_view css_class = "");
  // A list of lines, each escaped, in a <ul> of the given class ("findings").
  void List(const std::vector<std::string>& items, std::string_view css_class = "");
  // Reloads the page every `seconds` (a <meta http-equiv="refresh"> naming no URL: the same
  // address again; no script). For pages served live (the daemon's dashboard); 0: never.
  void SetAutoRefresh(int seconds) { refresh_seconds_ = seconds; }
  // Escaped text kept as written in <pre class="..."><code>: a step's output (long lines wrap,
  // tall text scrolls), or with class "commands" the runbook's shell commands (never wrapped).
  void Preformatted(std::string_view text, std::string_view css_class = "");
  std::string Render() const;

 private:
  std::string title_;
  std::string body_;
  int refresh_seconds_ = 0;
};

}  // namespace lifeboat::report
