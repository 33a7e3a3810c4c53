// Plain records that go in and out of the DistilScope store (distilscope/store.h): models,
// conversations and messages, runs with their tokens, teacher-student divergence, compressed
// blobs (attention rows, activation statistics) and training steps. No SQL, no Qt.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

// Times are milliseconds since the Unix epoch (UTC); 0 in a record passed in means "now".
int64_t now_ms();

enum class Role { System, User, Assistant };
enum class RunKind { Generate, Trace, Compare, Pretrain, Distill, Eval };
enum class RunStatus { Running, Done, Failed, Cancelled };

// Lowercase names as stored in the database ("assistant", "distill", "done"); parse_* throws
// ds::Error naming the unknown value.
const char* to_string(Role);
const char* to_string(RunKind);
const char* to_string(RunStatus);
Role parse_role(std::string_view);
RunKind parse_run_kind(std::string_view);
RunStatus parse_run_status(std::string_view);

// A model file, identified by path and content hash (the same path with new contents is a new row).
struct ModelRecord {
  int64_t id = 0;
  std::string path;
  std::string sha256;              // 64 lowercase hex digits of the whole file
  int64_t size_bytes = 0;
  std::string architecture;        // "llama", "hybrid", ...
  std::string layer_layout;        // one letter per layer ("AAMA": attention/Mamba) or JSON
  int64_t added_at = 0;
  std::optional<int64_t> file_mtime_ns;  // file modification time when hashed (v2; lets a re-open skip hashing)
};

struct Conversation {
  int64_t id = 0;
  std::string title;
  std::string mode = "chat";       // which view created it: "chat", "compare", ...
  std::string system_prompt;
  std::string settings_json = "{}";  // sampler and model settings, as the app writes them
  int64_t created_at = 0;
  int64_t updated_at = 0;          // bumped by every change and every appended message
};

struct Message {
  int64_t id = 0;
  int64_t conversation_id = 0;
  int32_t position = 0;            // order in the conversation, 0-based; assigned by append_message
  Role role = Role::User;
  std::string text;
  int64_t model_id = 0;            // model that wrote it (0: none, e.g. user messages)
  int64_t run_id = 0;              // generation run that produced it (0: none)
  int64_t created_at = 0;
};

// One conversation matching a search. message_id 0 means the title matched.
struct SearchHit {
  int64_t conversation_id = 0;
  std::string title;
  int64_t updated_at = 0;
  int64_t message_id = 0;
  std::string snippet;             // a few words of the matching message around the match
};

struct Run {
  int64_t id = 0;
  RunKind kind = RunKind::Generate;
  RunStatus status = RunStatus::Running;
  int64_t created_at = 0;
  int64_t finished_at = 0;         // 0 while running
  std::string prompt;
  std::string config_json = "{}";  // sampler, probes, training hyper-parameters, ...
  int64_t model_id = 0;            // the model that ran (the student in compare/distill); 0: none
  int64_t teacher_model_id = 0;    // compare/distill teacher; 0: none
  int64_t conversation_id = 0;     // chat that started it; 0: none
  std::string error;               // why it failed
};

// One of the most likely tokens at a position, with its text so a replay needs no tokenizer.
struct TokenAlt {
  int32_t token_id = 0;
  float prob = 0;
  std::string piece;
  bool operator==(const TokenAlt&) const = default;
};

// One token of a chat reply the teacher wrote while a student read the same tokens (a pair turn):
// how far the student's prediction of it was from the teacher's. Labels are the tokens' display text
// (as the app shows them), stored so the tooltip needs no tokenizer.
struct MessageTokenDivergence {
  int32_t begin = 0, length = 0;   // the token's text in the message text (UTF-8 bytes)
  int32_t token_id = 0;
  std::string label;               // display text of token_id
  float kl = 0, reverse_kl = 0;    // KL(teacher || student), KL(student || teacher), nats
  float p_teacher = 0, p_student = 0;  // probability of the token under each model
  bool top1_agree = true;
  TokenAlt student_top1;           // the student's most likely token (prob unused)
  std::vector<TokenAlt> teacher_top, student_top;  // top alternatives with their labels
  bool operator==(const MessageTokenDivergence&) const = default;
};

// The per-token divergence of one assistant message (v5; one compressed row per message).
struct MessageDivergence {
  int64_t message_id = 0;
  std::string teacher_path, student_path;  // the model files it was measured with
  std::vector<MessageTokenDivergence> tokens;  // in text order
};

