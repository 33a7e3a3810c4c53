// CLI helpers shared by subcommands.
#include "common.h"

#include "distilscope/store.h"
#include "util/error.h"
#include "util/paths.h"

namespace ds::cli {

void DeviceFlags::add(CLI::App* cmd) {
  cmd->add_option("--device,-d", device, "Vulkan device: index from `devices`, or part of its name");
  cmd->add_flag("--profile", profile, "Record per-op GPU timestamps and print them");
}

std::unique_ptr<Device> DeviceFlags::open() const {
  DeviceOptions o;
  o.select = device;
  o.profile = profile;
  return Device::open(o);
}

void StoreFlag::add(CLI::App* cmd) {
  cmd->add_option("--db", db, "Store file (default: distilscope.db in $XDG_DATA_HOME/distilscope)");
}

std::string StoreFlag::path() const { return db.empty() ? default_store_path() : db; }

std::vector<int> parse_index_list(const std::vector<std::string>& items, const char* what) {
  std::vector<int> out;
  for (const std::string& s : items) {
    if (s == "all") return {};
    size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || v < 0) throw Error(cat("--", what, ": '", s, "' is not an index (a number from 0) or 'all'"));
    out.push_back(v);
  }
  return out;
}

std::string resolve_model(const std::string& given) {
  if (!given.empty()) return given;
  if (auto d = default_model("teacher")) return *d;
  throw Error(no_model_message());
}

}  // namespace ds::cli
