// `devices`: every Vulkan device in selection order, with the reason any is unusable.
#include "common.h"
#include "util/error.h"

namespace ds::cli {

void add_devices(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List Vulkan devices in selection order and why any is unusable");
  cmd->callback([] {
    auto devs = list_devices();
    if (devs.empty()) std::printf("no Vulkan devices (install mesa-vulkan-drivers for a CPU device)\n");
    for (const auto& d : devs) {
      std::printf("[%d] %s (%s, %s, Vulkan %s, %s device-local)%s\n", d.index, d.name.c_str(), d.type.c_str(),
                  d.driver.c_str(), d.api_version.c_str(), format_bytes(double(d.device_local_bytes)).c_str(),
                  d.coopmat_nv ? " [cooperative matrix]" : "");
      std::printf("    %s\n", d.usable ? "usable" : ("skipped: " + d.reason).c_str());
    }
  });
}

}  // namespace ds::cli
