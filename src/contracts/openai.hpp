#pragma once

// OpenAI-compatible request bodies and error bodies, shared by the worker and the queen.
//
//   RBEE_ASSIGN_OR_RETURN(Json body, parse_json_text(request.body));
//   std::string param;
//   auto chat = parse_chat_completion_request(body, &param);
//   if (!chat) return 400 with openai_error_body(chat.error(), param);
//
// Parsing follows OpenAI's API reference for `POST /v1/completions` and
// `POST /v1/chat/completions`: fields this module does not know are ignored (as OpenAI does),
// known fields with a wrong type or value are refused with kInvalidArgument, a message that
// names the field, and the field path in `*error_param` (the `param` of OpenAI's error body).
// Sampling fields that are absent stay std::nullopt, so each server picks its own defaults.
//
// Error bodies: `{"error":{"message","type","param","code"}}`. The HTTP status of an rbee
// ErrorCode comes from http::http_status_for (src/http/error_mapping.cpp, the one place that
// maps codes to statuses); openai_error_type() gives the matching OpenAI `type`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::contracts {

// OpenAI allows at most this many stop sequences.
inline constexpr size_t kOpenAiMaxStop = 4;

// The fields both endpoints share.
struct OpenAiGenerationParams {
  std::string model;                        // "" when absent
  std::optional<int64_t> max_tokens;        // max_tokens or max_completion_tokens (>= 1)
  std::optional<double> temperature;        // 0..2
  std::optional<double> top_p;              // 0..1
  std::optional<int64_t> top_k;             // >= 0 (0 = off); not in OpenAI, as llama.cpp
  std::optional<double> min_p;              // 0..1; not in OpenAI, as llama.cpp
  std::optional<int64_t> seed;              // any integer
  std::optional<double> presence_penalty;   // -2..2
  std::optional<double> frequency_penalty;  // -2..2
  std::vector<std::string> stop;            // "stop": a string or up to 4 strings
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// `POST /v1/completions`.
struct CompletionRequest {
  std::string prompt;  // "prompt": a string, or an array holding one string
  OpenAiGenerationParams params;
};

struct OpenAiChatMessage {
  std::string role;     // "system" | "user" | "assistant" ("developer" is read as "system")
  std::string content;  // a string, or the text parts of an array of content parts, joined
};

// `POST /v1/chat/completions`.
struct ChatCompletionRequest {
  std::vector<OpenAiChatMessage> messages;  // at least one
  OpenAiGenerationParams params;
};

// kInvalidArgument naming the field when the body is not an object or a known field is wrong
// (prompt missing or not a string / one-string array, n other than 1, a value out of range,
// more than 4 stop strings). `error_param`, when given, receives the field path on failure.
Result<CompletionRequest> parse_completion_request(const Json& body,
                                                   std::string* error_param = nullptr);
// As above; `messages` is required and non-empty, each with a known role and text content.
Result<ChatCompletionRequest> parse_chat_completion_request(const Json& body,
                                                            std::string* error_param = nullptr);

// --- Responses ---------------------------------------------------------------------------
//
// Non-streaming: one body (`text_completion` or `chat.completion`). Streaming (`stream:true`):
// `text/event-stream` events `data: <chunk>` (`text_completion` or `chat.completion.chunk`),
// for chat first a role chunk, then text chunks, then a chunk with the finish_reason, then
// (with include_usage) a usage chunk whose choices are empty, then `data: [DONE]`.

enum class OpenAiApi { kCompletions, kChatCompletions };

// What every chunk of one response repeats.
struct OpenAiResponseMeta {
  OpenAiApi api = OpenAiApi::kCompletions;
  std::string id;       // new_openai_response_id()
  int64_t created = 0;  // Unix seconds
  std::string model;
  bool include_usage = false;  // streamed chunks carry "usage": null until the usage chunk
};

struct OpenAiUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// "cmpl-<random>" or "chatcmpl-<random>".
std::string new_openai_response_id(OpenAiApi api);

// The whole answer of a non-streaming request; finish_reason "stop" or "length".
Json openai_response(const OpenAiResponseMeta& meta, const std::string& text,
                     const std::string& finish_reason, const OpenAiUsage& usage);
// Chat only: the first chunk, `delta: {"role":"assistant","content":""}`.
Json openai_role_chunk(const OpenAiResponseMeta& meta);
// A piece of generated text.
Json openai_text_chunk(const OpenAiResponseMeta& meta, const std::string& text);
// The last choice chunk: no text, the finish_reason.
Json openai_finish_chunk(const OpenAiResponseMeta& meta, const std::string& finish_reason);
// The usage chunk of stream_options.include_usage: `choices: []`.
Json openai_usage_chunk(const OpenAiResponseMeta& meta, const OpenAiUsage& usage);
// The data of the event that ends every stream.
inline constexpr const char* kOpenAiStreamDone = "[DONE]";

// --- Errors ----------------------------------------------------------------------------------

// OpenAI's error `type` for an rbee error code: "invalid_request_error" (kInvalidArgument,
// kFailedPrecondition, kAlreadyExists, kCancelled), "authentication_error", "not_found_error",
// "rate_limit_error" (kResourceExhausted), "unavailable_error" (kUnavailable),
// "timeout_error" (kDeadlineExceeded), "server_error" (kInternal).
std::string_view openai_error_type(ErrorCode code);

// `{"error":{"message":...,"type":...,"param":...,"code":...}}`; an empty param or code is
// written as null.
Json openai_error_body(std::string_view type, std::string_view message, std::string_view param,
                       std::string_view code);
// The same for an rbee error: type from openai_error_type, code = wire_name(error.code).
Json openai_error_body(const Error& error, std::string_view param = {});

}  // namespace rbee::contracts
