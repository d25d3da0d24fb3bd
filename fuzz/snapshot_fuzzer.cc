// Fuzzes snapshots (doc/repository-format.md §9): the JSON decoder DecodeSnapshot.
//
// Modes (byte 0 % 2):
//   0 plain: snapshot JSON -> DecodeSnapshot
//   1 raw:   a stored (sealed) snapshot object -> Aead::Open with the test key -> DecodeSnapshot
// Invariants: an accepted snapshot encodes without throwing, and decode(encode(s)) encodes to the
// same bytes again (times survive FormatTime/ParseTime); a filter built from the snapshot's own
// host, tags and paths matches it.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repository/snapshot.h"

namespace lifeboat {
namespace {

void FuzzPlain(ByteView json) {
  auto s = DecodeSnapshot(json);
  if (!s.ok()) {
    FUZZ_CHECK(s.status().IsCorruption());
    return;
  }
  Bytes once = EncodeSnapshot(*s);
  auto back = DecodeSnapshot(once);
  if (!back.ok()) fuzz::Fail(back.status().message().c_str(), __FILE__, __LINE__);
  FUZZ_CHECK(back->time_ns == s->time_ns);
  FUZZ_CHECK(back->summary.backup_start_ns == s->summary.backup_start_ns);
  FUZZ_CHECK(back->summary.backup_end_ns == s->summary.backup_end_ns);
  FUZZ_CHECK(EncodeSnapshot(*back) == once);

  SnapshotFilter filter;
  filter.hosts = {s->hostname};
  filter.paths = s->paths;
  for (const auto& t : s->tags)
    if (!t.empty() && t.find(',') == std::string::npos) filter.tags.push_back(t);
  FUZZ_CHECK(filter.Matches(*s));
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzPlain, fuzz::OpenFixedThen<FuzzPlain>});
}
