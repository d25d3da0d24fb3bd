// Fuzzes the config object (doc/repository-format.md §4): CheckConfigHeader and DecodeConfig
// with the fixed test key.
//
// Modes (byte 0 % 2):
//   0 raw:    a stored config object -> CheckConfigHeader, DecodeConfig
//   1 sealed: config JSON, sealed with the test key behind a valid "LIFEBOAT" + u32 1 header
//             -> DecodeConfig
// Invariants: DecodeConfig accepts only what CheckConfigHeader accepts; an accepted config has
// chunker parameters a Chunker can be built from (Repository::Open does that) and survives
// EncodeConfig/DecodeConfig unchanged.
#include <cstddef>
#include <cstdint>

#include "chunker/chunker.h"
#include "fuzz/fuzz_common.h"
#include "repository/repository.h"

namespace lifeboat {
namespace {

void FuzzStored(ByteView stored) {
  Status header = CheckConfigHeader(stored);
  auto config = DecodeConfig(stored, fuzz::FixedAead());
  if (!header.ok()) FUZZ_CHECK(!config.ok());
  if (!config.ok()) return;
  FUZZ_CHECK(Chunker::ValidateParams(config->chunker).ok());
  static const GearTable* gear = new GearTable(GearTable::FromSecret(fuzz::FixedKey(0x81).view()));
  Chunker chunker(*gear, config->chunker);
  static const Bytes* zeros = new Bytes(4096, 0);
  FUZZ_CHECK(chunker.NextCut(*zeros, /*eof=*/true) <= zeros->size());

  auto encoded = EncodeConfig(*config, fuzz::FixedAead());
  FUZZ_CHECK(encoded.ok());
  auto back = DecodeConfig(*encoded, fuzz::FixedAead());
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(ConfigToJson(*back) == ConfigToJson(*config));
}

void FuzzSealed(ByteView json) {
  Bytes stored = {'L', 'I', 'F', 'E', 'B', 'O', 'A', 'T', 1, 0, 0, 0};
  FUZZ_CHECK(fuzz::FixedAead().SealAppend(json, &stored).ok());
  FuzzStored(stored);
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzStored, FuzzSealed});
}
