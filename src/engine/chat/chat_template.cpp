#include "engine/chat/chat_template.hpp"

namespace rbee::engine {
namespace {

bool contains(std::string_view text, std::string_view marker) {
  return text.find(marker) != std::string_view::npos;
}

// Formats without a system role fold the system prompt into the first user turn.
struct Folded {
  std::string system;
  std::span<const ChatMessage> rest;
};
Folded fold_system(std::span<const ChatMessage> messages) {
  if (!messages.empty() && messages.front().role == "system") {
    return {messages.front().content, messages.subspan(1)};
  }
  return {"", messages};
}

std::string chatml(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string llama3(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Meta's Llama 2 chat format: [INST] <<SYS>>...<</SYS>> user [/INST] answer </s><s>[INST] ...
std::string llama2(std::span<const ChatMessage> messages) {
  auto [system, rest] = fold_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : rest) {
    if (m.role == "user") {
      if (!first_user) out += "<s>";
      out += "[INST] ";
      if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      out += m.content + " [/INST]";
      first_user = false;
    } else if (m.role == "assistant") {
      out += " " + m.content + " </s>";
    }
  }
  return out;
}

// Mistral instruct (v0.1/v0.2): [INST] user [/INST]answer</s>[INST] ...
std::string mistral(std::span<const ChatMessage> messages) {
  auto [system, rest] = fold_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : rest) {
    if (m.role == "user") {
      out += "[INST] ";
      if (first_user && !system.empty()) out += system + "\n\n";
      out += m.content + " [/INST]";
      first_user = false;
    } else if (m.role == "assistant") {
      out += m.content + "</s>";
    }
  }
  return out;
}

// Zephyr / TinyLlama-chat: <|role|>\ncontent</s>\n
std::string zephyr(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
  if (add_generation_prompt) out += "<|assistant|>\n";
  return out;
}

std::string phi3(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (add_generation_prompt) out += "<|assistant|>\n";
  return out;
}

// Gemma has roles user and model only; a system prompt opens the first user turn.
std::string gemma(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  auto [system, rest] = fold_system(messages);
  std::string out;
  bool first_user = true;
  for (const auto& m : rest) {
    std::string role = m.role == "assistant" ? "model" : m.role;
    std::string content = m.content;
    if (m.role == "user" && first_user && !system.empty()) content = system + "\n\n" + content;
    if (m.role == "user") first_user = false;
    out += "<start_of_turn>" + role + "\n" + content + "<end_of_turn>\n";
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

ChatFormatChoice detect_chat_format(std::string_view t) {
  if (contains(t, "<|im_start|>")) return {ChatFormat::kChatML, false};
  if (contains(t, "<|start_header_id|>")) return {ChatFormat::kLlama3, false};
  if (contains(t, "<start_of_turn>")) return {ChatFormat::kGemma, false};
  if (contains(t, "<|end|>") && contains(t, "<|assistant|>")) return {ChatFormat::kPhi3, false};
  if (contains(t, "<|user|>") && contains(t, "</s>")) return {ChatFormat::kZephyr, false};
  if (contains(t, "[INST]") && contains(t, "<<SYS>>")) return {ChatFormat::kLlama2, false};
  if (contains(t, "[INST]")) return {ChatFormat::kMistral, false};
  return {ChatFormat::kChatML, true};
}

std::string_view chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::kChatML:
      return "chatml";
    case ChatFormat::kLlama2:
      return "llama2";
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kMistral:
      return "mistral";
    case ChatFormat::kZephyr:
      return "zephyr";
    case ChatFormat::kGemma:
      return "gemma";
    case ChatFormat::kPhi3:
      return "phi3";
  }
  return "chatml";
}

std::string apply_chat_format(ChatFormat format, std::span<const ChatMessage> messages,
                              bool add_generation_prompt) {
  switch (format) {
    case ChatFormat::kChatML:
      return chatml(messages, add_generation_prompt);
    case ChatFormat::kLlama3:
      return llama3(messages, add_generation_prompt);
    case ChatFormat::kLlama2:
      return llama2(messages);
    case ChatFormat::kMistral:
      return mistral(messages);
    case ChatFormat::kZephyr:
      return zephyr(messages, add_generation_prompt);
    case ChatFormat::kPhi3:
      return phi3(messages, add_generation_prompt);
    case ChatFormat::kGemma:
      return gemma(messages, add_generation_prompt);
  }
  return chatml(messages, add_generation_prompt);
}

}  // namespace rbee::engine
