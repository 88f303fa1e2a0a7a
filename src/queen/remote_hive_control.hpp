#pragma once

// The queen's hive_install, hive_uninstall, hive_start and hive_stop operations for the
// machines of hives.toml: the ssh steps of remote_hive.hpp plus what the queen knows itself
// (the hive registry, its own address, the cluster token).

#include <functional>
#include <string>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"
#include "jobs/job_context.hpp"
#include "queen/hive_registry.hpp"

namespace rbee::queen {

class RemoteHiveControl {
 public:
  // `cluster_token` is read when an operation runs (the queen loads it at bind()); `queen_port`
  // gives the port the queen listens on.
  RemoteHiveControl(const QueenConfig& config, const Paths& paths, HiveRegistry& hives,
                    const std::string& cluster_token, std::function<int()> queen_port);

  // Each runs on a job's thread. kNotFound when hives.toml has no such alias; the rest as in
  // remote_hive.hpp.
  Status install(const std::string& alias, jobs::JobContext& job) const;
  Status uninstall(const std::string& alias, bool purge, jobs::JobContext& job) const;
  // Launches the hive and waits for its first heartbeat; kDeadlineExceeded (with the end of
  // its log there) when none comes in time, kFailedPrecondition (with it too) as soon as the
  // hive is seen to hold another cluster token. kFailedPrecondition when the hive would not know
  // how to reach the queen (loopback queen and no queen_url in hives.toml).
  Status start(const std::string& alias, jobs::JobContext& job) const;
  // POST /v1/shutdown to the hive, then ssh + kill when it does not answer or linger.
  Status stop(const std::string& alias, jobs::JobContext& job) const;

 private:
  Result<RemoteHiveConfig> configured(const std::string& alias) const;
  Result<std::string> queen_url_for(const RemoteHiveConfig& remote) const;

  const QueenConfig& config_;
  const Paths& paths_;
  HiveRegistry& hives_;
  const std::string& cluster_token_;
  std::function<int()> queen_port_;
};

}  // namespace rbee::queen
