#pragma once

// Turning chat `messages` into a prompt for the common model families. rbee does not run
// Jinja: it recognises the family from the model's `tokenizer.chat_template` and writes that
// family's format itself. Unknown templates fall back to ChatML, and say so.

#include <span>
#include <string>
#include <string_view>

namespace rbee::engine {

enum class ChatFormat { kChatML, kLlama2, kLlama3, kMistral, kZephyr, kGemma, kPhi3 };

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct ChatFormatChoice {
  ChatFormat format = ChatFormat::kChatML;
  bool fell_back = false;  // the template was not recognised (or absent)
};

// Recognises the family of a Jinja chat template by the markers it writes.
ChatFormatChoice detect_chat_format(std::string_view jinja_template);

// "chatml", "llama2", ...
std::string_view chat_format_name(ChatFormat format);

// The prompt text. Special tokens appear as their text (the tokenizer must parse them); the
// leading BOS is not written, since the tokenizer adds it. With add_generation_prompt the text
// ends where the assistant's reply begins.
std::string apply_chat_format(ChatFormat format, std::span<const ChatMessage> messages,
                              bool add_generation_prompt);

}  // namespace rbee::engine
