#include "contracts/openai.hpp"

#include <limits>

#include "common/random.hpp"

namespace rbee::contracts {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Reads the fields of one request, remembering which field a failure was about.
class FieldReader {
 public:
  FieldReader(const Json& body, std::string* error_param)
      : reader_(body, ""), error_param_(error_param) {}

  ObjectReader& reader() { return reader_; }

  // Passes `status` through; on failure, `param` becomes the error's param.
  Status about(const std::string& param, Status status) {
    if (!status && error_param_) *error_param_ = param;
    return status;
  }
  Error fail(const std::string& param, std::string message) {
    if (error_param_) *error_param_ = param;
    return invalid(std::move(message));
  }

  // An optional number that must lie in [min, max].
  Status number_in(const char* key, double min, double max, std::optional<double>& out) {
    double value = 0;
    const bool present = reader_.optional_value(key) != nullptr;
    RBEE_RETURN_IF_ERROR(about(key, reader_.optional_number(key, value)));
    if (!present) return ok_status();
    if (!(value >= min && value <= max)) {
      return fail(key, "field '" + std::string(key) + "' must be between " + number_text(min) +
                           " and " + number_text(max) + ", got " + number_text(value));
    }
    out = value;
    return ok_status();
  }

  // An optional integer that must be at least `min`.
  Status int_at_least(const char* key, int64_t min, std::optional<int64_t>& out) {
    int64_t value = 0;
    const bool present = reader_.optional_value(key) != nullptr;
    RBEE_RETURN_IF_ERROR(about(key, reader_.optional_int(key, value)));
    if (!present) return ok_status();
    if (value < min) {
      return fail(key, "field '" + std::string(key) + "' must be at least " + std::to_string(min) +
                           ", got " + std::to_string(value));
    }
    out = value;
    return ok_status();
  }

 private:
  static std::string number_text(double value) {
    Json number = value;
    return number.dump();
  }

  ObjectReader reader_;
  std::string* error_param_;
};

// "stop": null, a string, or an array of up to four strings. Empty strings stop nothing.
Status read_stop(FieldReader& fields, std::vector<std::string>& out) {
  const Json* stop = fields.reader().optional_value("stop");
  if (!stop) return ok_status();
  if (stop->is_string()) {
    if (!stop->get<std::string>().empty()) out.push_back(stop->get<std::string>());
    return ok_status();
  }
  if (!stop->is_array()) {
    return fields.fail("stop", "field 'stop' must be a string or an array of strings, got " +
                                   std::string(stop->type_name()));
  }
  if (stop->size() > kOpenAiMaxStop) {
    return fields.fail("stop", "field 'stop' holds " + std::to_string(stop->size()) +
                                   " strings; at most " + std::to_string(kOpenAiMaxStop) +
                                   " are allowed");
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    const Json& item = (*stop)[i];
    if (!item.is_string()) {
      return fields.fail("stop", "field 'stop[" + std::to_string(i) + "]' must be a string, got " +
                                     std::string(item.type_name()));
    }
    if (!item.get<std::string>().empty()) out.push_back(item.get<std::string>());
  }
  return ok_status();
}

Status read_params(FieldReader& fields, OpenAiGenerationParams& params) {
  ObjectReader& reader = fields.reader();
  RBEE_RETURN_IF_ERROR(fields.about("model", reader.optional_string("model", params.model)));
  // max_completion_tokens is the newer name (chat); it wins when both are given.
  RBEE_RETURN_IF_ERROR(fields.int_at_least("max_tokens", 1, params.max_tokens));
  RBEE_RETURN_IF_ERROR(fields.int_at_least("max_completion_tokens", 1, params.max_tokens));
  RBEE_RETURN_IF_ERROR(fields.number_in("temperature", 0, 2, params.temperature));
  RBEE_RETURN_IF_ERROR(fields.number_in("top_p", 0, 1, params.top_p));
  RBEE_RETURN_IF_ERROR(fields.int_at_least("top_k", 0, params.top_k));
  RBEE_RETURN_IF_ERROR(fields.number_in("min_p", 0, 1, params.min_p));
  RBEE_RETURN_IF_ERROR(fields.number_in("presence_penalty", -2, 2, params.presence_penalty));
  RBEE_RETURN_IF_ERROR(fields.number_in("frequency_penalty", -2, 2, params.frequency_penalty));
  RBEE_RETURN_IF_ERROR(
      fields.int_at_least("seed", std::numeric_limits<int64_t>::min(), params.seed));
  RBEE_RETURN_IF_ERROR(read_stop(fields, params.stop));
  std::optional<int64_t> n;
  RBEE_RETURN_IF_ERROR(fields.int_at_least("n", std::numeric_limits<int64_t>::min(), n));
  if (n && *n != 1) {
    return fields.fail("n",
                       "field 'n' must be 1: one choice per request, got " + std::to_string(*n));
  }
  RBEE_RETURN_IF_ERROR(fields.about("stream", reader.optional_bool("stream", params.stream)));
  if (const Json* options = reader.optional_value("stream_options")) {
    ObjectReader stream_options(*options, "stream_options");
    RBEE_RETURN_IF_ERROR(fields.about("stream_options", stream_options.expect_object()));
    RBEE_RETURN_IF_ERROR(
        fields.about("stream_options.include_usage",
                     stream_options.optional_bool("include_usage", params.include_usage)));
  }
  return ok_status();
}

Status read_prompt(FieldReader& fields, std::string& out) {
  const Json* prompt = fields.reader().optional_value("prompt");
  if (!prompt) return fields.fail("prompt", "missing field 'prompt'");
  if (prompt->is_string()) {
    out = prompt->get<std::string>();
    return ok_status();
  }
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    out = (*prompt)[0].get<std::string>();
    return ok_status();
  }
  if (prompt->is_array() && prompt->size() > 1 && (*prompt)[0].is_string()) {
    return fields.fail("prompt", "field 'prompt' holds " + std::to_string(prompt->size()) +
                                     " prompts; one request takes one prompt");
  }
  return fields.fail("prompt", "field 'prompt' must be a string or an array of one string, got " +
                                   std::string(prompt->type_name()));
}

