// The restorer's TaskPool under failure: a task that throws (std::bad_alloc under a memory limit)
// must not reach std::terminate (issue 11 item 7: restore under ulimit -v aborted with exit 134).
#include "restorer/restore_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <new>

namespace lifeboat::restore {
namespace {

TEST(TaskPoolTest, ATaskThatRunsOutOfMemoryIsAFailureNotAnAbort) {
  std::atomic<int> ran{0};
  TaskPool pool(2, 8);
  for (int i = 0; i < 20; ++i) {
    pool.Submit([&, i] {
      if (i == 7) throw std::bad_alloc();
      ran++;
    });
  }
  pool.Wait();
  EXPECT_EQ(ran.load(), 19);  // the pool carried on after the failure
  Status failure = pool.failure();
  EXPECT_EQ(failure.code(), StatusCode::kUnavailable);
  EXPECT_NE(failure.message().find("out of memory in a restore job"), std::string::npos)
      << failure.ToString();
}

TEST(TaskPoolTest, WithoutThreadsTasksRunInTheCaller) {
  std::atomic<int> ran{0};
  TaskPool pool(0, 4);
  for (int i = 0; i < 5; ++i) pool.Submit([&] { ran++; });
  pool.Wait();
  EXPECT_EQ(ran.load(), 5);
  EXPECT_TRUE(pool.failure().ok());
}

}  // namespace
}  // namespace lifeboat::restore
