// Tests of the SFTP backend against OpenSSH's sshd on 127.0.0.1 (tests/servers/sshd.sh; run
// through tests/servers/run_with.sh sshd -- ...): the conformance suite, the ssh config alias,
// host key and login refusals, a connection killed under the backend, leftover temporary files,
// and the throughput of one large object.
#include "backend/sftp/sftp_backend.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "backend/conformance/backend_conformance.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

constexpr const char* kVariables[] = {
    "LIFEBOAT_TEST_SFTP_HOST",         "LIFEBOAT_TEST_SFTP_PORT",
    "LIFEBOAT_TEST_SFTP_USER",         "LIFEBOAT_TEST_SFTP_IDENTITY",
    "LIFEBOAT_TEST_SFTP_KNOWN_HOSTS",  "LIFEBOAT_TEST_SFTP_CHANGED_KNOWN_HOSTS",
    "LIFEBOAT_TEST_SFTP_OTHER_HOST_KEY", "LIFEBOAT_TEST_SFTP_WRONG_IDENTITY",
    "LIFEBOAT_TEST_SFTP_CONFIG",       "LIFEBOAT_TEST_SFTP_ROOT",
    "LIFEBOAT_TEST_SFTP_PIDFILE"};

// Fails every test when the server's variables are missing (never skips).
class SftpServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : kVariables) {
      ASSERT_NE(std::getenv(v), nullptr)
          << v << " is not set: run this test beside sshd with "
          << "`bash tests/servers/run_with.sh sshd -- " << "<this binary>` (ctest does)";
    }
  }
};
::testing::Environment* const kServer =
    ::testing::AddGlobalTestEnvironment(new SftpServerEnvironment);

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// A repository path under LIFEBOAT_TEST_SFTP_ROOT that no other test uses.
std::string FreshPath(std::string_view what) {
  static std::atomic<int> counter{0};
  static const uint64_t run = std::random_device{}();
  return Env("LIFEBOAT_TEST_SFTP_ROOT") + "/" + std::string(what) + "-" + std::to_string(run % 100000) +
         "-" + std::to_string(counter++);
}

// Location sftp://USER@HOST:PORT//PATH with the test's key and known_hosts.
BackendOpenArgs ArgsFor(const std::string& path, bool create, int connections = 4) {
  BackendOpenArgs args;
  args.address = "//" + Env("LIFEBOAT_TEST_SFTP_USER") + "@" + Env("LIFEBOAT_TEST_SFTP_HOST") +
                 ":" + Env("LIFEBOAT_TEST_SFTP_PORT") + "/" + path;
  args.location = "sftp:" + args.address;
  args.options.Set("sftp.identity", Env("LIFEBOAT_TEST_SFTP_IDENTITY"));
  args.options.Set("sftp.known-hosts", Env("LIFEBOAT_TEST_SFTP_KNOWN_HOSTS"));
  args.options.Set("sftp.connections", std::to_string(connections));
  args.create = create;
  return args;
}

std::unique_ptr<Backend> MustOpen(const BackendOpenArgs& args) {
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  EXPECT_TRUE(be.ok()) << be.status().ToString();
  return be.ok() ? std::move(be).value() : nullptr;
}

std::string Id(int i) {
  std::mt19937_64 rng(7000 + i);
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (int k = 0; k < 64; ++k) hex += digits[rng() % 16];
  return hex;
}

Bytes Pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::string Remote(const std::string& root, const ObjectHandle& h) {
  if (h.type == ObjectType::kConfig) return root + "/config";
  if (h.type == ObjectType::kPack) return root + "/data/" + h.name.substr(0, 2) + "/" + h.name;
  const char* dir = h.type == ObjectType::kKey        ? "keys"
                    : h.type == ObjectType::kIndex    ? "index"
                    : h.type == ObjectType::kSnapshot ? "snapshots"
                                                      : "locks";
  return root + "/" + dir + "/" + h.name;
}

// ---------------------------------------------------------------------------------------------
// The conformance suite, on a fresh directory of sshd's machine per test.

ConformanceBackend SftpOnSshd() {
  return {"SftpOnSshd", [] {
            const std::string path = FreshPath("conformance");
            ConformanceInstance instance;
            instance.backend = MustOpen(ArgsFor(path, /*create=*/true));
            instance.keep_alive = std::shared_ptr<void>(nullptr, [path](void*) {
              std::error_code ec;
              fs::remove_all(path, ec);
            });
            // What an interrupted Save leaves: the temporary file beside the object (sshd runs on
            // this machine, so it is written directly).
            instance.leave_interrupted_save = [path](const ObjectHandle& h) {
              const std::string target = Remote(path, h);
              const std::string dir = target.substr(0, target.find_last_of('/'));
              std::ofstream(dir + "/." + target.substr(dir.size() + 1) + ".tmp-0123456789abcdef")
                  << "partial";
              return Status::Ok();
            };
            return instance;
          }};
}

