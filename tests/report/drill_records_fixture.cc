// drill_records_fixture: stores record objects written by hand (the JSON of
// doc/repository-format.md §12.1) in a repository, sealed as Lifeboat seals them, so that the
// shell tests can give `drill history` a history of thirty drills without running thirty drills.
// Test-only; each object is decoded first (a fixture that does not follow the format fails here,
// not later in the command under test).
//
//   drill_records_fixture REPOSITORY PASSWORD_FILE OBJECT.json...
//
// Exits 0 when every object was stored, 1 otherwise (with a message on stderr), 2 on bad usage.
#include <fstream>
#include <iostream>
#include <sstream>

#include "engine/open.h"
#include "runlog/drill_records.h"
#include "runlog/run_records.h"

int main(int argc, char** argv) {
  using namespace lifeboat;  // NOLINT
  if (argc < 4) {
    std::cerr << "usage: drill_records_fixture REPOSITORY PASSWORD_FILE OBJECT.json...\n";
    return 2;
  }
  OpenOptions open;
  open.location = argv[1];
  open.password = PasswordSource::File(argv[2]);
  open.lock.reset();
  open.load_index = false;
  Result<std::unique_ptr<Repository>> repo = OpenRepositoryUnlocked(open);
  if (!repo.ok()) {
    std::cerr << "drill_records_fixture: " << repo.status().ToString() << "\n";
    return 1;
  }
  for (int i = 3; i < argc; ++i) {
    std::ifstream in(argv[i]);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    const ByteView plain(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    if (Result<std::vector<RunRecord>> d = DecodeRunRecords(plain); !in || !d.ok()) {
      std::cerr << "drill_records_fixture: " << argv[i] << ": "
                << (in ? d.status().ToString() : std::string("cannot be read")) << "\n";
      return 1;
    }
    Result<Id> id = (*repo)->SaveUnpacked(ObjectType::kRun, plain);
    if (!id.ok()) {
      std::cerr << "drill_records_fixture: " << argv[i] << ": " << id.status().ToString() << "\n";
      return 1;
    }
  }
  return 0;
}
