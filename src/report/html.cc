#include "report/html.h"

#include <algorithm>

namespace lifeboat::report {
namespace {

// One stylesheet for every report: readable on screen and on paper, no web fonts (nothing is
// fetched), colours that survive a black-and-white printer through their labels.
constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f24; background: #fff; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #1b1f24; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
p.muted, td.muted, span.muted { color: #59636e; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #d1d9e0; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.good, p.good { color: #116329; font-weight: 600; }
td.bad, p.bad { color: #a40e26; font-weight: 600; }
td.warn { color: #7d4e00; font-weight: 600; }
ul.findings { padding-left: 1.2rem; }
ul.findings li { color: #7d4e00; margin: .2rem 0; }
ul.ok li { color: #116329; }
pre { background: #f6f8fa; border: 1px solid #d1d9e0; padding: .5rem .7rem; font-size: .85rem;
      white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24rem; overflow: auto; }
figure { margin: .8rem 0 1.2rem; }
figcaption { font-size: .85rem; color: #59636e; }
svg { max-width: 100%; height: auto; font-family: inherit; }
pre.commands { padding: .6rem .8rem; line-height: 1.35; white-space: pre; overflow-wrap: normal;
               max-height: none; overflow-x: auto; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: auto; } }
)css";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<Cell>>& rows) {
  std::string out = "<table>\n<thead><tr>";
  for (const std::string& h : headers) out += "<th>" + HtmlEscape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const std::vector<Cell>& row : rows) {
    out += "<tr>";
    for (const Cell& c : row) {
      out += c.css_class.empty() ? "<td>" : "<td class=\"" + HtmlEscape(c.css_class) + "\">";
      out += HtmlEscape(c.text) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::Heading(int level, std::string_view text) {
  const std::string tag = "h" + std::to_string(std::clamp(level, 1, 4));
  body_ += "<" + tag + ">" + HtmlEscape(text) + "</" + tag + ">\n";
}

void HtmlPage::Preformatted(std::string_view text, std::string_view css_class) {
  body_ += css_class.empty() ? std::string("<pre>")
                             : "<pre class=\"" + HtmlEscape(css_class) + "\">";
  body_ += "<code>" + HtmlEscape(text) + "</code></pre>\n";
}

void HtmlPage::Paragraph(std::string_view text, std::string_view css_class) {
  body_ += css_class.empty() ? std::string("<p>")
                             : "<p class=\"" + HtmlEscape(css_class) + "\">";
  body_ += HtmlEscape(text) + "</p>\n";
}

void HtmlPage::List(const std::vector<std::string>& items, std::string_view css_class) {
  body_ += css_class.empty() ? std::string("<ul>\n")
                             : "<ul class=\"" + HtmlEscape(css_class) + "\">\n";
  for (const std::string& item : items) body_ += "<li>" + HtmlEscape(item) + "</li>\n";
  body_ += "</ul>\n";
}

std::string HtmlPage::Render() const {
  const std::string refresh =
      refresh_seconds_ > 0
          ? "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds_) + "\">\n"
          : "";
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
         refresh + "<title>" + HtmlEscape(title_) + "</title>\n<style>" + kStyle + "</style>\n"
         "</head>\n<body>\n<h1>" + HtmlEscape(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
}

}  // namespace lifeboat::report
