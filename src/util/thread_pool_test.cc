// ThreadPool: tasks all run, the queue bounds what waits, failures become statuses (a task that
// throws std::bad_alloc under a memory limit must not reach std::terminate: issue 11 item 7,
// restore under ulimit -v aborted with exit 134), and cancellation drops what has not started.
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lifeboat {
namespace {

ThreadPoolOptions Options(int threads, size_t max_queued) {
  ThreadPoolOptions o;
  o.threads = threads;
  o.max_queued = max_queued;
  return o;
}

TEST(ThreadPoolTest, RunsEveryTaskAndWaitsForThem) {
  std::atomic<int> ran{0};
  ThreadPool pool(Options(3, 4));
  EXPECT_EQ(pool.threads(), 3);
  for (int i = 0; i < 200; ++i) pool.Submit([&] { ran++; });
  pool.Wait();
  EXPECT_EQ(ran.load(), 200);
  EXPECT_TRUE(pool.failure().ok());
}

TEST(ThreadPoolTest, ATaskThatRunsOutOfMemoryIsAFailureNotAnAbort) {
  std::atomic<int> ran{0};
  std::atomic<int> reported{0};
  ThreadPoolOptions options = Options(2, 8);
  options.job_name = "a restore job";
  options.on_failure = [&](const Status& st) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable);
    reported++;
  };
  ThreadPool pool(options);
  for (int i = 0; i < 20; ++i) {
    pool.Submit([&, i] {
      if (i == 7) throw std::bad_alloc();
      ran++;
    });
  }
  pool.Wait();
  EXPECT_EQ(ran.load(), 19);  // the pool carried on after the failure
  EXPECT_EQ(reported.load(), 1);
  Status failure = pool.failure();
  EXPECT_EQ(failure.code(), StatusCode::kUnavailable);
  EXPECT_NE(failure.message().find("out of memory in a restore job"), std::string::npos)
      << failure.ToString();
}

TEST(ThreadPoolTest, TheFirstFailureIsKept) {
  ThreadPool pool(Options(1, 4));
  pool.Submit([] { throw std::bad_alloc(); });
  pool.Wait();
  pool.Submit([] { throw std::runtime_error("second"); });
  pool.Wait();
  EXPECT_EQ(pool.failure().code(), StatusCode::kUnavailable) << pool.failure().ToString();
}

TEST(ThreadPoolTest, WithoutThreadsTasksRunInTheCaller) {
  std::atomic<int> ran{0};
  const auto caller = std::this_thread::get_id();
  ThreadPool pool(Options(0, 4));
  EXPECT_EQ(pool.threads(), 0);
  for (int i = 0; i < 5; ++i) {
    pool.Submit([&] {
      EXPECT_EQ(std::this_thread::get_id(), caller);
      ran++;
    });
    EXPECT_EQ(ran.load(), i + 1);  // ran before Submit returned
  }
  pool.Submit([] { throw std::bad_alloc(); });  // caught in the caller's thread too
  pool.Wait();
  EXPECT_EQ(ran.load(), 5);
  EXPECT_EQ(pool.failure().code(), StatusCode::kUnavailable);
}

TEST(ThreadPoolTest, SubmitBlocksWhileTheQueueIsFull) {
  std::atomic<bool> release{false};
  std::atomic<int> submitted{0};
  ThreadPool pool(Options(1, 2));
  std::thread submitter([&] {
    for (int i = 0; i < 10; ++i) {
      pool.Submit([&] {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      });
      submitted++;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // One task runs (blocked), two wait: the fourth Submit blocks.
  EXPECT_LE(submitted.load(), 3);
  release = true;
  submitter.join();
  pool.Wait();
  EXPECT_EQ(submitted.load(), 10);
}

TEST(ThreadPoolTest, TheDestructorRunsTheTasksStillQueued) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(Options(2, 100));
    for (int i = 0; i < 50; ++i) pool.Submit([&] {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      ran++;
    });
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolTest, CancellationDropsTheTasksNotStarted) {
  std::atomic<bool> cancel{false};
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  ThreadPoolOptions options = Options(1, 100);
  options.cancel = &cancel;
  ThreadPool pool(options);
  pool.Submit([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ran++;
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 20; ++i) pool.Submit([&] { ran++; });
  cancel = true;
  release = true;
  pool.Wait();  // returns: the running task finished, the queued ones were dropped
  EXPECT_EQ(ran.load(), 1);
  pool.Submit([&] { ran++; });  // dropped too
  pool.Wait();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace lifeboat
