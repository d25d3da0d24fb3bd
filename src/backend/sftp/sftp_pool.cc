#include "backend/sftp/sftp_pool.h"

#include <chrono>

namespace lifeboat {

SftpPool::SftpPool(SftpConnectSettings settings, int size)
    : settings_(std::move(settings)), size_(size) {}

SftpPool::~SftpPool() {
  std::vector<std::unique_ptr<SftpConnection>> idle;
  {
    MutexLock lock(&mu_);
    idle.swap(idle_);
  }
  // Connections close here, outside the lock.
}

Result<SftpPool::Lease> SftpPool::Acquire() {
  {
    MutexLock lock(&mu_);
    for (;;) {
      if (!idle_.empty()) {
        std::unique_ptr<SftpConnection> c = std::move(idle_.back());
        idle_.pop_back();
        c->ClearError();
        return Lease(this, std::move(c));
      }
      if (open_ < size_) break;
      LB_RETURN_IF_ERROR(settings_.context.Check("waiting for an SFTP connection"));
      returned_cv_.WaitFor(&mu_, std::chrono::milliseconds(200));
    }
    ++open_;
  }
  Result<std::unique_ptr<SftpConnection>> c = SftpConnection::Connect(settings_);
  if (!c.ok()) {
    MutexLock lock(&mu_);
    --open_;
    returned_cv_.NotifyOne();
    return c.status();
  }
  return Lease(this, std::move(c).value());
}

void SftpPool::Return(std::unique_ptr<SftpConnection> c) {
  if (c->broken()) {
    c.reset();  // disconnects, outside the lock
    MutexLock lock(&mu_);
    --open_;
  } else {
    MutexLock lock(&mu_);
    idle_.push_back(std::move(c));
  }
  returned_cv_.NotifyOne();
}

}  // namespace lifeboat
