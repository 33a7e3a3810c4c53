// distilscope: the desktop app. `distilscope [model.gguf | hf-folder]` opens that model; without
// one, the embedded default teacher and its 50 % Mamba student (assets/models), else the last model used, else a
// welcome page. `--autotest DIR` runs the scripted end-to-end check (autotest.h); `--synthetic` first writes a tiny random model there (and
// a Hugging Face folder of it), `--autotest-pair` a linearized student of the model (layer 1 ->
// Mamba) to compare with it. `--student` opens a student beside the model; `--demo` fills the probe
// panels with labelled synthetic data; `--autotest-tour` walks the guided tour instead of the chat scenario.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>

#include <cstdio>

#include "app/desktop/autotest.h"
#include "app/desktop/engine_types.h"
#include "app/desktop/main_window.h"
#include "model/linearize.h"
#include "model/model_source.h"
#include "model/model_writer.h"
#include "model/synthetic.h"
#include "util/paths.h"

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
  QCommandLineOption pair("autotest-pair", "With --autotest: write a linearized student of the model and compare it.");
  QCommandLineOption student("student", "Student model (GGUF file or Hugging Face folder) opened beside the model.", "student");
  QCommandLineOption distill("autotest-distill",
                             "With --autotest: run the Distillation dock's default plan and load its last stage.");
  QCommandLineOption tour("autotest-tour", "With --autotest: walk the guided tour over the default models.");
  QCommandLineOption demo("demo", "Synthetic, labelled data in the attention, activations and divergence panels.");
  cli.addOptions({device, store, autotest, synthetic, prompt, expect, pair, student, demo, distill, tour});
  cli.process(app);

  ds::app::StartOptions options;
  options.model = cli.positionalArguments().value(0);
  options.device = cli.value(device);
  options.store_path = cli.value(store);
  options.student = cli.value(student);
  options.demo = cli.isSet(demo);
  const bool testing = cli.isSet(autotest);
  options.show_dialogs = !testing;
  if (testing) QDir().mkpath(cli.value(autotest));
  if (testing && options.store_path.isEmpty()) options.store_path = QDir(cli.value(autotest)).filePath("store.db");
  QString hf_folder;
  if (testing && options.model.isEmpty() && cli.isSet(synthetic)) {
    options.model = QDir(cli.value(autotest)).filePath("tiny-synthetic.gguf");
    ds::SyntheticSpec spec;
    spec.config = ds::llama_like(2, 64, 4, 2, 128, 320);
    spec.config.context_train = 2048;
    spec.config.name = "tiny synthetic";
    spec.byte_level_tokenizer = true;  // exportable to tokenizer.json: the HF folder below
    try {
      ds::write_synthetic_model(options.model.toStdString(), spec);
      auto src = ds::open_gguf_source(options.model.toStdString());
      hf_folder = QDir(cli.value(autotest)).filePath("tiny-synthetic-hf");
      for (const std::string& note : ds::write_hf_model(*src, src->config(), {}, hf_folder.toStdString()))
        std::fprintf(stderr, "note: %s\n", note.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "could not write the synthetic model: %s\n", e.what());
      return 2;
    }
  }

  QString pair_student;
  bool defaults = false;  // no model given: the embedded default teacher and its student
  if (testing && cli.isSet(pair) && !options.model.isEmpty()) {
    // The untrained hybrid student of the model: layer 1 a Mamba mixer initialized from its attention.
    pair_student = QDir(cli.value(autotest)).filePath("student-mamba1.gguf");
    try {
      auto src = ds::ModelSource::open(options.model.toStdString());
      ds::LinearizeOptions lo;
      lo.layers = {1};
      lo.mixer = ds::LayerKind::Mamba;
      ds::Student st = ds::linearize(*src, lo);
      ds::GgufWriteOptions w;
      w.matrix_type.reset();
      ds::write_gguf_model(*src, st.config, st.tensors, pair_student.toStdString(), w);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "could not write the linearized student: %s\n", e.what());
      return 2;
    }
  }

  if (testing && options.model.isEmpty() && !cli.isSet(expect) && options.student.isEmpty())
    if (auto st = ds::default_model("student-mamba-50")) {
      pair_student = QString::fromStdString(*st);
      defaults = true;
    }

  ds::app::MainWindow window(options);
  window.show();
  if (testing) {
    ds::app::AutoTestOptions o;
    o.out_dir = cli.value(autotest);
    if (cli.isSet(prompt)) o.prompt = cli.value(prompt);
    if (cli.isSet(expect)) o.expect = cli.value(expect);
    o.model = options.model;
    o.student = pair_student;
    o.student_is_layer1_mamba = !defaults;
    o.measure_fps = !defaults;  // measured with the synthetic and stories260K runs
    o.hf_folder = hf_folder;
    o.distill = cli.isSet(distill);
    o.tour = cli.isSet(tour);
    auto* test = new ds::app::AutoTest(window, o, &window);
    test->start();
  }
  return app.exec();
}
