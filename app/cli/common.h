// Shared pieces of the CLI subcommands: device flags, model resolution, error exit.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "distilscope/device.h"

namespace ds::cli {

struct DeviceFlags {
  std::string device;
  bool profile = false;
  void add(CLI::App* cmd);
  std::unique_ptr<Device> open() const;
};

// --db PATH: the store file (default: distilscope.db in the user's data directory, docs/store.md).
struct StoreFlag {
  std::string db;
  void add(CLI::App* cmd);
  std::string path() const;
};

// Comma lists of layers / heads where "all" (or nothing) means every one: returns empty for all.
std::vector<int> parse_index_list(const std::vector<std::string>& items, const char* what);

// The given path, or the embedded default; throws with the what-to-open message when neither.
std::string resolve_model(const std::string& given);

// Each subcommand: register(app) returns a callback run when the subcommand was chosen.
void add_devices(CLI::App& app);
void add_info(CLI::App& app);
void add_run(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_bench(CLI::App& app);
void add_synth(CLI::App& app);
void add_pretrain(CLI::App& app);
void add_tokenizer(CLI::App& app);
void add_convert(CLI::App& app);
void add_linearize(CLI::App& app);
void add_trace(CLI::App& app);
void add_compare(CLI::App& app);
void add_sessions(CLI::App& app);
void add_replay(CLI::App& app);
void add_distill(CLI::App& app);

}  // namespace ds::cli