INSTANTIATE_TEST_SUITE_P(Sftp, BackendConformanceTest, ::testing::Values(SftpOnSshd()),
                         ConformanceTestName);

// ---------------------------------------------------------------------------------------------
// Layout, config alias, refusals.

TEST(SftpBackendTest, CreateMakesTheLocalLayoutAndOpenFindsIt) {
  const std::string path = FreshPath("layout") + "/nested";
  {
    std::unique_ptr<Backend> be = MustOpen(ArgsFor(path, /*create=*/true));
    ASSERT_NE(be, nullptr);
    EXPECT_EQ(be->Location(), "sftp:" + ArgsFor(path, true).address);
    EXPECT_EQ(be->Hints().concurrent_requests, 4);
    for (const char* d : {"keys", "data", "index", "snapshots", "locks", "runs", "data/00", "data/ff"}) {
      EXPECT_TRUE(fs::is_directory(path + "/" + d)) << d;
    }
    // No config yet: opening is NoRepository.
    Result<std::unique_ptr<Backend>> opened = OpenSftpBackend(ArgsFor(path, false));
    EXPECT_EQ(opened.status().code(), StatusCode::kNoRepository) << opened.status().ToString();
    ASSERT_TRUE(be->Save({ObjectType::kConfig, ""}, AsBytes("cfg")).ok());
    ASSERT_TRUE(be->Save({ObjectType::kPack, Id(1)}, AsBytes("pack")).ok());
    EXPECT_TRUE(fs::is_regular_file(Remote(path, {ObjectType::kPack, Id(1)})));
  }
  std::unique_ptr<Backend> be = MustOpen(ArgsFor(path, /*create=*/false));
  ASSERT_NE(be, nullptr);
  Result<Bytes> cfg = be->Load({ObjectType::kConfig, ""}, 0, 0);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(AsString(*cfg), "cfg");
  // Creating over an existing repository is refused.
  EXPECT_EQ(OpenSftpBackend(ArgsFor(path, true)).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(OpenSftpBackend(ArgsFor(FreshPath("missing"), false)).status().code(),
            StatusCode::kNoRepository);
}

TEST(SftpBackendTest, SshConfigAliasGivesHostPortUserKeyAndKnownHosts) {
  const std::string path = FreshPath("alias");
  BackendOpenArgs args;
  args.address = "lifeboat-test:" + path;
  args.location = "sftp:" + args.address;
  args.options.Set("sftp.config", Env("LIFEBOAT_TEST_SFTP_CONFIG"));
  args.create = true;
  std::unique_ptr<Backend> be = MustOpen(args);
  ASSERT_NE(be, nullptr);
  EXPECT_EQ(be->Location(), "sftp:lifeboat-test:" + path);
  ASSERT_TRUE(be->Save({ObjectType::kSnapshot, Id(2)}, AsBytes("snap")).ok());
  EXPECT_TRUE(fs::is_regular_file(path + "/snapshots/" + Id(2)));
  // The URL form with the alias and one more slash: absolute as well.
  args.address = "//lifeboat-test/" + path;
  args.create = false;
  Result<std::unique_ptr<Backend>> missing_config = OpenSftpBackend(args);
  EXPECT_EQ(missing_config.status().code(), StatusCode::kNoRepository);

  args.options.Set("sftp.config", FreshPath("no-such-config"));
  EXPECT_EQ(OpenSftpBackend(args).status().code(), StatusCode::kInvalidArgument);
}

// "SHA256:..." of a public key file, as ssh-keygen prints it.
std::string KeygenFingerprint(const std::string& pub) {
  std::string out;
  FILE* p = ::popen(("ssh-keygen -l -E sha256 -f " + pub).c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  const size_t start = out.find("SHA256:");
  if (start == std::string::npos) return "";
  return out.substr(start, out.find(' ', start) - start);
}

TEST(SftpBackendTest, UnknownHostKeyIsPermissionDeniedWithFingerprintAndNothingIsWritten) {
  const std::string path = FreshPath("unknown-host");
  const std::string empty = FreshPath("empty_known_hosts");
  std::ofstream(empty) << "";
  BackendOpenArgs args = ArgsFor(path, /*create=*/true);
  args.options.Set("sftp.known-hosts", empty);
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kPermissionDenied) << be.status().ToString();
  const std::string m = be.status().message();
  const std::string host_fp =
      KeygenFingerprint(fs::path(Env("LIFEBOAT_TEST_SFTP_IDENTITY")).parent_path() /
                        "host_ed25519.pub");
  ASSERT_FALSE(host_fp.empty());
  EXPECT_NE(m.find("is not known"), std::string::npos) << m;
  EXPECT_NE(m.find(host_fp), std::string::npos) << m;
  EXPECT_NE(m.find("ssh-keyscan -p " + Env("LIFEBOAT_TEST_SFTP_PORT") + " 127.0.0.1 >> " + empty),
            std::string::npos)
      << m;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(fs::file_size(empty), 0u);  // never accepted silently
}

TEST(SftpBackendTest, ChangedHostKeyIsPermissionDeniedNamingBothKeysAndNothingIsWritten) {
  const std::string path = FreshPath("changed-host");
  BackendOpenArgs args = ArgsFor(path, /*create=*/true);
  args.options.Set("sftp.known-hosts", Env("LIFEBOAT_TEST_SFTP_CHANGED_KNOWN_HOSTS"));
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kPermissionDenied) << be.status().ToString();
  const std::string m = be.status().message();
  const std::string now_fp =
      KeygenFingerprint(fs::path(Env("LIFEBOAT_TEST_SFTP_IDENTITY")).parent_path() /
                        "host_ed25519.pub");
  const std::string listed_fp = KeygenFingerprint(Env("LIFEBOAT_TEST_SFTP_OTHER_HOST_KEY") + ".pub");
  ASSERT_FALSE(now_fp.empty());
  ASSERT_FALSE(listed_fp.empty());
  EXPECT_NE(m.find("HAS CHANGED"), std::string::npos) << m;
  EXPECT_NE(m.find("man-in-the-middle"), std::string::npos) << m;
  EXPECT_NE(m.find("now presents ssh-ed25519 " + now_fp), std::string::npos) << m;
  EXPECT_NE(m.find("lists ssh-ed25519 " + listed_fp), std::string::npos) << m;
  EXPECT_NE(m.find("ssh-keygen -R '[127.0.0.1]:" + Env("LIFEBOAT_TEST_SFTP_PORT") + "'"),
            std::string::npos)
      << m;
  EXPECT_FALSE(fs::exists(path));
}

