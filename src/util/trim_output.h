// Trimming what a program printed to a bounded size that keeps what matters: its start (what ran)
// and its end (where errors usually are), cut at UTF-8 character boundaries, around a line saying
// how much was left out. The one trimmer of Lifeboat: recover steps and checks (their report), and
// drill records (runlog/drill_records.h, what is stored).
//
//   std::string shown = TrimOutput(output);            // at most ~4 KiB
//   OutputTail tail;  tail.Append(chunk); ...;  tail.Text() == TrimOutput(everything appended)
//
// Pure; OutputTail is a plain value (one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lifeboat {

// The default limit: 4 KiB.
inline constexpr size_t kTrimmedOutputBytes = 4096;

// `text` when it has at most `limit` bytes; else its first limit/4 bytes and its last limit/2
// bytes around a line "\n[... N bytes left out ...]\n" (N counts every byte not kept), each cut
// moved to a UTF-8 character boundary (the head ends before a character it would split, the tail
// starts after one). For limit >= 256 the result has at most `limit` bytes. Idempotent.
std::string TrimOutput(std::string_view text, size_t limit = kTrimmedOutputBytes);

// TrimOutput of a stream: keeps the first and the last bytes of what is appended, so that a
// server's endless log costs at most ~limit bytes. Text() equals TrimOutput of all of it.
class OutputTail {
 public:
  explicit OutputTail(size_t limit = kTrimmedOutputBytes) : limit_(limit) {}
  void Append(std::string_view data);
  std::string Text() const;

 private:
  const size_t limit_;
  // Everything while it fits in limit_; then the first limit_/4 + 4 bytes (room to find the
  // character boundary) and the last limit_/2 bytes.
  std::string head_, tail_;
  uint64_t total_ = 0;
};

}  // namespace lifeboat
