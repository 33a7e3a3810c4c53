// Chat template detection by marker and formatting of each supported format. The formats follow
// the templates the model families publish (Hugging Face tokenizer_config.json), without the
// leading BOS (the tokenizer adds it) and without trimming message texts.
#include "text/chat_template.h"

#include <utility>

#include "util/error.h"

namespace ds {

namespace {

bool has(std::string_view s, std::string_view marker) { return s.find(marker) != std::string_view::npos; }

struct Turns {
  std::string system;                       // all system messages, joined by blank lines
  std::vector<const ChatMessage*> turns;    // user and assistant messages in order
};

Turns split(std::span<const ChatMessage> messages) {
  Turns c;
  for (const ChatMessage& m : messages) {
    if (m.role == Role::System) {
      if (m.text.empty()) continue;
      c.system += (c.system.empty() ? "" : "\n\n") + m.text;
    } else {
      c.turns.push_back(&m);
    }
  }
  return c;
}

// Formats where each turn is `open(role) + text + close`: ChatML, Llama 3, Zephyr, Phi-3, Gemma.
struct TurnStyle {
  std::string system_open, user_open, assistant_open, close;
  bool has_system_role = true;
};

std::string format_turns(const TurnStyle& st, const Turns& c, bool add_generation_prompt) {
  std::string out;
  std::string system_prefix;  // for formats without a system role: goes before the first user text
  if (!c.system.empty()) {
    if (st.has_system_role)
      out += st.system_open + c.system + st.close;
    else
      system_prefix = c.system + "\n\n";
  }
  for (const ChatMessage* m : c.turns) {
    bool user = m->role == Role::User;
    out += user ? st.user_open : st.assistant_open;
    if (user) out += std::exchange(system_prefix, {});
    out += m->text + st.close;
  }
  if (add_generation_prompt) out += st.assistant_open;
  return out;
}

// Llama 2 and Mistral: "[INST] user [/INST]" pairs; the answer follows, closed by EOS.
std::string format_inst(ChatTemplateKind kind, const Turns& c, bool add_generation_prompt,
                        const ChatSpecialTokens& sp) {
  const bool llama2 = kind == ChatTemplateKind::Llama2;
  std::string out;
  bool first_user = true;
  bool after_answer = false;
  for (const ChatMessage* m : c.turns) {
    if (m->role == Role::User) {
      if (after_answer && llama2) out += sp.bos;  // Llama 2 opens every later turn with BOS
      std::string text = m->text;
      if (first_user && !c.system.empty())
        text = llama2 ? "<<SYS>>\n" + c.system + "\n<</SYS>>\n\n" + text : c.system + "\n\n" + text;
      out += "[INST] " + text + " [/INST]";
      first_user = false;
      after_answer = false;
    } else {
      out += (llama2 ? " " + m->text + " " : m->text) + sp.eos;
      after_answer = true;
    }
  }
  (void)add_generation_prompt;  // the model answers right after "[/INST]": nothing to add
  return out;
}

std::string format_plain(const Turns& c) {
  std::string out = c.system.empty() ? "" : c.system + "\n\n";
  for (const ChatMessage* m : c.turns) out += m->text;
  return out;
}

}  // namespace

const char* chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::Plain: return "plain";
    case ChatTemplateKind::ChatML: return "chatml";
    case ChatTemplateKind::Llama2: return "llama2";
    case ChatTemplateKind::Llama3: return "llama3";
    case ChatTemplateKind::Mistral: return "mistral";
    case ChatTemplateKind::Zephyr: return "zephyr";
    case ChatTemplateKind::Gemma: return "gemma";
    case ChatTemplateKind::Phi3: return "phi3";
  }
  return "?";
}

ChatTemplateKind parse_chat_template_name(std::string_view name) {
  for (auto k : {ChatTemplateKind::Plain, ChatTemplateKind::ChatML, ChatTemplateKind::Llama2, ChatTemplateKind::Llama3,
                 ChatTemplateKind::Mistral, ChatTemplateKind::Zephyr, ChatTemplateKind::Gemma, ChatTemplateKind::Phi3})
    if (name == chat_template_name(k)) return k;
  fail("[chat] unknown chat template '", name, "' (plain, chatml, llama2, llama3, mistral, zephyr, gemma, phi3)");
}

ChatTemplateKind detect_chat_template(std::string_view t) {
  if (has(t, "<|im_start|>")) return ChatTemplateKind::ChatML;
  if (has(t, "<|start_header_id|>")) return ChatTemplateKind::Llama3;
  if (has(t, "<start_of_turn>")) return ChatTemplateKind::Gemma;
  if (has(t, "<|user|>")) return has(t, "<|end|>") ? ChatTemplateKind::Phi3 : ChatTemplateKind::Zephyr;
  if (has(t, "[INST]")) return has(t, "<<SYS>>") ? ChatTemplateKind::Llama2 : ChatTemplateKind::Mistral;
  return ChatTemplateKind::Plain;
}

std::string format_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt,
                        const ChatSpecialTokens& special) {
  Turns c = split(messages);
  switch (kind) {
    case ChatTemplateKind::Plain:
      return format_plain(c);
    case ChatTemplateKind::ChatML:
      return format_turns({"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n", "<|im_end|>\n"}, c,
                          add_generation_prompt);
    case ChatTemplateKind::Llama3:
      return format_turns({"<|start_header_id|>system<|end_header_id|>\n\n", "<|start_header_id|>user<|end_header_id|>\n\n",
                           "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"},
                          c, add_generation_prompt);
    case ChatTemplateKind::Zephyr:
      return format_turns({"<|system|>\n", "<|user|>\n", "<|assistant|>\n", special.eos + "\n"}, c,
                          add_generation_prompt);
    case ChatTemplateKind::Phi3:
      return format_turns({"<|system|>\n", "<|user|>\n", "<|assistant|>\n", "<|end|>\n"}, c, add_generation_prompt);
    case ChatTemplateKind::Gemma:
      return format_turns({"", "<start_of_turn>user\n", "<start_of_turn>model\n", "<end_of_turn>\n", false}, c,
                          add_generation_prompt);
    case ChatTemplateKind::Llama2:
    case ChatTemplateKind::Mistral:
      return format_inst(kind, c, add_generation_prompt, special);
  }
  fail("[chat] unhandled template kind ", int(kind));
}

std::vector<std::string> chat_stop_strings(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::Plain: return {};
    case ChatTemplateKind::ChatML: return {"<|im_end|>", "<|im_start|>"};
    case ChatTemplateKind::Llama3: return {"<|eot_id|>", "<|start_header_id|>"};
    case ChatTemplateKind::Llama2:
    case ChatTemplateKind::Mistral: return {"[INST]"};
    case ChatTemplateKind::Zephyr: return {"</s>", "<|user|>"};
    case ChatTemplateKind::Gemma: return {"<end_of_turn>", "<start_of_turn>"};
    case ChatTemplateKind::Phi3: return {"<|end|>", "<|user|>"};
  }
  return {};
}

}  // namespace ds
