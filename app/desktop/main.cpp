// distilscope: the desktop app. `distilscope [model.gguf | hf-folder]` opens that model; without
// one, the default model, else the last one used, else a welcome page. `--autotest DIR` runs the
// scripted end-to-end check (autotest.h); `--synthetic` first writes a tiny random model there.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>

#include <cstdio>

#include "app/desktop/autotest.h"
#include "app/desktop/engine_types.h"
#include "app/desktop/main_window.h"
#include "model/synthetic.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("DistilScope");
  QApplication::setApplicationName("distilscope");
  QApplication::setApplicationDisplayName("DistilScope");
  QApplication::setDesktopFileName("distilscope");
  ds::app::register_engine_types();

  QCommandLineParser cli;
  cli.setApplicationDescription("DistilScope: a teacher and its distilled students, from the inside.");
  cli.addHelpOption();
  cli.addPositionalArgument("model", "GGUF file or Hugging Face folder to open", "[model]");
  QCommandLineOption device({"d", "device"}, "Vulkan device: index or part of its name.", "device");
  QCommandLineOption store("store", "Conversation store (SQLite file).", "file");
  QCommandLineOption autotest("autotest", "Run the end-to-end check, writing results to <dir>.", "dir");
  QCommandLineOption synthetic("synthetic", "With --autotest and no model: write and open a tiny random model.");
  QCommandLineOption prompt("autotest-prompt", "Prompt for --autotest.", "text");
  QCommandLineOption expect("autotest-expect", "What --autotest checks: chat (default), welcome, error.", "what");
  cli.addOptions({device, store, autotest, synthetic, prompt, expect});
  cli.process(app);

  ds::app::StartOptions options;
  options.model = cli.positionalArguments().value(0);
  options.device = cli.value(device);
  options.store_path = cli.value(store);
  const bool testing = cli.isSet(autotest);
  options.show_dialogs = !testing;
  if (testing) QDir().mkpath(cli.value(autotest));
  if (testing && options.store_path.isEmpty()) options.store_path = QDir(cli.value(autotest)).filePath("store.db");
  if (testing && options.model.isEmpty() && cli.isSet(synthetic)) {
    options.model = QDir(cli.value(autotest)).filePath("tiny-synthetic.gguf");
    ds::SyntheticSpec spec;
    spec.config = ds::llama_like(2, 64, 4, 2, 128, 320);
    spec.config.context_train = 2048;
    spec.config.name = "tiny synthetic";
    try {
      ds::write_synthetic_model(options.model.toStdString(), spec);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "could not write the synthetic model: %s\n", e.what());
      return 2;
    }
  }

  ds::app::MainWindow window(options);
  window.show();
  if (testing) {
    ds::app::AutoTestOptions o;
    o.out_dir = cli.value(autotest);
    if (cli.isSet(prompt)) o.prompt = cli.value(prompt);
    if (cli.isSet(expect)) o.expect = cli.value(expect);
    o.model = options.model;
    auto* test = new ds::app::AutoTest(window, o, &window);
    test->start();
  }
  return app.exec();
}
