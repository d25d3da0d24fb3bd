#include "util/trim_output.h"

#include <algorithm>

namespace lifeboat {
namespace {

bool Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The trimmed form of a text of `total` bytes whose first bytes are `head` (at least limit/4 + 1
// of them) and whose last bytes are `tail` (at least limit/2).
std::string Join(std::string_view head, std::string_view tail, uint64_t total, size_t limit) {
  size_t h = std::min(limit / 4, head.size());
  while (h > 0 && h < head.size() && Continuation(head[h])) --h;  // before a whole character
  size_t t = tail.size() - std::min(limit / 2, tail.size());
  while (t < tail.size() && Continuation(tail[t])) ++t;  // at a whole character
  const uint64_t left_out = total - h - (tail.size() - t);
  return std::string(head.substr(0, h)) + "\n[... " + std::to_string(left_out) +
         " bytes left out ...]\n" + std::string(tail.substr(t));
}

}  // namespace

std::string TrimOutput(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return Join(text, text, text.size(), limit);
}

void OutputTail::Append(std::string_view data) {
  total_ += data.size();
  if (total_ <= limit_) {  // still everything
    head_.append(data);
    return;
  }
  const size_t head_limit = limit_ / 4 + 4, tail_limit = limit_ / 2;
  if (tail_.empty() && head_.size() > head_limit) {  // it just outgrew the limit
    tail_ = head_.substr(head_.size() - std::min(head_.size(), tail_limit));
    head_.resize(head_limit);
  }
  if (head_.size() < head_limit) {
    const size_t n = std::min(head_limit - head_.size(), data.size());
    head_.append(data.substr(0, n));
    data.remove_prefix(n);
  }
  if (data.size() >= tail_limit) {
    tail_.assign(data.substr(data.size() - tail_limit));
  } else {
    tail_.append(data);
    if (tail_.size() > tail_limit) tail_.erase(0, tail_.size() - tail_limit);
  }
}

std::string OutputTail::Text() const {
  if (total_ <= limit_) return head_;
  return Join(head_, tail_, total_, limit_);
}

}  // namespace lifeboat
