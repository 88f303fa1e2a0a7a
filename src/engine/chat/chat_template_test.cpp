#include "engine/chat/chat_template.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace rbee::engine {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."},
    {"user", "Hi"},
    {"assistant", "Hello!"},
    {"user", "Name a bee."},
};

std::string render(ChatFormat format) {
  return apply_chat_format(format, kConversation, true);
}

TEST(ChatTemplateTest, ChatML) {
  EXPECT_EQ(render(ChatFormat::kChatML),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nName a bee.<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, Llama3) {
  EXPECT_EQ(render(ChatFormat::kLlama3),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nName a bee.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, Llama2) {
  EXPECT_EQ(
      render(ChatFormat::kLlama2),
      "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Name a bee. [/INST]");
}

TEST(ChatTemplateTest, Mistral) {
  EXPECT_EQ(render(ChatFormat::kMistral),
            "[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Name a bee. [/INST]");
}

TEST(ChatTemplateTest, Zephyr) {
  EXPECT_EQ(render(ChatFormat::kZephyr),
            "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
            "<|user|>\nName a bee.</s>\n<|assistant|>\n");
}

TEST(ChatTemplateTest, Phi3) {
  EXPECT_EQ(render(ChatFormat::kPhi3),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
            "<|user|>\nName a bee.<|end|>\n<|assistant|>\n");
}

TEST(ChatTemplateTest, GemmaFoldsTheSystemPromptAndSaysModel) {
  EXPECT_EQ(render(ChatFormat::kGemma),
            "<start_of_turn>user\nBe "
            "brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nName a bee.<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplateTest, WithoutGenerationPrompt) {
  std::vector<ChatMessage> one = {{"user", "Hi"}};
  EXPECT_EQ(apply_chat_format(ChatFormat::kChatML, one, false), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, DetectsFamiliesFromTheirTemplates) {
  struct Case {
    const char* snippet;
    ChatFormat format;
  };
  std::vector<Case> cases = {
      {"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}",
       ChatFormat::kChatML},
      {"{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}",
       ChatFormat::kLlama3},
      {"{{ '<start_of_turn>' + role + '\\n' }}", ChatFormat::kGemma},
      {"{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + "
       "'<|end|>'}}{{'<|assistant|>'}}",
       ChatFormat::kPhi3},
      {"{{ '<|user|>\\n' + message['content'] + eos_token }} </s>", ChatFormat::kZephyr},
      {"[INST] <<SYS>>\\n' + system_message + '\\n<</SYS>>", ChatFormat::kLlama2},
      {"{{ '[INST] ' + message['content'] + ' [/INST]' }}", ChatFormat::kMistral},
  };
  for (const auto& c : cases) {
    auto choice = detect_chat_format(c.snippet);
    EXPECT_EQ(choice.format, c.format) << c.snippet;
    EXPECT_FALSE(choice.fell_back);
  }
}

TEST(ChatTemplateTest, UnknownTemplateFallsBackToChatMLAndSaysSo) {
  auto choice = detect_chat_format("{{ something new }}");
  EXPECT_EQ(choice.format, ChatFormat::kChatML);
  EXPECT_TRUE(choice.fell_back);
  EXPECT_TRUE(detect_chat_format("").fell_back);
  EXPECT_EQ(chat_format_name(ChatFormat::kPhi3), "phi3");
}

}  // namespace
}  // namespace rbee::engine
