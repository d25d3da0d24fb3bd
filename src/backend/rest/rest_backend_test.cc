// RestBackend against `rclone serve restic` on 127.0.0.1 (tests/servers/rest.sh; run through
// tests/servers/run_with.sh rest rest-append-only): the conformance suite on a fresh repository
// path per test, then what is particular to REST: basic authentication, an append-only server,
// an unreachable server, a repository that does not exist.
#include "backend/rest/rest_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/conformance/backend_conformance.h"
#include "gtest/gtest.h"
#include "util/file_io.h"

namespace lifeboat {
namespace {

// The value of a variable run_with.sh exports; fails the test (never skips) when it is missing.
std::string ServerVariable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name
                  << " is not set: run this test through tests/servers/run_with.sh rest "
                     "rest-append-only -- <test binary> (ctest does so in the release build)";
    return "";
  }
  return value;
}

// A repository path no other test uses.
std::string FreshPath() {
  static std::atomic<int> counter{0};
  static const uint64_t run = std::random_device{}();
  return "/t" + std::to_string(getpid()) + "-" + std::to_string(run % 1000000) + "-" +
         std::to_string(++counter);
}

BackendOpenArgs Args(const std::string& url, bool create, std::vector<std::string> options = {}) {
  BackendOpenArgs args;
  args.address = url;
  args.location = "rest:" + url;
  args.options = *BackendOptions::Parse(options);
  args.create = create;
  return args;
}

std::unique_ptr<Backend> OpenOrFail(const BackendOpenArgs& args) {
  Result<std::unique_ptr<Backend>> be = OpenRestBackend(args);
  EXPECT_TRUE(be.ok()) << be.status().ToString();
  return be.ok() ? std::move(be).value() : nullptr;
}

std::string Id(int i) {
  std::mt19937_64 rng(static_cast<uint64_t>(i) * 7919 + 1);
  Bytes b(32);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return HexEncode(b);
}

ConformanceBackend RestOnRclone() {
  ConformanceBackend b;
  b.name = "RestOnRclone";
  b.partial_objects_visible_because =
      "rclone serve restic (1.60) over a local directory writes objects in place, so a reader "
      "can see one before it is complete; the REST protocol has no rename to write through";
  b.make = [] {
    const std::string path = FreshPath();
    std::unique_ptr<Backend> be =
        OpenOrFail(Args(ServerVariable("LIFEBOAT_TEST_REST_URL") + path, /*create=*/true));
    ConformanceInstance instance{std::move(be), nullptr};
    // What an upload cut short leaves beside the object: rest-server's temporary file (rclone
    // removes its own on error).
    const std::string dir = ServerVariable("LIFEBOAT_TEST_REST_DIR") + path;
    instance.leave_interrupted_save = [dir](const ObjectHandle& h) {
      std::string file;
      switch (h.type) {
        case ObjectType::kConfig: file = "config"; break;
        case ObjectType::kKey: file = "keys/" + h.name; break;
        case ObjectType::kPack: file = "data/" + h.name.substr(0, 2) + "/" + h.name; break;
        case ObjectType::kIndex: file = "index/" + h.name; break;
        case ObjectType::kSnapshot: file = "snapshots/" + h.name; break;
        case ObjectType::kLock: file = "locks/" + h.name; break;
        case ObjectType::kRun: file = "runs/" + h.name; break;
      }
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(dir + "/" + file).parent_path(),
                                          ec);
      return WriteFileDurably(dir + "/" + file + ".rest-server-temp123456", AsBytes("partial"),
                              false);
    };
    return instance;
  };
  return b;
}

INSTANTIATE_TEST_SUITE_P(Rest, BackendConformanceTest, ::testing::Values(RestOnRclone()),
                         ConformanceTestName);

// ---------------------------------------------------------------------------------------------
// REST specifics.

