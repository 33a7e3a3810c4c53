// CLI helpers shared by subcommands.
#include "common.h"

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

std::string resolve_model(const std::string& given) {
  if (!given.empty()) return given;
  if (auto d = default_model("teacher")) return *d;
  throw Error(no_model_message());
}

}  // namespace ds::cli
