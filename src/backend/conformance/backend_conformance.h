// The backend conformance suite: one set of tests that every Backend must pass, whatever stores
// its objects (memory, a local directory, S3, SFTP, a REST server) and whatever decorates it
// (forwarding, retry over injected faults). Like restic's backend/test: a backend's test binary
// links the suite and says how to make its backend; the suite checks the contract of backend.h.
//
//   ConformanceBackend S3OnRgw() {
//     return {"S3OnRgw", [] { return ConformanceInstance{OpenFreshBucket(), nullptr}; }};
//   }
//   INSTANTIATE_TEST_SUITE_P(S3, BackendConformanceTest, ::testing::Values(S3OnRgw()),
//                            ConformanceTestName);
//
// Link the CMake object library lb_backend_conformance (so its TEST_Ps are always part of the
// binary) and GTest::gtest_main. Each test calls `make` once, in SetUp, and destroys the instance
// (backend first, then keep_alive) in TearDown. The tests use names of 64 hex characters and
// objects up to a few MiB; one test saves 3,000 small packs from 8 threads.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "backend/backend.h"

namespace lifeboat {

// One backend made for one test.
struct ConformanceInstance {
  std::unique_ptr<Backend> backend;
  // Whatever must outlive the backend and be released after it (an owned temporary directory, a
  // server-side prefix that a deleter removes, ...). May be null.
  std::shared_ptr<void> keep_alive;
  // Optional: leaves in the repository what a Save of `h` interrupted by a crash or a lost
  // connection leaves behind in this backend (local: a "<name>.tmp-<random>" file beside where h
  // would be; S3: an unfinished multipart upload), without going through `backend`. The suite
  // then checks that List, Stat and Load never show it. Unset: the suite checks only what is
  // portable (a failed Save leaves nothing visible).
  std::function<Status(const ObjectHandle& h)> leave_interrupted_save = nullptr;
};

struct ConformanceBackend {
  std::string name;  // test name suffix, e.g. "Local", "S3OnRgw"
  // Makes a fresh, empty repository each call (as `init` would). The backend is destroyed at the
  // end of the test; the factory arranges cleanup (a fresh bucket/prefix/directory per call; an
  // owned TempDir can be kept in `keep_alive`).
  std::function<ConformanceInstance()> make;
  // Faults are injected beneath a RetryBackend: relax what must relax. A mutation may follow an
  // injected transient failure, so Save over an existing object may report Corruption (the
  // content differs from what a lost attempt might have stored) and Remove of a missing object
  // may report OK (as if an earlier attempt removed it): RetryBackend's documented behaviour.
  bool faulty = false;
  // The server, not the client, decides whether an object being written is visible: set when it
  // shows it before it is complete (rclone serve restic over a local directory writes in place;
  // the REST protocol has no rename that a client could write through). The test of that
  // guarantee is then skipped, saying why; readers still verify every object they load (doc/
  // remote-sites.md).
  std::string partial_objects_visible_because = {};
};

class BackendConformanceTest : public ::testing::TestWithParam<ConformanceBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  bool faulty() const { return GetParam().faulty; }

  ConformanceInstance instance_;
  Backend* be_ = nullptr;
};

// The test name suffix: info.param.name.
std::string ConformanceTestName(const ::testing::TestParamInfo<ConformanceBackend>& info);

}  // namespace lifeboat
