#include "netns_rig.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/files.hpp"
#include "common/random.hpp"
#include "lifecycle/process.hpp"

namespace rbee::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSshd = "/usr/sbin/sshd";
constexpr const char* kNamePrefix = "rbee-t-";

// ---- Processes the rig started, for the signal handler (async-signal-safe: a fixed array
// of atomics, kill() and raise() only).
constexpr size_t kMaxTracked = 256;
std::array<std::atomic<pid_t>, kMaxTracked> g_tracked{};

void track(pid_t pid) {
  for (auto& slot : g_tracked) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void untrack(pid_t pid) {
  for (auto& slot : g_tracked) {
    pid_t expected = pid;
    slot.compare_exchange_strong(expected, 0);
  }
}

void on_fatal_signal(int signal_number) {
  for (auto& slot : g_tracked) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// ---- Live rigs, torn down at exit.
std::mutex g_rigs_mutex;
std::set<NetnsRig*>& live_rigs() {
  static std::set<NetnsRig*> rigs;
  return rigs;
}

void teardown_live_rigs() {
  std::set<NetnsRig*> rigs;
  {
    std::lock_guard lock(g_rigs_mutex);
    rigs = live_rigs();
  }
  for (NetnsRig* rig : rigs) rig->teardown();
}

std::string find_program(const std::string& name);

const std::string& ip_program() {
  static const std::string ip = find_program("ip");
  return ip;
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Statics used at exit are made before the handler is registered, so they outlive it.
    (void)live_rigs();
    (void)ip_program();
    std::atexit(teardown_live_rigs);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) {
      struct sigaction current {};
      if (::sigaction(signal_number, nullptr, &current) != 0) continue;
      if (current.sa_handler != SIG_DFL) continue;  // someone else's handler stays
      struct sigaction action {};
      action.sa_handler = on_fatal_signal;
      sigemptyset(&action.sa_mask);
      ::sigaction(signal_number, &action, nullptr);
    }
  });
}