// "content": a string, null (an assistant turn without text), or an array of content parts
// of which only {"type":"text","text":...} are understood.
Status read_content(FieldReader& fields, const Json& message, const std::string& path,
                    std::string& out) {
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return ok_status();
  if (it->is_string()) {
    out = it->get<std::string>();
    return ok_status();
  }
  const std::string param = path + ".content";
  if (!it->is_array()) {
    return fields.fail(param, "field '" + param + "' must be a string or an array of parts, got " +
                                  std::string(it->type_name()));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& part = (*it)[i];
    const std::string part_path = param + "[" + std::to_string(i) + "]";
    ObjectReader reader(part, part_path);
    std::string type;
    std::string text;
    RBEE_RETURN_IF_ERROR(fields.about(part_path, reader.expect_object()));
    RBEE_RETURN_IF_ERROR(fields.about(part_path + ".type", reader.required_string("type", type)));
    if (type != "text") {
      return fields.fail(part_path + ".type", "field '" + part_path +
                                                  ".type': content parts of type '" + type +
                                                  "' are not supported (only 'text')");
    }
    RBEE_RETURN_IF_ERROR(fields.about(part_path + ".text", reader.required_string("text", text)));
    out += text;
  }
  return ok_status();
}

Status read_messages(FieldReader& fields, std::vector<OpenAiChatMessage>& out) {
  const Json* messages = fields.reader().optional_value("messages");
  if (!messages) return fields.fail("messages", "missing field 'messages'");
  if (!messages->is_array()) {
    return fields.fail(
        "messages", "field 'messages' must be an array, got " + std::string(messages->type_name()));
  }
  if (messages->empty()) {
    return fields.fail("messages", "field 'messages' must hold at least one message");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "]";
    const Json& item = (*messages)[i];
    ObjectReader reader(item, path);
    RBEE_RETURN_IF_ERROR(fields.about(path, reader.expect_object()));
    OpenAiChatMessage message;
    RBEE_RETURN_IF_ERROR(
        fields.about(path + ".role", reader.required_string("role", message.role)));
    if (message.role == "developer") message.role = "system";
    if (message.role != "system" && message.role != "user" && message.role != "assistant") {
      return fields.fail(path + ".role", "field '" + path + ".role': unknown role '" +
                                             message.role +
                                             "' (system, developer, user or assistant)");
    }
    RBEE_RETURN_IF_ERROR(read_content(fields, item, path, message.content));
    out.push_back(std::move(message));
  }
  return ok_status();
}

