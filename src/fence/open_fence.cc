#include "fence/etcd_fence.h"
#include "fence/lock_file_fence.h"

namespace lifeboat::fence {

Result<std::unique_ptr<Fence>> OpenFence(const plan::DaemonSettings& daemon,
                                         const std::string& state_dir, const std::string& actor,
                                         const Context& ctx) {
  return OpenFence(daemon, state_dir, actor, ctx, FenceOptions{});
}

Result<std::unique_ptr<Fence>> OpenFence(const plan::DaemonSettings& daemon,
                                         const std::string& state_dir, const std::string& actor,
                                         const Context& ctx, const FenceOptions& options) {
  LB_RETURN_IF_ERROR(ctx.Check("opening the fence"));
  if (!daemon.etcd) {
    if (state_dir.empty())
      return Status::InvalidArgument("the lock-file fence needs a state directory");
    return std::unique_ptr<Fence>(std::make_unique<LockFileFence>(state_dir, actor, options));
  }
  EtcdClientOptions o;
  o.endpoints = daemon.etcd->endpoints;
  o.request_timeout = daemon.etcd->retry_timeout;
  o.ca_file = daemon.etcd->ca_file;
  LB_ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> client, EtcdClient::Create(std::move(o)));
  return std::unique_ptr<Fence>(
      std::make_unique<EtcdFence>(*daemon.etcd, actor, std::move(client), options));
}

}  // namespace lifeboat::fence
