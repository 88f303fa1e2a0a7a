#pragma once

// Real hosts on one machine, for the multi-host integration tests: N Linux network namespaces,
// each with its own sshd (Debian's /usr/sbin/sshd) on its own address, and a client key and
// known_hosts file so that the system's OpenSSH client reaches them in batch mode with host
// keys checked.
//
// Topology: a bridge inside a "switch" namespace of the rig's own (so the root namespace's
// firewall and bridge-netfilter settings never see the rig's traffic); one veth pair from
// the switch to each host namespace (eth0 there) and one to the root namespace (the only
// interface the rig adds to the root namespace). Addresses: 10.X.Y.0/24, picked per rig and
// checked against the root namespace's routes; the root namespace is .1, host i is .(i+2).
//
// Names carry the rig's id and the pid of the process that built it (namespaces
// "rbee-t-<id>-<pid>-<i>", the switch "...-sw", the root interface "rbt<id>", the folder
// "$TMPDIR/rbee-t-<id>-<pid>"), so parallel rigs never collide and what a dead process left
// behind is recognised and removed by remove_stale() (called by every new rig).
//
// Teardown (destructor, teardown(), at exit): every process in the namespaces is killed
// (`ip netns pids`), then the namespaces, the root interface and the folder are deleted. On
// SIGINT, SIGTERM, SIGHUP and SIGABRT the processes the rig started are killed; the
// namespaces are left to the next rig's remove_stale().

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace rbee::testing {

struct CommandOutcome {
  int exit_code = -1;  // -1 when it did not exit normally (killed, timed out, not started)
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0 && !timed_out; }
};

// Runs argv (argv[0] looked up on PATH; no shell), stdin from /dev/null, and collects its
// output; killed after `timeout`.
CommandOutcome run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

class NetnsRig {
 public:
  static constexpr int kSshPort = 22;

  // Empty when a rig can be built here; else why not (not root, no ip, no sshd, namespaces
  // cannot be created), for GTEST_SKIP.
  static std::string unavailable_reason();
  // Removes the namespaces, root interfaces and folders of rigs whose process is gone.
  static void remove_stale();

  // Builds the rig and waits (with a deadline) until every sshd accepts connections.
  // Throws std::runtime_error, after cleaning up what it made, when any step fails.
  explicit NetnsRig(size_t hosts);
  ~NetnsRig();
  NetnsRig(const NetnsRig&) = delete;
  NetnsRig& operator=(const NetnsRig&) = delete;

  size_t size() const { return hosts_.size(); }
  const std::string& id() const { return id_; }
  const std::string& name(size_t i) const;     // the namespace's name
  const std::string& address(size_t i) const;  // its IPv4 address
  const std::string& root_address() const { return root_address_; }
  const std::string& root_interface() const { return root_interface_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& user() const { return user_; }
  std::filesystem::path client_key() const { return dir_ / "client_key"; }
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
  // An ssh_config with one `Host <name(i)>` entry per namespace (address, user, key,
  // known_hosts, batch mode): `ssh -F <ssh_config()> <name(i)> cmd`.
  std::filesystem::path ssh_config() const { return dir_ / "ssh_config"; }
  std::filesystem::path sshd_log(size_t i) const;
  // Namespace i's $HOME for ssh sessions (sshd's SetEnv): the namespaces share one file
  // system, so each host gets a home of its own and nothing lands in the real user's.
  std::filesystem::path home(size_t i) const;

  // The options every ssh/scp the rig builds uses (-F /dev/null, batch mode, the rig's key
  // and known_hosts, StrictHostKeyChecking=yes, a connect timeout).
  std::vector<std::string> ssh_options() const;
  // `ssh ... user@address(i) remote_command`, run from whichever namespace runs it.
  std::vector<std::string> ssh_argv(size_t i, const std::string& remote_command) const;
  // `scp ... local user@address(i):remote` (upload).
  std::vector<std::string> scp_argv(const std::filesystem::path& local, size_t i,
                                    const std::string& remote) const;
  // `ip netns exec name(i) argv...`.
  std::vector<std::string> netns_argv(size_t i, const std::vector<std::string>& argv) const;

  // Runs argv inside namespace i and waits for it.
  CommandOutcome run_in(size_t i, const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Starts argv (argv[0] an absolute path) inside namespace i, detached, its output appended
  // to `log_file`; it is killed at teardown if still running. Throws when it cannot start.
  pid_t spawn_in(size_t i, const std::vector<std::string>& argv,
                 const std::filesystem::path& log_file);

  // Plugs namespace i's cable in or out (its port on the rig's switch up or down).
  void set_link(size_t i, bool up);
  // Whether a TCP connection from the root namespace to address(i):port succeeds within
  // `timeout`.
  bool reachable(size_t i, int port = kSshPort,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(300)) const;

  // The pids of the sshd processes the rig started (one per namespace).
  std::vector<pid_t> sshd_pids() const;
  // Kills everything in the namespaces and deletes all the rig made; safe to call twice.
  void teardown();

 private:
  struct Host {
    std::string name;
    std::string address;
    pid_t sshd = 0;
  };

  void build(size_t hosts);
  void start_sshd(size_t i);
  std::string ip_path() const;

  std::string id_;
  std::string switch_name_;
  std::string root_interface_;
  std::string root_address_;
  std::string prefix_;  // "10.X.Y."
  std::filesystem::path dir_;
  std::string user_;
  std::vector<Host> hosts_;
  std::vector<pid_t> spawned_;
  bool torn_down_ = false;
};

}  // namespace rbee::testing