TEST(SftpBackendTest, WrongIdentityIsPermissionDeniedNamingTheKey) {
  const std::string path = FreshPath("wrong-key");
  BackendOpenArgs args = ArgsFor(path, /*create=*/true);
  args.options.Set("sftp.identity", Env("LIFEBOAT_TEST_SFTP_WRONG_IDENTITY"));
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kPermissionDenied) << be.status().ToString();
  EXPECT_NE(be.status().message().find(Env("LIFEBOAT_TEST_SFTP_WRONG_IDENTITY")),
            std::string::npos)
      << be.status().message();
  EXPECT_NE(be.status().message().find(Env("LIFEBOAT_TEST_SFTP_USER") + "@127.0.0.1"),
            std::string::npos)
      << be.status().message();
  EXPECT_FALSE(fs::exists(path));

  args.options.Set("sftp.identity", FreshPath("no-such-key"));
  EXPECT_EQ(OpenSftpBackend(args).status().code(), StatusCode::kInvalidArgument);
}

TEST(SftpBackendTest, UnknownOptionAndBadAddressAreInvalidArgument) {
  BackendOpenArgs args = ArgsFor(FreshPath("options"), true);
  args.options.Set("sftp.identty", "x");
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(be.status().message().find("did you mean sftp.identity?"), std::string::npos);
  args = ArgsFor("x", true);
  args.address = "no-colon";
  EXPECT_EQ(OpenSftpBackend(args).status().code(), StatusCode::kInvalidArgument);
}

TEST(SftpBackendTest, UnreachableServerIsUnavailable) {
  BackendOpenArgs args = ArgsFor(FreshPath("unreachable"), true);
  // A port nothing listens on (sshd's own port + 0 is taken; find a closed one by binding).
  args.address = "//127.0.0.1:1//tmp/x";
  Result<std::unique_ptr<Backend>> be = OpenSftpBackend(args);
  EXPECT_EQ(be.status().code(), StatusCode::kUnavailable) << be.status().ToString();
}

TEST(SftpBackendTest, CancelledContextStopsBeforeConnecting) {
  std::atomic<bool> cancel{true};
  BackendOpenArgs args = ArgsFor(FreshPath("cancelled"), true);
  args.context = Context().WithCancel(&cancel);
  EXPECT_EQ(OpenSftpBackend(args).status().code(), StatusCode::kCancelled);
}

// ---------------------------------------------------------------------------------------------
// Connections dying, leftovers.

// The pids of every descendant of `pid` (sshd's per-connection processes).
std::vector<pid_t> Descendants(pid_t pid) {
  std::vector<pid_t> out;
  std::vector<pid_t> frontier{pid};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      char state;
      int ppid = 0;
      if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
      if (ppid == parent) {
        out.push_back(std::stoi(name));
        frontier.push_back(std::stoi(name));
      }
    }
  }
  return out;
}

