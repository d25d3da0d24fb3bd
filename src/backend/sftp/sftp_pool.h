// SftpPool: up to N SFTP connections to one server, each lent to one call at a time (libssh
// sessions are not thread-safe). Connections open on demand; one that broke (Error() marked it)
// is closed when returned, and the next call that needs one connects anew.
//
//   LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool.Acquire());
//   sftp_attributes a = sftp_stat(c->sftp(), path);
//   // the lease's destructor returns the connection (or drops it if broken)
//
// Thread safety: Acquire may be called from any thread; a Lease is used by one thread. Blocking:
// Acquire waits for a free connection, or connects (network).
#pragma once

#include <memory>
#include <vector>

#include "backend/sftp/sftp_connection.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class SftpPool {
 public:
  // REQUIRES: size >= 1.
  SftpPool(SftpConnectSettings settings, int size);
  ~SftpPool();

  // A connection lent to one call; returns it to the pool on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), c_(std::move(other.c_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->Return(std::move(c_));
    }
    SftpConnection* operator->() const { return c_.get(); }
    SftpConnection& operator*() const { return *c_; }

   private:
    friend class SftpPool;
    Lease(SftpPool* pool, std::unique_ptr<SftpConnection> c) : pool_(pool), c_(std::move(c)) {}
    SftpPool* pool_;
    std::unique_ptr<SftpConnection> c_;
  };

  // An idle connection, a new one when fewer than `size` are open, else waits for one to be
  // returned. Fails with Connect's error (the slot is freed again), or the context's when it is
  // cancelled or expires while waiting. The error of SftpConnection::Error is cleared.
  Result<Lease> Acquire();

  const SftpConnectSettings& settings() const { return settings_; }
  int size() const { return size_; }

 private:
  void Return(std::unique_ptr<SftpConnection> c);

  const SftpConnectSettings settings_;
  const int size_;
  Mutex mu_;
  CondVar returned_cv_;
  std::vector<std::unique_ptr<SftpConnection>> idle_ GUARDED_BY(mu_);
  int open_ GUARDED_BY(mu_) = 0;  // idle + lent + being connected
};

}  // namespace lifeboat
