#include "contracts/openai.hpp"

#include <gtest/gtest.h>

namespace rbee::contracts {
namespace {

// Parses a chat body and returns the error's param (asserting that it failed).
std::string chat_error_param(const Json& body) {
  std::string param = "unset";
  auto parsed = parse_chat_completion_request(body, &param);
  EXPECT_FALSE(parsed) << body.dump();
  return param;
}

std::string completion_error_param(const Json& body) {
  std::string param = "unset";
  auto parsed = parse_completion_request(body, &param);
  EXPECT_FALSE(parsed) << body.dump();
  return param;
}

Json chat_body() {
  return Json{{"model", "stories"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
}

TEST(OpenAiTest, ParsesAFullCompletionRequest) {
  Json body = {{"model", "m"},
               {"prompt", "Once upon a time"},
               {"max_tokens", 12},
               {"temperature", 0.5},
               {"top_p", 0.9},
               {"top_k", 20},
               {"min_p", 0.1},
               {"seed", 42},
               {"stop", {"\n", "The end"}},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"n", 1},
               {"presence_penalty", 0.5},
               {"frequency_penalty", -0.5},
               {"logit_bias", Json::object()},  // unknown to rbee: ignored, as OpenAI does
               {"user", "someone"}};
  auto parsed = parse_completion_request(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->prompt, "Once upon a time");
  const auto& p = parsed->params;
  EXPECT_EQ(p.model, "m");
  EXPECT_EQ(p.max_tokens, 12);
  EXPECT_EQ(p.temperature, 0.5);
  EXPECT_EQ(p.top_p, 0.9);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_EQ(p.min_p, 0.1);
  EXPECT_EQ(p.seed, 42);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"\n", "The end"}));
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
  EXPECT_EQ(p.presence_penalty, 0.5);
  EXPECT_EQ(p.frequency_penalty, -0.5);
}

TEST(OpenAiTest, AbsentFieldsStayUnset) {
  auto parsed = parse_completion_request(Json{{"prompt", ""}});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->prompt, "");
  const auto& p = parsed->params;
  EXPECT_FALSE(p.max_tokens || p.temperature || p.top_p || p.top_k || p.min_p || p.seed);
  EXPECT_FALSE(p.stream);
  EXPECT_FALSE(p.include_usage);
  EXPECT_TRUE(p.stop.empty());
  // null is absent too.
  auto nulls = parse_completion_request(Json{{"prompt", "x"}, {"max_tokens", nullptr}});
  ASSERT_TRUE(nulls);
  EXPECT_FALSE(nulls->params.max_tokens);
}

TEST(OpenAiTest, PromptIsAStringOrAnArrayOfOneString) {
  auto one = parse_completion_request(Json{{"prompt", {"only"}}});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->prompt, "only");
  EXPECT_EQ(completion_error_param(Json{{"prompt", {"a", "b"}}}), "prompt");
  EXPECT_EQ(completion_error_param(Json{{"prompt", {1, 2, 3}}}), "prompt");
  EXPECT_EQ(completion_error_param(Json{{"prompt", 7}}), "prompt");
  EXPECT_EQ(completion_error_param(Json{{"max_tokens", 7}}), "prompt");
}

TEST(OpenAiTest, StopIsAStringOrUpToFourStrings) {
  auto single = parse_completion_request(Json{{"prompt", "x"}, {"stop", "END"}});
  ASSERT_TRUE(single);
  EXPECT_EQ(single->params.stop, (std::vector<std::string>{"END"}));
  EXPECT_EQ(completion_error_param(Json{{"prompt", "x"}, {"stop", {"a", "b", "c", "d", "e"}}}),
            "stop");
  EXPECT_EQ(completion_error_param(Json{{"prompt", "x"}, {"stop", {"a", 1}}}), "stop");
  EXPECT_EQ(completion_error_param(Json{{"prompt", "x"}, {"stop", 3}}), "stop");
}

TEST(OpenAiTest, MaxCompletionTokensIsTheNewerName) {
  Json body = chat_body();
  body["max_completion_tokens"] = 9;
  auto parsed = parse_chat_completion_request(body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->params.max_tokens, 9);
  body["max_tokens"] = 3;
  parsed = parse_chat_completion_request(body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->params.max_tokens, 9);
}

TEST(OpenAiTest, BadValuesNameTheirParam) {
  const std::vector<std::pair<const char*, Json>> cases = {
      {"max_tokens", 0},
      {"max_tokens", "ten"},
      {"max_completion_tokens", -1},
      {"temperature", 2.5},
      {"temperature", "hot"},
      {"top_p", 1.5},
      {"top_k", -1},
      {"min_p", -0.1},
      {"seed", 1.5},
      {"n", 2},
      {"stream", "yes"},
      {"presence_penalty", 3},
      {"frequency_penalty", -3},
      {"stream_options", 1},
      {"model", 5},
  };
  for (const auto& [field, value] : cases) {
    Json body = chat_body();
    body[field] = value;
    std::string param;
    auto parsed = parse_chat_completion_request(body, &param);
    ASSERT_FALSE(parsed) << field << " = " << value.dump();
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(param, field);
    EXPECT_NE(parsed.error().message.find(field), std::string::npos) << parsed.error().message;
  }
  Json body = chat_body();
  body["stream_options"] = {{"include_usage", "yes"}};
  EXPECT_EQ(chat_error_param(body), "stream_options.include_usage");
}

