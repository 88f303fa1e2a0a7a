#pragma once

// One request relayed to a worker. The call runs on its own thread and hands the worker's
// answer over piece by piece, so the queen learns the status (and whether the worker is alive
// at all) before it answers its own client, relays each piece the moment it arrives, and
// closes the upstream connection when its client goes away (the worker then frees the slot).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"

namespace rbee::queen {

class UpstreamCall {
 public:
  // Starts `POST base_url + path` with `body` and the bearer token.
  UpstreamCall(std::string base_url, std::string token, std::string path, std::string body);
  // Cancels the call if it still runs, and waits for its thread.
  ~UpstreamCall();
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;

  // Waits until the first piece of the body arrived, or the call ended (failed or complete).
  void wait_for_first_piece();
  // The next piece of the body; nothing once the body ended (then check error()).
  std::optional<std::string> next_piece();
  // Closes the upstream connection; next_piece() then returns nothing.
  void cancel();

  int status() const;
  std::string content_type() const;
  // Whether any byte of the body arrived.
  bool received_any() const;
  // The transport failure (refused, dropped mid-body), once the call ended with one.
  std::optional<Error> error() const;

 private:
  void run(std::string base_url, std::string token, std::string path, std::string body);

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> pieces_;  // guarded by mu_
  int status_ = 0;                  // guarded by mu_
  std::string content_type_;        // guarded by mu_
  bool received_any_ = false;       // guarded by mu_
  bool ended_ = false;              // guarded by mu_
  bool cancelled_ = false;          // guarded by mu_
  std::optional<Error> error_;      // guarded by mu_
  std::thread thread_;
};

}  // namespace rbee::queen
