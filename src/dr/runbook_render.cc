// RunbookMarkdown and RunbookHtml (runbook.h): one document model, two renderings. A command
// block starts with its marker line in both, so that the same blocks can be found in either.
#include <algorithm>

#include "dr/runbook.h"
#include "report/html.h"

namespace lifeboat::dr {

namespace {

constexpr const char* kMarkerPrefix = "# lifeboat-runbook: ";

std::string CommandText(const RunbookBlock& b) {
  return std::string(kMarkerPrefix) + b.marker + "\n" + b.text;
}

// Plan text in Markdown prose: & < > as entities (no renderer takes it for HTML), line breaks as
// blanks (a line starting with # or - would change the structure).
std::string MdText(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\n':
      case '\r': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string MdCell(std::string_view s) {
  std::string out;
  for (char c : MdText(s)) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

// A fence longer than any run of backticks in the text, so the text cannot close it.
std::string Fence(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

// Escaped HTML with `code` spans (pairs of backticks) as <code>; an unpaired backtick stays.
std::string HtmlInline(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find('`', i);
    size_t close = open == std::string_view::npos ? open : s.find('`', open + 1);
    if (close == std::string_view::npos) {
      out += report::HtmlEscape(s.substr(i));
      break;
    }
    out += report::HtmlEscape(s.substr(i, open - i));
    out += "<code>" + report::HtmlEscape(s.substr(open + 1, close - open - 1)) + "</code>";
    i = close + 1;
  }
  return out;
}

}  // namespace

std::string RunbookMarkdown(const Runbook& book) {
  std::string out;
  for (const RunbookBlock& b : book.blocks) {
    switch (b.kind) {
      case RunbookBlock::Kind::kHeading:
        out += std::string(std::clamp(b.level, 1, 6), '#') + " " + MdText(b.text) + "\n\n";
        break;
      case RunbookBlock::Kind::kParagraph:
        out += MdText(b.text) + "\n\n";
        break;
      case RunbookBlock::Kind::kList:
        for (const std::string& item : b.items) out += "- " + MdText(item) + "\n";
        out += "\n";
        break;
      case RunbookBlock::Kind::kTable: {
        out += "|";
        for (const std::string& h : b.headers) out += " " + MdCell(h) + " |";
        out += "\n|";
        for (size_t i = 0; i < b.headers.size(); ++i) out += "---|";
        out += "\n";
        for (const std::vector<std::string>& row : b.rows) {
          out += "|";
          for (const std::string& c : row) out += " " + MdCell(c) + " |";
          out += "\n";
        }
        out += "\n";
        break;
      }
      case RunbookBlock::Kind::kCommands: {
        const std::string text = CommandText(b);
        const std::string fence = Fence(text);
        out += fence + "sh\n" + text + (text.ends_with("\n") ? "" : "\n") + fence + "\n\n";
        break;
      }
    }
  }
  return out;
}

std::string RunbookHtml(const Runbook& book) {
  report::HtmlPage page(book.title);
  for (const RunbookBlock& b : book.blocks) {
    switch (b.kind) {
      case RunbookBlock::Kind::kHeading:
        page.Heading(b.level, b.text);
        break;
      case RunbookBlock::Kind::kParagraph:
        page.Add("<p>" + HtmlInline(b.text) + "</p>\n");
        break;
      case RunbookBlock::Kind::kList: {
        std::string html = "<ul>\n";
        for (const std::string& item : b.items) html += "<li>" + HtmlInline(item) + "</li>\n";
        page.Add(html + "</ul>\n");
        break;
      }
      case RunbookBlock::Kind::kTable: {
        std::vector<std::vector<report::Cell>> rows;
        for (const std::vector<std::string>& row : b.rows) {
          rows.emplace_back();
          for (const std::string& c : row) rows.back().emplace_back(c);
        }
        page.Add(report::Table(b.headers, rows));
        break;
      }
      case RunbookBlock::Kind::kCommands:
        page.Preformatted(CommandText(b), "commands");
        break;
    }
  }
  return page.Render();
}

}  // namespace lifeboat::dr