// A token of a run (run_id set) or of a chat message (message_id set): exactly one owner.
struct Token {
  int64_t run_id = 0;
  int64_t message_id = 0;
  int32_t index = 0;               // position in the owner's token sequence, 0-based
  int32_t token_id = 0;
  std::string piece;               // decoded bytes of this token (may be part of a UTF-8 sequence)
  double time_ms = 0;              // time spent producing it (prompt tokens: share of the prefill)
  std::optional<double> prob;      // probability of the chosen token; none for prompt tokens
  bool is_prompt = false;
  std::vector<TokenAlt> alternatives;  // stored as one compact blob
};

// Teacher vs student at one token position of a compare/distill run.
struct Divergence {
  int64_t run_id = 0;
  int32_t index = 0;
  double kl = 0;                   // KL(teacher || student), nats
  double reverse_kl = 0;           // KL(student || teacher), nats
  bool top1_agree = false;
  double topk_overlap = 0;         // |topk(teacher) ∩ topk(student)| / k (k in the run config)
  double teacher_entropy = 0;      // nats
  double student_entropy = 0;
};

struct LayerDivergence {
  int64_t run_id = 0;
  int32_t index = 0;
  int32_t layer = 0;
  double residual_cosine = 0;              // cosine(teacher residual, student residual) after the layer
  std::optional<double> attention_js;      // Jensen-Shannon of attention rows; none for Mamba layers
};

// Element type of a blob's uncompressed bytes.
enum class BlobType { F32, F16, BF16, I32, U8 };
const char* to_string(BlobType);
BlobType parse_blob_type(std::string_view);
size_t element_size(BlobType);

// -1 in index/layer/head means "not specific to one" (a whole-run or all-heads blob).
struct BlobKey {
  int64_t run_id = 0;
  int32_t index = -1;
  int32_t layer = -1;
  int32_t head = -1;
  std::string kind;                // "attention", "act_stats", ...
  bool operator==(const BlobKey&) const = default;
};

// Uncompressed array data; the store compresses on put and decompresses on get, losslessly.
struct Blob {
  BlobKey key;
  BlobType type = BlobType::F32;
  std::vector<int64_t> shape;      // ne[0] fastest, as in tensors
  std::vector<uint8_t> bytes;      // product(shape) * element_size(type) bytes

  static Blob from_floats(BlobKey key, std::vector<int64_t> shape, std::span<const float> values);
  std::vector<float> floats() const;  // type must be F32
};

// What list_blobs/load_run return: a blob without its data.
struct BlobInfo {
  BlobKey key;
  BlobType type = BlobType::F32;
  std::vector<int64_t> shape;
  int64_t raw_bytes = 0;
  int64_t stored_bytes = 0;
  std::string codec;               // "shuffle+zlib" or "raw"
};

struct TrainStep {
  int64_t run_id = 0;
  int32_t stage = 0;               // progressive-distillation stage (0 for single-stage runs)
  int32_t step = 0;
  double loss = 0;                 // the optimized total
  std::string losses_json = "{}";  // its components: {"kl": .., "ce": .., "hidden": ..}
  double lr = 0;
  double tokens_per_s = 0;
  std::optional<double> grad_norm;
  int64_t created_at = 0;
};

struct StageEval {
  int64_t id = 0;
  int64_t run_id = 0;
  int32_t stage = 0;
  int32_t step = 0;                // training step the evaluation was taken at
  double perplexity = 0;
  double kl = 0;                   // mean KL(teacher || student) on the eval set
  double top1_agreement = 0;       // fraction of positions where teacher and student agree
  double decode_tokens_per_s = 0;
  std::string checkpoint_path;
  int64_t created_at = 0;
};

// One candidate layer of a distillation stage that picks its layers by importance ("auto").
struct LayerImportance {
  int64_t run_id = 0;
  int32_t stage = 0;
  int32_t layer = 0;
  int32_t rank = 0;              // 0: the least important candidate (converted first)
  double score = 0;              // validation KL to the teacher with this layer alone converted
  std::string method;            // "leave-one-out" or "probe"
  bool converted = false;        // the stage converted it
};

// Everything needed to replay a run without loading any model.
struct RunReplay {
  Run run;
  std::optional<ModelRecord> model;
  std::optional<ModelRecord> teacher;
  std::vector<Token> tokens;                 // by index
  std::vector<Divergence> divergence;        // by index
  std::vector<LayerDivergence> layers;       // by (index, layer)
  std::vector<BlobInfo> blobs;               // index of stored blobs; fetch with Store::get_blob
  std::vector<TrainStep> train_steps;        // by (stage, step)
  std::vector<StageEval> stage_evals;        // by (stage, step)
  std::vector<LayerImportance> importance;   // by (stage, rank)
};

}  // namespace ds