// ---- Small helpers.
std::string find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string join(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("netns rig: cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
  auto text = read_file(path);
  return text ? *text : std::string();
}

CommandOutcome must(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 10s) {
  CommandOutcome outcome = run_command(argv, timeout);
  if (!outcome.ok()) {
    throw std::runtime_error("netns rig: `" + join(argv) + "` failed (exit " +
                             std::to_string(outcome.exit_code) +
                             (outcome.timed_out ? ", timed out" : "") + "): " + outcome.output);
  }
  return outcome;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string first_word(const std::string& line) {
  return line.substr(0, line.find(' '));
}

std::vector<std::string> namespace_names(const std::string& ip) {
  std::vector<std::string> names;
  for (const auto& line : lines_of(run_command({ip, "netns", "list"}).output)) {
    names.push_back(first_word(line));
  }
  return names;
}

// Kills every process in the namespace (our own children are reaped) until none is left.
void kill_namespace_processes(const std::string& ip, const std::string& ns) {
  lifecycle::poll_until(
      [&] {
        CommandOutcome pids = run_command({ip, "netns", "pids", ns}, 5s);
        if (!pids.ok()) return true;  // the namespace is gone
        bool any = false;
        for (const auto& line : lines_of(pids.output)) {
          pid_t pid = 0;
          auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
          if (ec != std::errc() || pid <= 0 || pid == ::getpid()) continue;
          any = true;
          ::kill(pid, SIGKILL);
          lifecycle::reap_if_child(pid);
        }
        return !any;
      },
      5s, 100ms);
}

uint32_t parse_ipv4(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return 0;
  return ntohl(address.s_addr);
}

// Whether any route of the root namespace (all tables) overlaps 10.x.y.0/24.
bool subnet_in_use(const std::string& ip, uint32_t subnet) {
  static const std::set<std::string> kTypes = {"local",     "broadcast", "unicast", "unreachable",
                                               "blackhole", "prohibit",  "throw",   "multicast",
                                               "anycast",   "nat"};
  CommandOutcome routes = run_command({ip, "-4", "route", "show", "table", "all"});
  if (!routes.ok()) return true;
  for (const auto& line : lines_of(routes.output)) {
    std::stringstream words(line);
    std::string destination;
    words >> destination;
    if (kTypes.count(destination)) words >> destination;
    if (destination == "default" || destination.empty()) continue;
    int length = 32;
    if (auto slash = destination.find('/'); slash != std::string::npos) {
      length = std::atoi(destination.c_str() + slash + 1);
      destination.resize(slash);
    }
    uint32_t network = parse_ipv4(destination);
    if (network == 0 && destination != "0.0.0.0") continue;
    int common = std::min(length, 24);
    uint32_t mask = common == 0 ? 0 : ~uint32_t{0} << (32 - common);
    if ((network & mask) == (subnet & mask)) return true;
  }
  return false;
}

std::string current_user() {
  const passwd* entry = ::getpwuid(::geteuid());
  return entry ? entry->pw_name : "root";
}

}  // namespace

CommandOutcome run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) {
  CommandOutcome outcome;
  if (argv.empty()) return outcome;
  // Output goes to a file, not a pipe: the call ends when the program does, even when
  // something it started in the background still holds its stdout.
  std::string output_path = (fs::temp_directory_path() / "rbee-netns-out-XXXXXX").string();
  int output_fd = ::mkstemp(output_path.data());
  if (output_fd < 0) {
    outcome.output = std::string("mkstemp: ") + std::strerror(errno);
    return outcome;
  }
  ::close(output_fd);
  lifecycle::SpawnOptions options;
  options.argv = argv;
  if (argv[0].find('/') == std::string::npos) options.argv[0] = find_program(argv[0]);
  options.log_file = output_path;
  options.new_session = false;
  auto pid = lifecycle::spawn_process(options);
  if (!pid) {
    ::unlink(output_path.c_str());
    outcome.output = "cannot run " + argv[0] + ": " + pid.error().message;
    return outcome;
  }
  int status = 0;
  bool exited = lifecycle::poll_until([&] { return ::waitpid(*pid, &status, WNOHANG) == *pid; },
                                      timeout, 20ms);
  if (!exited) {
    outcome.timed_out = true;
    ::kill(*pid, SIGKILL);
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  }
  outcome.output = read_text(output_path);
  ::unlink(output_path.c_str());
  return outcome;
}

std::string NetnsRig::unavailable_reason() {
  static std::once_flag once;
  static std::string reason;
  std::call_once(once, [] {
    if (::geteuid() != 0) {
      reason = "the netns rig needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create namespaces";
      return;
    }
    std::string ip = find_program("ip");
    if (ip.empty()) {
      reason = "the netns rig needs `ip` (iproute2; scripts/setup installs it)";
      return;
    }
    if (::access(kSshd, X_OK) != 0) {
      reason = std::string("the netns rig needs ") + kSshd +
               " (openssh-server; scripts/setup installs it)";
      return;
    }
    for (const char* tool : {"ssh", "scp", "ssh-keygen"}) {
      if (find_program(tool).empty()) {
        reason = std::string("the netns rig needs ") + tool +
                 " (openssh-client; scripts/setup installs it)";
        return;
      }
    }
    // sshd without PAM refuses accounts whose password field is locked ('!').
    std::ifstream shadow("/etc/shadow");
    std::string line;
    std::string user = current_user();
    while (std::getline(shadow, line)) {
      if (line.rfind(user + ":!", 0) == 0) {
        reason = "account " + user +
                 " is locked ('!' in /etc/shadow), which sshd refuses without PAM; unlock it "
                 "for key logins with: usermod -p '*' " +
                 user;
        return;
      }
    }
    std::string probe = "rbee-probe-" + std::to_string(::getpid());
    CommandOutcome added = run_command({ip, "netns", "add", probe});
    if (!added.ok()) {
      reason = "cannot create a network namespace here: " + added.output;
      return;
    }
    run_command({ip, "netns", "del", probe});
  });
  return reason;
}

