// Chat templates: detection from real templates' distinctive markers, and the exact string each
// format produces for a system + user + assistant + user conversation; token display labels.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/files.h"
#include "text/chat_template.h"
#include "text/token_label.h"

namespace ds {
namespace {

// Excerpts of the Jinja templates the families ship (enough to carry their markers).
constexpr const char* k_chatml_jinja =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
constexpr const char* k_llama2_jinja =
    "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] + "
    "'\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + content + ' [/INST]' }}";
constexpr const char* k_llama3_jinja =
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}";
constexpr const char* k_mistral_jinja =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + "
    "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
constexpr const char* k_zephyr_jinja =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token "
    "}}{% elif message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + eos_token }}{% endif %}{% endfor %}";
constexpr const char* k_gemma_jinja =
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% if add_generation_prompt "
    "%}{{'<start_of_turn>model\\n'}}{% endif %}";
constexpr const char* k_phi3_jinja =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{'<|user|>' + '\\n' + message['content'] + "
    "'<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}{% endif %}{% endfor %}";

TEST(ChatTemplate, DetectsEachFamilyFromItsMarkers) {
  EXPECT_EQ(detect_chat_template(k_chatml_jinja), ChatTemplateKind::ChatML);
  EXPECT_EQ(detect_chat_template(k_llama2_jinja), ChatTemplateKind::Llama2);
  EXPECT_EQ(detect_chat_template(k_llama3_jinja), ChatTemplateKind::Llama3);
  EXPECT_EQ(detect_chat_template(k_mistral_jinja), ChatTemplateKind::Mistral);
  EXPECT_EQ(detect_chat_template(k_zephyr_jinja), ChatTemplateKind::Zephyr);
  EXPECT_EQ(detect_chat_template(k_gemma_jinja), ChatTemplateKind::Gemma);
  EXPECT_EQ(detect_chat_template(k_phi3_jinja), ChatTemplateKind::Phi3);
  EXPECT_EQ(detect_chat_template(""), ChatTemplateKind::Plain);
  EXPECT_EQ(detect_chat_template("{{ messages }}"), ChatTemplateKind::Plain);
}

TEST(ChatTemplate, NamesRoundTripAndUnknownNamesAreErrors) {
  for (auto k : {ChatTemplateKind::Plain, ChatTemplateKind::ChatML, ChatTemplateKind::Llama2, ChatTemplateKind::Llama3,
                 ChatTemplateKind::Mistral, ChatTemplateKind::Zephyr, ChatTemplateKind::Gemma, ChatTemplateKind::Phi3})
    EXPECT_EQ(parse_chat_template_name(chat_template_name(k)), k);
  EXPECT_ERROR(parse_chat_template_name("alpaca"), "unknown chat template 'alpaca'");
}

const std::vector<ChatMessage> k_conversation = {
    {Role::System, "Be brief."},
    {Role::User, "Bonjour, ça va ?"},
    {Role::Assistant, "Oui, merci."},
    {Role::User, "مرحبا"},
};
const ChatSpecialTokens k_special{"<s>", "</s>"};

struct FormatCase {
  ChatTemplateKind kind;
  std::string expected;  // with the generation prompt
};

class ChatFormat : public testing::TestWithParam<FormatCase> {};

TEST_P(ChatFormat, FormatsSystemUserAssistantUserExactly) {
  EXPECT_EQ(format_chat(GetParam().kind, k_conversation, true, k_special), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Templates, ChatFormat,
    testing::Values(
        FormatCase{ChatTemplateKind::ChatML,
                   "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nBonjour, ça va ?<|im_end|>\n"
                   "<|im_start|>assistant\nOui, merci.<|im_end|>\n<|im_start|>user\nمرحبا<|im_end|>\n"
                   "<|im_start|>assistant\n"},
        FormatCase{ChatTemplateKind::Llama2,
                   "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nBonjour, ça va ? [/INST] Oui, merci. </s><s>[INST] مرحبا "
                   "[/INST]"},
        FormatCase{ChatTemplateKind::Llama3,
                   "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nBonjour, ça va ?<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\nOui, merci.<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nمرحبا<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n"},
        FormatCase{ChatTemplateKind::Mistral, "[INST] Be brief.\n\nBonjour, ça va ? [/INST]Oui, merci.</s>[INST] مرحبا [/INST]"},
        FormatCase{ChatTemplateKind::Zephyr,
                   "<|system|>\nBe brief.</s>\n<|user|>\nBonjour, ça va ?</s>\n<|assistant|>\nOui, merci.</s>\n"
                   "<|user|>\nمرحبا</s>\n<|assistant|>\n"},
        FormatCase{ChatTemplateKind::Gemma,
                   "<start_of_turn>user\nBe brief.\n\nBonjour, ça va ?<end_of_turn>\n<start_of_turn>model\nOui, "
                   "merci.<end_of_turn>\n<start_of_turn>user\nمرحبا<end_of_turn>\n<start_of_turn>model\n"},
        FormatCase{ChatTemplateKind::Phi3,
                   "<|system|>\nBe brief.<|end|>\n<|user|>\nBonjour, ça va ?<|end|>\n<|assistant|>\nOui, merci.<|end|>\n"
                   "<|user|>\nمرحبا<|end|>\n<|assistant|>\n"},
        FormatCase{ChatTemplateKind::Plain, "Be brief.\n\nBonjour, ça va ?Oui, merci.مرحبا"}),
    [](const testing::TestParamInfo<FormatCase>& info) { return std::string(chat_template_name(info.param.kind)); });

TEST(ChatTemplate, WithoutGenerationPromptEndsAfterTheLastTurn) {
  std::vector<ChatMessage> m = {{Role::User, "Hi"}, {Role::Assistant, "Hello"}};
  EXPECT_EQ(format_chat(ChatTemplateKind::ChatML, m, false),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n");
  EXPECT_EQ(format_chat(ChatTemplateKind::Gemma, m, false),
            "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n");
}

TEST(ChatTemplate, NoSystemPromptWritesNoSystemBlock) {
  std::vector<ChatMessage> m = {{Role::System, ""}, {Role::User, "Hi"}};
  EXPECT_EQ(format_chat(ChatTemplateKind::Llama2, m, true, k_special), "[INST] Hi [/INST]");
  EXPECT_EQ(format_chat(ChatTemplateKind::Phi3, m, true), "<|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(ChatTemplate, StopStringsEndAnAssistantTurn) {
  EXPECT_TRUE(chat_stop_strings(ChatTemplateKind::Plain).empty());
  auto s = chat_stop_strings(ChatTemplateKind::ChatML);
  EXPECT_NE(std::find(s.begin(), s.end(), "<|im_end|>"), s.end());
}

TEST(TokenLabel, ShowsTextSpacesControlsAndSplitCharacters) {
  EXPECT_EQ(token_label_from_bytes("hello"), "hello");
  EXPECT_EQ(token_label_from_bytes(" café"), "·café");
  EXPECT_EQ(token_label_from_bytes("مرحبا"), "مرحبا");
  EXPECT_EQ(token_label_from_bytes("a\nb\t"), "a↵b⇥");
  EXPECT_EQ(token_label_from_bytes(""), "∅");
  // "→" is E2 86 92: a token holding only its first byte, or its last two.
  EXPECT_EQ(token_label_from_bytes("\xE2"), "⟨0xE2⟩");
  EXPECT_EQ(token_label_from_bytes("\x86\x92"), "⟨0x86⟩⟨0x92⟩");
  EXPECT_EQ(token_label_from_bytes(std::string("x\0y", 3)), "x⟨0x00⟩y");
  EXPECT_EQ(token_label_from_bytes("\xC2\x85"), "⟨0xC2⟩⟨0x85⟩");  // U+0085, a C1 control
}

}  // namespace
}  // namespace ds
