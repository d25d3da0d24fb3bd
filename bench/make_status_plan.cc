// The dataset of bench/status.sh: a plan of SERVICES services x 3 local sites whose repositories
// hold SNAPSHOTS snapshots in all, plus run records, as a year of `lifeboat run` would leave.
//
//   lifeboat_bench_make_status_plan DIR SERVICES SNAPSHOTS [KDF_N]
//
// Writes DIR/lifeboat.yaml, DIR/pw and the site repositories DIR/site-{a,b,c}. Each site gets one
// real backup of a tiny directory (a valid tree); the other snapshots are that snapshot with the
// service, source and time of a plan run (the newest of each service 5 minutes before now, so
// every RPO holds), written through the library (Repository::SaveSnapshot): a `backup` per
// snapshot would take hours. Each site also gets 20 run-record objects of 50 records (one per
// service). Unlike the other dataset helpers this one links the engine: status reads what only
// the engine can write.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "archiver/archiver.h"
#include "engine/open.h"
#include "repository/keys.h"
#include "runlog/run_records.h"

using namespace lifeboat;

namespace {

int Fail(const std::string& what, const Status& st) {
  std::cerr << "make_status_plan: " << what << ": " << st.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " DIR SERVICES SNAPSHOTS [KDF_N]\n";
    return 2;
  }
  const std::string dir = std::filesystem::absolute(argv[1]);
  const int services = std::stoi(argv[2]);
  const int snapshots = std::stoi(argv[3]);
  InitOptions init;
  if (argc > 4) init.kdf.n = std::stoull(argv[4]);
  const char* sites[] = {"site-a", "site-b", "site-c"};
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/pw") << "bench-password\n";
  std::ofstream(dir + "/data/file") << "hello\n";

  std::ofstream plan(dir + "/lifeboat.yaml");
  plan << "version: 1\nsites:\n"
       << "  site-a: {repository: " << dir << "/site-a, password_file: " << dir << "/pw}\n"
       << "  site-b: {repository: " << dir << "/site-b, password_file: " << dir
       << "/pw, role: secondary, media: usb}\n"
       << "  site-c: {repository: " << dir << "/site-c, password_file: " << dir
       << "/pw, role: offsite, media: nas}\n"
       << "services:\n";
  for (int s = 0; s < services; ++s) {
    plan << "  svc-" << s << ":\n    tier: " << s % 4 << "\n    rpo: 1h\n"
         << "    schedule: \"" << s % 60 << " * * * *\"\n"
         << "    sources: [{name: files, paths: [" << dir << "/data]}]\n"
         << "    sites: [site-a, site-b, site-c]\n";
  }
  plan.close();

  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t hour = int64_t{3600} * 1'000'000'000;
  int made = 0;
  for (int site = 0; site < 3; ++site) {
    OpenOptions o;
    o.location = dir + "/" + sites[site];
    o.password = PasswordSource::File(dir + "/pw");
    Result<std::unique_ptr<Repository>> repo = CreateRepository(o, init);
    if (!repo.ok()) return Fail(o.location, repo.status());
    Repository& r = **repo;
    BackupOptions b;
    b.paths = {dir + "/data"};
    b.host = "bench";
    Result<BackupResult> first = RunBackup(r, b);
    if (!first.ok()) return Fail("backup", first.status());
    Snapshot base = first->snapshot;
    // This site's share of the snapshots, spread over the services, newest 5 minutes old.
    const int share = snapshots / 3 + (site < snapshots % 3 ? 1 : 0);
    for (int i = 0; i < share; ++i) {
      Snapshot s = base;
      const int service = i % services;
      const int age_steps = i / services;  // 0 for the newest of each service
      s.service = "svc-" + std::to_string(service);
      s.source = SnapshotSource();
      s.source->name = "files";
      s.source->kind = "paths";
      s.source->restore.method = "restore";
      s.time_ns = now - hour / 12 - int64_t{age_steps} * hour;
      Result<Id> id = r.SaveSnapshot(s);
      if (!id.ok()) return Fail("snapshot", id.status());
      ++made;
    }
    for (int run = 0; run < 20; ++run) {
      const std::string run_id = NewRunId();
      std::vector<RunRecord> records;
      for (int service = 0; service < services; ++service) {
        RunRecord rec;
        rec.id = NewRunRecordId();
        rec.run_id = run_id;
        rec.service = "svc-" + std::to_string(service);
        rec.site = sites[site];
        rec.source = RunSource{"files", "paths"};
        rec.start_ns = now - hour / 12 - int64_t{19 - run} * hour;
        rec.end_ns = rec.start_ns + 3'000'000'000;
        rec.host = "bench";
        rec.program_version = "lifeboat bench";
        records.push_back(std::move(rec));
      }
      Result<Id> id = WriteRunRecords(r, records, {});
      if (!id.ok()) return Fail("run records", id.status());
    }
  }
  std::cout << "made " << made << " snapshots of " << services << " services at 3 sites in "
            << dir << "\n";
  return 0;
}
