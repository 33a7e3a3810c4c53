// Chat templates: recognise the prompt format a model was tuned with from the GGUF
// `tokenizer.chat_template` (a Jinja string we do not execute) by its distinctive markers, and format
// a conversation in that format ourselves. Plain completion (base models) joins the texts.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/store_records.h"

namespace ds {

enum class ChatTemplateKind { Plain, ChatML, Llama2, Llama3, Mistral, Zephyr, Gemma, Phi3 };

const char* chat_template_name(ChatTemplateKind kind);      // "chatml", "llama2", ..., "plain"
ChatTemplateKind parse_chat_template_name(std::string_view name);  // throws ds::Error naming it

// Markers, in this order: <|im_start|> ChatML; <|start_header_id|> Llama 3; <start_of_turn> Gemma;
// <|user|> with <|end|> Phi-3, without Zephyr; [INST] with <<SYS>> Llama 2, without Mistral.
// Anything else (or an empty string) is Plain.
ChatTemplateKind detect_chat_template(std::string_view jinja);

struct ChatMessage {
  Role role = Role::User;
  std::string text;
};

// The texts of the tokenizer's BOS/EOS tokens ("<s>", "</s>"; "" when it has none). The leading
// BOS is NOT written: the tokenizer adds it when encoding (add_special), so it is never doubled.
// Inner ones (Llama 2's "</s><s>[INST]" between turns) are written and parsed as special tokens.
struct ChatSpecialTokens {
  std::string bos, eos;
};

// Formats `messages` (system messages anywhere are gathered into the one system prompt; templates
// without a system role put it before the first user message, separated by a blank line). With
// add_generation_prompt, ends with the assistant header so that the model answers next.
// Message texts are used as given (not trimmed).
std::string format_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt,
                        const ChatSpecialTokens& special = {});

// Text that ends an assistant turn in this format, beyond the tokenizer's end-of-generation
// tokens (e.g. Zephyr's "</s>" written as text); used as generate() stop strings.
std::vector<std::string> chat_stop_strings(ChatTemplateKind kind);

}  // namespace ds