TEST(OpenAiTest, ParsesChatMessages) {
  Json body = {{"messages",
                {{{"role", "developer"}, {"content", "Be brief."}},
                 {{"role", "user"},
                  {"content",
                   {{{"type", "text"}, {"text", "Hello, "}}, {{"type", "text"}, {"text", "you"}}}}},
                 {{"role", "assistant"}, {"content", nullptr}}}}};
  auto parsed = parse_chat_completion_request(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->messages.size(), 3u);
  EXPECT_EQ(parsed->messages[0].role, "system");
  EXPECT_EQ(parsed->messages[0].content, "Be brief.");
  EXPECT_EQ(parsed->messages[1].content, "Hello, you");
  EXPECT_EQ(parsed->messages[2].role, "assistant");
  EXPECT_EQ(parsed->messages[2].content, "");
}

TEST(OpenAiTest, BadMessagesNameThePlace) {
  EXPECT_EQ(chat_error_param(Json{{"model", "m"}}), "messages");
  EXPECT_EQ(chat_error_param(Json{{"messages", Json::array()}}), "messages");
  EXPECT_EQ(chat_error_param(Json{{"messages", "hi"}}), "messages");
  EXPECT_EQ(chat_error_param(Json{{"messages", {{{"content", "hi"}}}}}), "messages[0].role");
  EXPECT_EQ(chat_error_param(Json{{"messages", {{{"role", "robot"}, {"content", "hi"}}}}}),
            "messages[0].role");
  EXPECT_EQ(chat_error_param(Json{{"messages", {{{"role", "user"}, {"content", 5}}}}}),
            "messages[0].content");
  Json image = {{"messages",
                 {{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", "x"}}}}}}}};
  EXPECT_EQ(chat_error_param(image), "messages[0].content[0].type");
  EXPECT_EQ(chat_error_param(Json{{"messages", {"hi"}}}), "messages[0]");
  EXPECT_EQ(chat_error_param(Json::array()), "");
}

TEST(OpenAiTest, ErrorBodyHasOpenAisShape) {
  Json body = openai_error_body("invalid_request_error", "bad", "messages", "");
  EXPECT_EQ(body["error"]["message"], "bad");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "messages");
  EXPECT_TRUE(body["error"]["code"].is_null());
  Json from_error = openai_error_body(Error{ErrorCode::kResourceExhausted, "queue full"});
  EXPECT_EQ(from_error["error"]["type"], "rate_limit_error");
  EXPECT_EQ(from_error["error"]["code"], "resource_exhausted");
  EXPECT_TRUE(from_error["error"]["param"].is_null());
  EXPECT_EQ(openai_error_type(ErrorCode::kUnauthenticated), "authentication_error");
  EXPECT_EQ(openai_error_type(ErrorCode::kNotFound), "not_found_error");
  EXPECT_EQ(openai_error_type(ErrorCode::kUnavailable), "unavailable_error");
  EXPECT_EQ(openai_error_type(ErrorCode::kInternal), "server_error");
}

OpenAiResponseMeta meta(OpenAiApi api, bool include_usage = false) {
  return OpenAiResponseMeta{api, new_openai_response_id(api), 1700000000, "stories", include_usage};
}

TEST(OpenAiTest, ResponseIdsNameTheirApi) {
  EXPECT_EQ(new_openai_response_id(OpenAiApi::kCompletions).rfind("cmpl-", 0), 0u);
  EXPECT_EQ(new_openai_response_id(OpenAiApi::kChatCompletions).rfind("chatcmpl-", 0), 0u);
  EXPECT_NE(new_openai_response_id(OpenAiApi::kCompletions),
            new_openai_response_id(OpenAiApi::kCompletions));
}

TEST(OpenAiTest, CompletionBodies) {
  auto m = meta(OpenAiApi::kCompletions);
  Json body = openai_response(m, "Once", "length", {5, 1});
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["id"], m.id);
  EXPECT_EQ(body["created"], 1700000000);
  EXPECT_EQ(body["model"], "stories");
  EXPECT_EQ(body["choices"][0]["text"], "Once");
  EXPECT_EQ(body["choices"][0]["index"], 0);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"],
            (Json{{"prompt_tokens", 5}, {"completion_tokens", 1}, {"total_tokens", 6}}));
  Json chunk = openai_text_chunk(m, "up");
  EXPECT_EQ(chunk["object"], "text_completion");
  EXPECT_EQ(chunk["choices"][0]["text"], "up");
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(chunk.contains("usage"));
  EXPECT_EQ(openai_finish_chunk(m, "stop")["choices"][0]["finish_reason"], "stop");
}

TEST(OpenAiTest, ChatBodiesAndChunks) {
  auto m = meta(OpenAiApi::kChatCompletions, true);
  Json body = openai_response(m, "Hello", "stop", {3, 2});
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"], (Json{{"role", "assistant"}, {"content", "Hello"}}));
  Json role = openai_role_chunk(m);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(role.contains("usage") && role["usage"].is_null());
  Json text = openai_text_chunk(m, "Hel");
  EXPECT_EQ(text["choices"][0]["delta"], (Json{{"content", "Hel"}}));
  Json finish = openai_finish_chunk(m, "length");
  EXPECT_EQ(finish["choices"][0]["delta"], Json::object());
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
  Json usage = openai_usage_chunk(m, {3, 2});
  EXPECT_EQ(usage["choices"], Json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 5);
}

}  // namespace
}  // namespace rbee::contracts
