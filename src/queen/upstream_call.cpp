#include "queen/upstream_call.hpp"

#include "http/client.hpp"

namespace rbee::queen {

UpstreamCall::UpstreamCall(std::string base_url, std::string token, std::string path,
                           std::string body) {
  thread_ = std::thread([this, base_url = std::move(base_url), token = std::move(token),
                         path = std::move(path), body = std::move(body)]() mutable {
    run(std::move(base_url), std::move(token), std::move(path), std::move(body));
  });
}

UpstreamCall::~UpstreamCall() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void UpstreamCall::run(std::string base_url, std::string token, std::string path,
                       std::string body) {
  // Generation may pause between tokens (a long prompt, a busy machine), never for minutes.
  http::Client client({std::move(base_url), std::move(token), 3, 600});
  auto status = client.post_stream(
      path, body,
      [this](int code, const std::string& type) {
        std::lock_guard lock(mu_);
        status_ = code;
        content_type_ = type;
        return !cancelled_;
      },
      [this](std::string_view piece) {
        std::lock_guard lock(mu_);
        if (cancelled_) return false;
        received_any_ = true;
        pieces_.emplace_back(piece);
        changed_.notify_all();
        return true;
      });
  std::lock_guard lock(mu_);
  if (!status && !cancelled_) error_ = status.error();
  ended_ = true;
  changed_.notify_all();
}

void UpstreamCall::wait_for_first_piece() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return ended_ || !pieces_.empty(); });
}

std::optional<std::string> UpstreamCall::next_piece() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return ended_ || cancelled_ || !pieces_.empty(); });
  if (cancelled_ || pieces_.empty()) return std::nullopt;
  std::string piece = std::move(pieces_.front());
  pieces_.pop_front();
  return piece;
}

void UpstreamCall::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  changed_.notify_all();
}

int UpstreamCall::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

std::string UpstreamCall::content_type() const {
  std::lock_guard lock(mu_);
  return content_type_;
}

bool UpstreamCall::received_any() const {
  std::lock_guard lock(mu_);
  return received_any_;
}

std::optional<Error> UpstreamCall::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace rbee::queen
