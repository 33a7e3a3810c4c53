// `sessions`: the runs recorded in the store, newest first (id, kind, status, time, model, prompt).
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "common.h"
#include "distilscope/store.h"
#include "utf8.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {

void add_sessions(CLI::App& app) {
  auto* cmd = app.add_subcommand("sessions", "List the runs recorded in the store (trace, compare, ...)");
  struct Opts {
    std::string kind;
    int limit = 50;
    bool json = false;
    StoreFlag store;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--kind", o->kind, "Only runs of this kind: generate, trace, compare, pretrain, distill, eval");
  cmd->add_option("-n,--limit", o->limit, "At most this many runs")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  o->store.add(cmd);
  cmd->callback([o] {
    Store store(o->store.path());
    std::optional<RunKind> kind;
    if (!o->kind.empty()) kind = parse_run_kind(o->kind);
    const auto runs = store.list_runs(kind, o->limit);
    auto model_name = [&](int64_t id) {
      if (!id) return std::string();
      auto m = store.get_model(id);
      return m ? std::filesystem::path(m->path).filename().string() : std::string("?");
    };
    if (o->json) {
      JsonWriter j;
      j.begin_array();
      for (const Run& r : runs) {
        j.begin_object().field("id", r.id).field("kind", to_string(r.kind)).field("status", to_string(r.status));
        j.field("created_at", r.created_at).field("model", model_name(r.model_id));
        j.field("teacher", model_name(r.teacher_model_id)).field("prompt", valid_utf8(r.prompt)).end_object();
      }
      j.end_array();
      std::printf("%s\n", j.str().c_str());
      return;
    }
    if (runs.empty()) {
      std::printf("no runs in %s\n", store.path().c_str());
      return;
    }
    std::printf("%6s  %-8s %-9s %-19s  %-28s %s\n", "id", "kind", "status", "created", "model", "prompt");
    for (const Run& r : runs) {
      char when[32];
      const std::time_t t = std::time_t(r.created_at / 1000);
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
      std::string model = model_name(r.model_id);
      if (r.teacher_model_id) model = model_name(r.teacher_model_id) + " > " + model;
      std::string prompt = valid_utf8(r.prompt.substr(0, 40));
      for (char& c : prompt)
        if (c == '\n') c = ' ';
      std::printf("%6lld  %-8s %-9s %-19s  %-28s %s\n", static_cast<long long>(r.id), to_string(r.kind),
                  to_string(r.status), when, model.c_str(), prompt.c_str());
    }
  });
}

}  // namespace ds::cli
