// `tokenize MODEL TEXT`: token ids and pieces of a text under the model's tokenizer.
#include "common.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "model/hf_config.h"
#include "text/hf_tokenizer.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {

void add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the token ids and pieces of a text");
  struct Opts {
    std::string model, text;
    bool json = false, no_bos = false, no_special = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("text", o->text, "Text to tokenize")->required();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
  cmd->add_flag("--no-special", o->no_special, "Treat control-token texts in TEXT as plain text");
  cmd->callback([o] {
    // The tokenizer alone: vocabulary-only GGUF files and HF directories without weights work too.
    std::unique_ptr<Tokenizer> tok;
    if (is_hf_model_dir(o->model)) {
      const HfModelFiles files = find_hf_model_files(o->model);
      if (files.tokenizer.empty()) throw Error(o->model + ": no tokenizer.json");
      tok = Tokenizer::create(read_hf_tokenizer(files.tokenizer, files.tokenizer_config));
    } else {
      tok = Tokenizer::from_gguf(GgufFile(o->model));
    }
    auto ids = tok->encode(o->text, !o->no_bos && tok->add_bos(), !o->no_special);
    if (o->json) {
      JsonWriter j;
      j.begin_object().field("model", o->model).field("text", o->text).key("tokens").begin_array();
      for (int32_t id : ids) j.begin_object().field("id", id).field("piece", tok->piece(id)).end_object();
      j.end_array().end_object();
      std::printf("%s\n", j.str().c_str());
      return;
    }
    std::printf("%zu tokens\n", ids.size());
    for (int32_t id : ids) std::printf("%6d  %s\n", id, JsonWriter::escape(tok->piece(id)).c_str());
  });
}

}  // namespace ds::cli