// The body of either endpoint: an object, the endpoint's own fields, then the shared ones.
template <typename Request, typename ReadOwnFields>
Result<Request> parse_request(const Json& body, std::string* error_param,
                              ReadOwnFields read_own_fields) {
  FieldReader fields(body, error_param);
  RBEE_RETURN_IF_ERROR(fields.about("", fields.reader().expect_object()));
  Request request;
  RBEE_RETURN_IF_ERROR(read_own_fields(fields, request));
  RBEE_RETURN_IF_ERROR(read_params(fields, request.params));
  return request;
}

}  // namespace

Result<CompletionRequest> parse_completion_request(const Json& body, std::string* error_param) {
  return parse_request<CompletionRequest>(body, error_param,
                                          [](FieldReader& fields, CompletionRequest& request) {
                                            return read_prompt(fields, request.prompt);
                                          });
}

Result<ChatCompletionRequest> parse_chat_completion_request(const Json& body,
                                                            std::string* error_param) {
  return parse_request<ChatCompletionRequest>(
      body, error_param, [](FieldReader& fields, ChatCompletionRequest& request) {
        return read_messages(fields, request.messages);
      });
}

std::string new_openai_response_id(OpenAiApi api) {
  return (api == OpenAiApi::kChatCompletions ? "chatcmpl-" : "cmpl-") + random_hex(12);
}

namespace {

bool is_chat(const OpenAiResponseMeta& meta) {
  return meta.api == OpenAiApi::kChatCompletions;
}

Json usage_json(const OpenAiUsage& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

Json text_or_null(std::string_view value) {
  return value.empty() ? Json(nullptr) : Json(std::string(value));
}

// The envelope shared by responses and chunks, with `choices`.
Json envelope(const OpenAiResponseMeta& meta, bool chunk, Json choices) {
  const char* object =
      is_chat(meta) ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  Json out{{"id", meta.id},
           {"object", object},
           {"created", meta.created},
           {"model", meta.model},
           {"system_fingerprint", nullptr},
           {"choices", std::move(choices)}};
  if (chunk && meta.include_usage) out["usage"] = nullptr;
  return out;
}

// One streamed choice: chat puts the text in `delta`, completions in `text`.
Json chunk_choice(const OpenAiResponseMeta& meta, Json delta, const std::string& text,
                  const std::string& finish_reason) {
  Json choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", text_or_null(finish_reason)}};
  if (is_chat(meta)) {
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  return Json::array({std::move(choice)});
}

}  // namespace

Json openai_response(const OpenAiResponseMeta& meta, const std::string& text,
                     const std::string& finish_reason, const OpenAiUsage& usage) {
  Json choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
  if (is_chat(meta)) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  Json out = envelope(meta, false, Json::array({std::move(choice)}));
  out["usage"] = usage_json(usage);
  return out;
}

Json openai_role_chunk(const OpenAiResponseMeta& meta) {
  return envelope(meta, true, chunk_choice(meta, {{"role", "assistant"}, {"content", ""}}, "", ""));
}

Json openai_text_chunk(const OpenAiResponseMeta& meta, const std::string& text) {
  return envelope(meta, true, chunk_choice(meta, {{"content", text}}, text, ""));
}

Json openai_finish_chunk(const OpenAiResponseMeta& meta, const std::string& finish_reason) {
  return envelope(meta, true, chunk_choice(meta, Json::object(), "", finish_reason));
}

Json openai_usage_chunk(const OpenAiResponseMeta& meta, const OpenAiUsage& usage) {
  Json out = envelope(meta, true, Json::array());
  out["usage"] = usage_json(usage);
  return out;
}

std::string_view openai_error_type(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kCancelled:
      return "invalid_request_error";
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kNotFound:
      return "not_found_error";
    case ErrorCode::kResourceExhausted:
      return "rate_limit_error";
    case ErrorCode::kUnavailable:
      return "unavailable_error";
    case ErrorCode::kDeadlineExceeded:
      return "timeout_error";
    case ErrorCode::kInternal:
      return "server_error";
  }
  return "server_error";
}

Json openai_error_body(std::string_view type, std::string_view message, std::string_view param,
                       std::string_view code) {
  return Json{{"error",
               {{"message", std::string(message)},
                {"type", std::string(type)},
                {"param", text_or_null(param)},
                {"code", text_or_null(code)}}}};
}

Json openai_error_body(const Error& error, std::string_view param) {
  return openai_error_body(openai_error_type(error.code), error.message, param,
                           wire_name(error.code));
}

}  // namespace rbee::contracts
