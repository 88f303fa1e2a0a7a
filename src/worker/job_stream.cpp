#include "worker/job_stream.hpp"

#include "http/sse.hpp"

namespace rbee::worker {
namespace {

using contracts::Json;
using Clock = std::chrono::steady_clock;

std::string json_text(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string sse_data(const std::string& data) {
  return http::format_sse_event({"", "", data});
}

// What a response's producer holds: the submission, counted as an open stream while the
// server keeps the response. When the server drops it (done, or never run because the client
// left first), the job is cancelled, which frees its slot if it still runs.
class ResponseState {
 public:
  ResponseState(Submission submission, std::atomic<int>& open_streams)
      : submission_(std::move(submission)), open_streams_(open_streams) {
    ++open_streams_;
  }
  ~ResponseState() {
    submission_.job->cancel();
    --open_streams_;
  }
  ResponseState(const ResponseState&) = delete;
  ResponseState& operator=(const ResponseState&) = delete;

  const Submission& submission() const { return submission_; }

 private:
  Submission submission_;
  std::atomic<int>& open_streams_;
};

// One job's output towards one client. A failed write cancels the job.
class JobWriter {
 public:
  JobWriter(http::StreamSink& sink, const Submission& submission, bool stream)
      : sink_(sink), job_(*submission.job), meta_(submission.meta), stream_(stream) {}

  void run() {
    if (stream_ && meta_.api == contracts::OpenAiApi::kChatCompletions &&
        !send(sse_data(json_text(contracts::openai_role_chunk(meta_))))) {
      return;
    }
    const auto quiet_limit = stream_ ? kStreamKeepAliveInterval : kBodyProbeInterval;
    GenerationJob::Update update;
    std::string text;  // the whole answer of a plain response
    while (true) {
      update = job_.wait(last_write_ + quiet_limit);
      if (!sink_.is_open()) {
        job_.cancel();
        return;
      }
      if (!update.text.empty()) {
        if (!stream_) {
          text += update.text;
        } else if (!send(sse_data(json_text(contracts::openai_text_chunk(meta_, update.text))))) {
          return;
        }
      }
      if (update.finished) break;
      if (Clock::now() >= last_write_ + quiet_limit &&
          !send(stream_ ? std::string(http::kSseKeepAlive) : std::string(" "))) {
        return;
      }
    }
    finish(update, text);
  }

 private:
  bool send(const std::string& data) {
    if (sink_.write(data)) {
      last_write_ = Clock::now();
      return true;
    }
    job_.cancel();
    return false;
  }

  void finish(const GenerationJob::Update& update, const std::string& text) {
    const contracts::OpenAiUsage usage{update.n_prompt_tokens, update.n_completion_tokens};
    if (update.error) {
      // The status line went out already: the error travels in the body (as OpenAI's streams
      // carry errors), and a stream still ends with [DONE].
      const std::string body = json_text(contracts::openai_error_body(*update.error));
      if (stream_) {
        if (send(sse_data(body))) send(sse_data(contracts::kOpenAiStreamDone));
      } else {
        send(body);
      }
      return;
    }
    if (!stream_) {
      send(json_text(contracts::openai_response(meta_, text, update.finish_reason, usage)));
      return;
    }
    if (!send(sse_data(json_text(contracts::openai_finish_chunk(meta_, update.finish_reason))))) {
      return;
    }
    if (meta_.include_usage &&
        !send(sse_data(json_text(contracts::openai_usage_chunk(meta_, usage))))) {
      return;
    }
    send(sse_data(contracts::kOpenAiStreamDone));
  }

  http::StreamSink& sink_;
  GenerationJob& job_;
  const contracts::OpenAiResponseMeta& meta_;
  const bool stream_;
  Clock::time_point last_write_ = Clock::now();
};

}  // namespace

http::Response job_response(Submission submission, bool stream, std::atomic<int>& open_streams) {
  http::Response response;
  response.status = 200;
  response.content_type = stream ? "text/event-stream" : "application/json";
  auto state = std::make_shared<ResponseState>(std::move(submission), open_streams);
  response.stream = [state, stream](http::StreamSink& sink) {
    JobWriter(sink, state->submission(), stream).run();
  };
  return response;
}

}  // namespace rbee::worker