TEST(RestBackendTest, BasicAuthentication) {
  const std::string url = ServerVariable("LIFEBOAT_TEST_REST_AUTH_URL");
  const std::string user = ServerVariable("LIFEBOAT_TEST_REST_AUTH_USER");
  const std::string password = ServerVariable("LIFEBOAT_TEST_REST_AUTH_PASSWORD");
  ASSERT_FALSE(url.empty());
  const std::string host = url.substr(std::string("http://").size());
  const std::string path = FreshPath();

  // Credentials in the URL.
  const std::string with_credentials = "http://" + user + ":" + password + "@" + host + path;
  std::unique_ptr<Backend> be = OpenOrFail(Args(with_credentials, /*create=*/true));
  ASSERT_NE(be, nullptr);
  const ObjectHandle snapshot{ObjectType::kSnapshot, Id(1)};
  ASSERT_TRUE(be->Save(snapshot, AsBytes("snap")).ok());
  EXPECT_EQ(be->Location(), "rest:http://" + user + ":***@" + host + path);

  // Credentials from the environment.
  BackendOpenArgs from_env = Args(url + path, false);
  from_env.env = {{"LIFEBOAT_REST_USERNAME", user}, {"LIFEBOAT_REST_PASSWORD", password}};
  std::unique_ptr<Backend> env_be = OpenOrFail(from_env);
  ASSERT_NE(env_be, nullptr);
  Result<Bytes> loaded = env_be->Load(snapshot, 0, 0);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(AsString(*loaded), "snap");

  // A wrong password: PermissionDenied saying what to fix, never quoting the password.
  const std::string wrong = "Wr0ng-" + password;
  for (const BackendOpenArgs& args :
       {Args("http://" + user + ":" + wrong + "@" + host + path, false),
        [&] {
          BackendOpenArgs a = Args(url + path, false);
          a.env = {{"LIFEBOAT_REST_USERNAME", user}, {"LIFEBOAT_REST_PASSWORD", wrong}};
          return a;
        }(),
        Args(url + path, false)}) {
    std::unique_ptr<Backend> bad = OpenOrFail(args);
    ASSERT_NE(bad, nullptr);
    std::vector<Status> errors = {bad->Stat(snapshot).status(), bad->Load(snapshot, 0, 0).status(),
                                  bad->Save({ObjectType::kSnapshot, Id(2)}, AsBytes("x")),
                                  bad->List(ObjectType::kSnapshot, "",
                                            [](const ObjectInfo&) { return Status::Ok(); }),
                                  bad->Remove(snapshot)};
    for (const Status& st : errors) {
      EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
      EXPECT_NE(st.message().find("LIFEBOAT_REST_PASSWORD"), std::string::npos) << st.message();
      EXPECT_EQ(st.message().find(wrong), std::string::npos) << st.message();
      EXPECT_EQ(st.message().find(password), std::string::npos) << st.message();
    }
    EXPECT_EQ(bad->Location().find(wrong), std::string::npos);
  }
  // The snapshot is still there.
  EXPECT_TRUE(env_be->Stat(snapshot).ok());
}