void NetnsRig::remove_stale() {
  std::string ip = find_program("ip");
  if (ip.empty()) return;
  static const std::regex kOwned(R"(rbee-t-([0-9a-f]{8})-([0-9]+)(-(sw|[0-9]+))?)");
  auto stale = [](const std::smatch& match) {
    pid_t pid = std::atoi(match[2].str().c_str());
    return pid != ::getpid() && !lifecycle::process_alive(pid);
  };
  std::set<std::string> ids;
  for (const auto& ns : namespace_names(ip)) {
    std::smatch match;
    if (!std::regex_match(ns, match, kOwned) || !match[3].matched || !stale(match)) continue;
    kill_namespace_processes(ip, ns);
    run_command({ip, "netns", "del", ns});
    ids.insert(match[1].str());
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    std::string name = entry.path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, kOwned) || match[3].matched || !stale(match)) continue;
    fs::remove_all(entry.path(), ec);
    ids.insert(match[1].str());
  }
  for (const auto& id : ids) run_command({ip, "link", "del", "rbt" + id});
}

NetnsRig::NetnsRig(size_t hosts) {
  if (hosts == 0 || hosts > 200) throw std::runtime_error("netns rig: 1 to 200 hosts");
  std::string why = unavailable_reason();
  if (!why.empty()) throw std::runtime_error("netns rig: " + why);
  install_handlers_once();
  remove_stale();
  {
    std::lock_guard lock(g_rigs_mutex);
    live_rigs().insert(this);
  }
  try {
    build(hosts);
  } catch (...) {
    teardown();
    throw;
  }
}

NetnsRig::~NetnsRig() {
  teardown();
}

std::string NetnsRig::ip_path() const {
  return ip_program();
}

const std::string& NetnsRig::name(size_t i) const {
  return hosts_.at(i).name;
}
const std::string& NetnsRig::address(size_t i) const {
  return hosts_.at(i).address;
}

fs::path NetnsRig::home(size_t i) const {
  return dir_ / ("home_" + std::to_string(i));
}

fs::path NetnsRig::sshd_log(size_t i) const {
  return dir_ / ("sshd_" + std::to_string(i) + ".log");
}