void KillSshSessions() {
  const pid_t sshd = std::stoi(
      [] {
        std::ifstream in(Env("LIFEBOAT_TEST_SFTP_PIDFILE"));
        std::string s;
        in >> s;
        return s;
      }());
  std::vector<pid_t> sessions = Descendants(sshd);
  ASSERT_FALSE(sessions.empty()) << "no ssh session under sshd " << sshd;
  for (pid_t p : sessions) ::kill(p, SIGKILL);
  // Wait until sshd has reaped them (the connections are then closed).
  for (int i = 0; i < 100 && !Descendants(sshd).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(SftpBackendTest, KilledConnectionIsUnavailableAndTheNextCallReconnects) {
  const std::string path = FreshPath("killed");
  std::unique_ptr<Backend> be = MustOpen(ArgsFor(path, /*create=*/true, /*connections=*/1));
  ASSERT_NE(be, nullptr);
  const ObjectHandle h{ObjectType::kIndex, Id(3)};
  ASSERT_TRUE(be->Save(h, AsBytes("index")).ok());

  KillSshSessions();
  Result<ObjectInfo> lost = be->Stat(h);
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable) << lost.status().ToString();
  Result<ObjectInfo> again = be->Stat(h);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->size, 5u);

  // The same in the middle of a pipelined load of a larger object, and of a save.
  const ObjectHandle big{ObjectType::kPack, Id(4)};
  const Bytes data = Pattern(8 << 20, 4);
  ASSERT_TRUE(be->Save(big, data).ok());
  KillSshSessions();
  EXPECT_EQ(be->Load(big, 0, 0).status().code(), StatusCode::kUnavailable);
  Result<Bytes> loaded = be->Load(big, 0, 0);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(*loaded == data);
  KillSshSessions();
  EXPECT_EQ(be->Save({ObjectType::kPack, Id(5)}, data).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(be->Save({ObjectType::kPack, Id(5)}, data).ok());
}

TEST(SftpBackendTest, LeftoverTemporaryFilesAreNeverListed) {
  const std::string path = FreshPath("leftover");
  std::unique_ptr<Backend> be = MustOpen(ArgsFor(path, /*create=*/true));
  ASSERT_NE(be, nullptr);
  const std::string name = Id(6);
  std::ofstream(path + "/data/" + name.substr(0, 2) + "/." + name + ".tmp-0011223344556677")
      << "partial";
  std::ofstream(path + "/keys/." + name + ".tmp-0011223344556677") << "partial";
  std::ofstream(path + "/data/" + name.substr(0, 2) + "/" + name + ".tmp") << "partial";
  for (ObjectType type : {ObjectType::kPack, ObjectType::kKey}) {
    int listed = 0;
    ASSERT_TRUE(be->List(type, "", [&](const ObjectInfo&) {
                    ++listed;
                    return Status::Ok();
                  }).ok());
    EXPECT_EQ(listed, 0);
  }
  // A successful Save leaves no temporary file behind.
  ASSERT_TRUE(be->Save({ObjectType::kKey, Id(7)}, AsBytes("key")).ok());
  std::set<std::string> in_keys;
  for (const auto& e : fs::directory_iterator(path + "/keys")) in_keys.insert(e.path().filename());
  EXPECT_EQ(in_keys, (std::set<std::string>{"." + name + ".tmp-0011223344556677", Id(7)}));
}

// ---------------------------------------------------------------------------------------------
// Throughput of one 64 MiB object over loopback, with 1 connection and with 4 objects in
// parallel on 4 connections (printed; the check is only that the bytes survive).

TEST(SftpBackendTest, Throughput64MiB) {
  const Bytes data = Pattern(64 << 20, 9);
  for (int connections : {1, 4}) {
    const std::string path = FreshPath("throughput");
    std::unique_ptr<Backend> be = MustOpen(ArgsFor(path, /*create=*/true, connections));
    ASSERT_NE(be, nullptr);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < connections; ++i) {
      threads.emplace_back([&, i] {
        if (!be->Save({ObjectType::kPack, Id(100 + i)}, data).ok()) ++failures;
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    const double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < connections; ++i) {
      threads.emplace_back([&, i] {
        Result<Bytes> got = be->Load({ObjectType::kPack, Id(100 + i)}, 0, 0);
        if (!got.ok() || !(*got == data)) ++failures;
      });
    }
    for (auto& t : threads) t.join();
    const double down =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(failures, 0);
    const double mib = 64.0 * connections;
    std::printf("sftp throughput, %d x 64 MiB on %d connection(s): upload %.0f MiB/s, download "
                "%.0f MiB/s\n",
                connections, connections, mib / up, mib / down);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
}

}  // namespace
}  // namespace lifeboat