TEST(RestBackendTest, AppendOnlyServerRefusesDeletingAllButLocks) {
  const std::string url = ServerVariable("LIFEBOAT_TEST_REST_APPEND_ONLY_URL") + FreshPath();
  std::unique_ptr<Backend> be = OpenOrFail(Args(url, /*create=*/true));
  ASSERT_NE(be, nullptr);
  ASSERT_TRUE(be->Save({ObjectType::kConfig, ""}, AsBytes("config")).ok());
  const ObjectHandle pack{ObjectType::kPack, Id(1)};
  const ObjectHandle lock{ObjectType::kLock, Id(2)};
  ASSERT_TRUE(be->Save(pack, AsBytes("pack")).ok());
  ASSERT_TRUE(be->Save(lock, AsBytes("lock")).ok());

  Status removed = be->Remove(pack);
  EXPECT_EQ(removed.code(), StatusCode::kPermissionDenied) << removed.ToString();
  EXPECT_NE(removed.message().find("append-only"), std::string::npos) << removed.message();
  EXPECT_EQ(be->Remove({ObjectType::kConfig, ""}).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(be->Stat(pack).ok());
  EXPECT_TRUE(be->Remove(lock).ok());
  EXPECT_TRUE(be->Stat(lock).status().IsNotFound());

  // No overwrite either: AlreadyExists, content unchanged.
  Status again = be->Save(pack, AsBytes("other"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_EQ(AsString(*be->Load(pack, 0, 0)), "pack");
}

TEST(RestBackendTest, SaveNeverReplacesOnAServerThatWouldOverwrite) {
  // `rclone serve restic` without --append-only overwrites on POST.
  std::unique_ptr<Backend> be =
      OpenOrFail(Args(ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath(), true));
  ASSERT_NE(be, nullptr);
  for (ObjectHandle h : {ObjectHandle{ObjectType::kConfig, ""}, ObjectHandle{ObjectType::kLock, Id(3)}}) {
    ASSERT_TRUE(be->Save(h, AsBytes("first")).ok());
    Status again = be->Save(h, AsBytes("second!"));
    EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
    EXPECT_EQ(AsString(*be->Load(h, 0, 0)), "first");
  }
}

TEST(RestBackendTest, UnreachableServerIsUnavailable) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);  // nothing listens there now
  const std::string url = "http://u:secretpw@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                          "/repo";
  std::unique_ptr<Backend> be = OpenOrFail(Args(url, false));
  ASSERT_NE(be, nullptr);
  Status st = be->Stat({ObjectType::kConfig, ""}).status();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(st.message().find("secretpw"), std::string::npos) << st.message();
  EXPECT_FALSE(be->HasConfig());
  // Creating there fails the same way.
  EXPECT_EQ(OpenRestBackend(Args(url, true)).status().code(), StatusCode::kUnavailable);
}

TEST(RestBackendTest, MissingRepositoryHasNoConfig) {
  std::unique_ptr<Backend> be =
      OpenOrFail(Args(ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath(), false));
  ASSERT_NE(be, nullptr);
  EXPECT_FALSE(be->HasConfig());
  Result<ObjectInfo> config = be->Stat({ObjectType::kConfig, ""});
  EXPECT_TRUE(config.status().IsNotFound()) << config.status().ToString();
  EXPECT_TRUE(be->Load({ObjectType::kConfig, ""}, 0, 0).status().IsNotFound());
  int listed = 0;
  EXPECT_TRUE(be->List(ObjectType::kPack, "", [&](const ObjectInfo&) {
                  ++listed;
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(listed, 0);
}

TEST(RestBackendTest, CreateOverAnExistingRepositoryIsAlreadyExists) {
  const std::string url = ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath() + "/";
  std::unique_ptr<Backend> be = OpenOrFail(Args(url, true));
  ASSERT_NE(be, nullptr);
  // Creating again before the config is saved (an interrupted init) is fine.
  ASSERT_TRUE(OpenRestBackend(Args(url, true)).ok());
  ASSERT_TRUE(be->Save({ObjectType::kConfig, ""}, AsBytes("cfg")).ok());
  EXPECT_EQ(OpenRestBackend(Args(url, true)).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(OpenOrFail(Args(url, false))->HasConfig());
}

TEST(RestBackendTest, OptionsAndAddressesAreChecked) {
  const std::string url = ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath();
  std::unique_ptr<Backend> be = OpenOrFail(Args(url, false, {"rest.connections=3"}));
  ASSERT_NE(be, nullptr);
  EXPECT_EQ(be->Hints().concurrent_requests, 3);
  EXPECT_EQ(OpenOrFail(Args(url, false))->Hints().concurrent_requests, 8);
  EXPECT_EQ(OpenRestBackend(Args(url, false, {"rest.conections=3"})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenRestBackend(Args(url, false, {"rest.ca-file=/nonexistent.pem"})).status().code(),
            StatusCode::kInvalidArgument);
  for (std::string bad : {"ftp://host/x", "127.0.0.1:8000/x", "http:///x", "http://h/x?y=1",
                          "http://u:%zz@h/x"}) {
    EXPECT_EQ(OpenRestBackend(Args(bad, false)).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

// Throughput over loopback, for doc/remote-sites.md; run with --gtest_also_run_disabled_tests.
TEST(RestBackendTest, DISABLED_Throughput) {
  constexpr size_t kSize = 64 << 20;
  Bytes data(kSize);
  std::mt19937_64 rng(7);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (int connections : {1, 8}) {
    std::unique_ptr<Backend> be = OpenOrFail(
        Args(ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath(), true,
             {"rest.connections=" + std::to_string(connections)}));
    ASSERT_NE(be, nullptr);
    // `connections` objects of 64 MiB at once (one object moves over one connection).
    auto run = [&](const std::function<void(int)>& job) {
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (int i = 0; i < connections; ++i) threads.emplace_back(job, i);
      for (std::thread& t : threads) t.join();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return static_cast<double>(kSize) * connections / seconds / (1 << 20);
    };
    const double up = run([&](int i) {
      EXPECT_TRUE(be->Save({ObjectType::kPack, Id(100 + i)}, data).ok());
    });
    // The best of three (the machine is shared), each thread reusing its buffer.
    std::vector<Bytes> buffers(connections);
    double down = 0;
    for (int round = 0; round < 3; ++round) {
      down = std::max(down, run([&](int i) {
        EXPECT_TRUE(be->LoadInto({ObjectType::kPack, Id(100 + i)}, 0, 0, &buffers[i]).ok());
        EXPECT_EQ(buffers[i].size(), kSize);
      }));
    }
    std::printf("connections=%d: %d x 64 MiB, upload %.0f MiB/s, download %.0f MiB/s\n",
                connections, connections, up, down);
  }
  // Small objects (index files, snapshots, locks): requests per second by connections.
  for (int connections : {1, 2, 4, 8, 16}) {
    std::unique_ptr<Backend> be = OpenOrFail(
        Args(ServerVariable("LIFEBOAT_TEST_REST_URL") + FreshPath(), true,
             {"rest.connections=" + std::to_string(connections)}));
    ASSERT_NE(be, nullptr);
    constexpr int kObjects = 400;
    const Bytes small(4096, 7);
    std::atomic<int> next{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < connections; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < kObjects; i = next++) {
          EXPECT_TRUE(be->Save({ObjectType::kIndex, Id(1000 + i)}, small).ok());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("connections=%d: %d saves of 4 KiB, %.0f saves/s\n", connections, kObjects,
                kObjects / seconds);
  }
}

}  // namespace
}  // namespace lifeboat