void NetnsRig::build(size_t hosts) {
  const std::string ip = ip_path();
  id_ = random_hex(4);
  std::string stem = kNamePrefix + id_ + "-" + std::to_string(::getpid());
  switch_name_ = stem + "-sw";
  root_interface_ = "rbt" + id_;
  user_ = current_user();

  dir_ = fs::temp_directory_path() / stem;
  fs::create_directory(dir_);
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
  // sshd's privilege separation directory (made by the ssh service, which the rig never uses).
  if (!fs::exists("/run/sshd")) {
    fs::create_directories("/run/sshd");
    fs::permissions("/run/sshd", fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
  }

  // A private /24 that no route of the root namespace touches.
  uint32_t subnet = 0;
  for (int attempt = 0; attempt < 64 && subnet == 0; ++attempt) {
    std::string bytes = random_hex(2);
    uint32_t x = 16 + static_cast<uint32_t>(std::stoul(bytes.substr(0, 2), nullptr, 16)) % 235;
    uint32_t y = static_cast<uint32_t>(std::stoul(bytes.substr(2, 2), nullptr, 16));
    uint32_t candidate = (10u << 24) | (x << 16) | (y << 8);
    if (!subnet_in_use(ip, candidate)) subnet = candidate;
  }
  if (subnet == 0) throw std::runtime_error("netns rig: no free 10.x.y.0/24 found");
  prefix_ = "10." + std::to_string((subnet >> 16) & 0xff) + "." +
            std::to_string((subnet >> 8) & 0xff) + ".";
  root_address_ = prefix_ + "1";

  // The switch: a bridge in a namespace of its own, and the root namespace's cable to it.
  must({ip, "netns", "add", switch_name_});
  must({ip, "-n", switch_name_, "link", "set", "lo", "up"});
  must({ip, "-n", switch_name_, "link", "add", "br0", "type", "bridge"});
  must({ip, "-n", switch_name_, "link", "set", "br0", "up"});
  must({ip, "link", "add", root_interface_, "type", "veth", "peer", "name", "root", "netns",
        switch_name_});
  must({ip, "-n", switch_name_, "link", "set", "root", "master", "br0", "up"});
  must({ip, "addr", "add", root_address_ + "/24", "dev", root_interface_});
  must({ip, "link", "set", root_interface_, "up"});

  // Keys: one client key for all, one host key per namespace.
  must({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rbee-netns-rig", "-f",
        client_key().string()});
  write_text(dir_ / "authorized_keys", read_text(dir_ / "client_key.pub"));
  std::string known_hosts_text;
  std::string ssh_config_text;

  for (size_t i = 0; i < hosts; ++i) {
    Host host;
    host.name = stem + "-" + std::to_string(i);
    host.address = prefix_ + std::to_string(i + 2);
    hosts_.push_back(host);
    std::string port = "p" + std::to_string(i);
    must({ip, "netns", "add", host.name});
    must({ip, "-n", host.name, "link", "set", "lo", "up"});
    must({ip, "-n", switch_name_, "link", "add", port, "type", "veth", "peer", "name", "eth0",
          "netns", host.name});
    must({ip, "-n", switch_name_, "link", "set", port, "master", "br0", "up"});
    must({ip, "-n", host.name, "addr", "add", host.address + "/24", "dev", "eth0"});
    must({ip, "-n", host.name, "link", "set", "eth0", "up"});

    fs::path host_key = dir_ / ("host_key_" + std::to_string(i));
    must({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", host_key.string()});
    std::stringstream public_key(read_text(host_key.string() + ".pub"));
    std::string type, key;
    public_key >> type >> key;
    known_hosts_text += host.address + " " + type + " " + key + "\n";
    ssh_config_text += "Host " + host.name + "\n  HostName " + host.address + "\n  User " + user_ +
                       "\n  Port " + std::to_string(kSshPort) + "\n  IdentityFile " +
                       client_key().string() + "\n  IdentitiesOnly yes\n  UserKnownHostsFile " +
                       known_hosts().string() +
                       "\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
                       "  BatchMode yes\n  ConnectTimeout 3\n";
    fs::create_directory(home(i));
    write_text(dir_ / ("sshd_config_" + std::to_string(i)),
               "SetEnv HOME=" + home(i).string() + "\nListenAddress " + host.address + "\nPort " +
                   std::to_string(kSshPort) + "\nAddressFamily inet\nHostKey " + host_key.string() +
                   "\nPidFile " + (dir_ / ("sshd_" + std::to_string(i) + ".pid")).string() +
                   "\nAuthorizedKeysFile " + (dir_ / "authorized_keys").string() +
                   "\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
                   "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                   "StrictModes no\nUsePAM no\nUseDNS no\nPrintMotd no\nPrintLastLog no\n"
                   "MaxStartups 100\nSubsystem sftp internal-sftp\n");
  }
  write_text(known_hosts(), known_hosts_text);
  write_text(ssh_config(), ssh_config_text);

  for (size_t i = 0; i < hosts; ++i) start_sshd(i);
  for (size_t i = 0; i < hosts; ++i) {
    pid_t sshd = hosts_[i].sshd;
    bool up = lifecycle::poll_until([&] { return !lifecycle::process_alive(sshd) || reachable(i); },
                                    10s, 100ms);
    if (!up || !lifecycle::process_alive(sshd)) {
      throw std::runtime_error("netns rig: sshd in " + hosts_[i].name +
                               " does not accept connections on " + hosts_[i].address +
                               ":22; its log: " + read_text(sshd_log(i)));
    }
  }
}

void NetnsRig::start_sshd(size_t i) {
  lifecycle::SpawnOptions options;
  options.argv = {ip_path(),      "netns", "exec",
                  hosts_[i].name, kSshd,   "-D",
                  "-e",           "-f",    (dir_ / ("sshd_config_" + std::to_string(i))).string()};
  options.log_file = sshd_log(i);
  auto pid = lifecycle::spawn_process(options);
  if (!pid) throw std::runtime_error("netns rig: cannot start sshd: " + pid.error().message);
  hosts_[i].sshd = *pid;
  track(*pid);
}

std::vector<std::string> NetnsRig::ssh_options() const {
  return {"-F", "/dev/null",
          "-i", client_key().string(),
          "-o", "IdentitiesOnly=yes",
          "-o", "BatchMode=yes",
          "-o", "StrictHostKeyChecking=yes",
          "-o", "UserKnownHostsFile=" + known_hosts().string(),
          "-o", "GlobalKnownHostsFile=/dev/null",
          "-o", "ConnectTimeout=3",
          "-o", "LogLevel=ERROR"};
}

std::vector<std::string> NetnsRig::ssh_argv(size_t i, const std::string& remote_command) const {
  std::vector<std::string> argv = {"ssh"};
  for (auto& option : ssh_options()) argv.push_back(std::move(option));
  argv.insert(argv.end(),
              {"-p", std::to_string(kSshPort), user_ + "@" + address(i), "--", remote_command});
  return argv;
}

std::vector<std::string> NetnsRig::scp_argv(const fs::path& local, size_t i,
                                            const std::string& remote) const {
  std::vector<std::string> argv = {"scp", "-q"};
  for (auto& option : ssh_options()) argv.push_back(std::move(option));
  argv.insert(argv.end(), {"-P", std::to_string(kSshPort), "--", local.string(),
                           user_ + "@" + address(i) + ":" + remote});
  return argv;
}

std::vector<std::string> NetnsRig::netns_argv(size_t i,
                                              const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {ip_path(), "netns", "exec", name(i)};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

CommandOutcome NetnsRig::run_in(size_t i, const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) const {
  return run_command(netns_argv(i, argv), timeout);
}

pid_t NetnsRig::spawn_in(size_t i, const std::vector<std::string>& argv, const fs::path& log_file) {
  lifecycle::SpawnOptions options;
  options.argv = netns_argv(i, argv);
  options.log_file = log_file;
  auto pid = lifecycle::spawn_process(options);
  if (!pid) {
    throw std::runtime_error("netns rig: cannot start " + join(argv) + ": " + pid.error().message);
  }
  spawned_.push_back(*pid);
  track(*pid);
  return *pid;
}

void NetnsRig::set_link(size_t i, bool up) {
  (void)name(i);  // throws when there is no namespace i
  must({ip_path(), "-n", switch_name_, "link", "set", "p" + std::to_string(i), up ? "up" : "down"});
}

bool NetnsRig::reachable(size_t i, int port, std::chrono::milliseconds timeout) const {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address(i).c_str(), &target.sin_addr);
  bool connected = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0) {
    connected = true;
  } else if (errno == EINPROGRESS) {
    pollfd poll_fd{fd, POLLOUT, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(timeout.count())) == 1) {
      int error = 0;
      socklen_t length = sizeof(error);
      connected = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
  }
  ::close(fd);
  return connected;
}

std::vector<pid_t> NetnsRig::sshd_pids() const {
  std::vector<pid_t> pids;
  for (const auto& host : hosts_) {
    if (host.sshd > 0) pids.push_back(host.sshd);
  }
  return pids;
}

void NetnsRig::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  const std::string ip = ip_path();
  std::vector<pid_t> started = spawned_;
  for (const auto& host : hosts_) {
    if (host.sshd > 0) started.push_back(host.sshd);
  }
  for (pid_t pid : started) {
    ::kill(pid, SIGKILL);
    lifecycle::poll_until([pid] { return !lifecycle::process_alive(pid); }, 2s, 50ms);
    untrack(pid);
  }
  std::vector<std::string> namespaces;
  for (const auto& host : hosts_) namespaces.push_back(host.name);
  if (!switch_name_.empty()) namespaces.push_back(switch_name_);
  std::vector<std::string> existing = namespace_names(ip);
  for (const auto& ns : namespaces) {
    if (std::find(existing.begin(), existing.end(), ns) == existing.end()) continue;
    kill_namespace_processes(ip, ns);
    run_command({ip, "netns", "del", ns});
  }
  // Gone with its peer in the switch namespace; deleted here in case it is not.
  if (!root_interface_.empty()) {
    CommandOutcome shown = run_command({ip, "link", "show", "dev", root_interface_});
    if (shown.ok()) run_command({ip, "link", "del", root_interface_});
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::lock_guard lock(g_rigs_mutex);
  live_rigs().erase(this);
}

}  // namespace rbee::testing
