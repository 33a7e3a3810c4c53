// distilscope-cli entry point: parses the command line and runs one subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "distilscope/device.h"

int main(int argc, char** argv) {
  CLI::App app{"distilscope-cli: run, inspect and benchmark language models on Vulkan"};
  app.require_subcommand(1);
  auto* devices = app.add_subcommand("devices", "List Vulkan devices and why any is unusable");
  CLI11_PARSE(app, argc, argv);
  try {
    if (*devices) {
      for (auto& d : ds::list_devices())
        std::printf("[%d] %s (%s) %s\n", d.index, d.name.c_str(), d.type.c_str(), d.usable ? "usable" : d.reason.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
