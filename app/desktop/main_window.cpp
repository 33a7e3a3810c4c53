// MainWindow: building the shell, wiring engine reports to the widgets, start-up and shutdown.
//
// [SECTION] construction   [SECTION] menus   [SECTION] engine reports   [SECTION] files   [SECTION] shutdown
#include "app/desktop/main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QScrollArea>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>

#include <utility>

#include "app/desktop/app_settings.h"
#include "app/desktop/chat/chat_panel.h"
#include "app/desktop/chat/conversation_export.h"
#include "app/desktop/chat/prompt_edit.h"
#include "app/desktop/chat/sampling_panel.h"
#include "app/desktop/chat/sidebar.h"
#include "app/desktop/dialogs/device_dialog.h"
#include "app/desktop/distill/distill_panel.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/tour/teaching_features.h"
#include "app/desktop/welcome_page.h"
#include "util/error.h"
#include "util/paths.h"

namespace ds::app {

namespace {
QString bytes(uint64_t n) { return QString::fromStdString(format_bytes(double(n))); }
const char* k_panel_names[] = {"Attention", "Activations", "Divergence", "Throughput", "Distillation", "Gallery"};
}  // namespace

// [SECTION] construction --------------------------------------------------------------------------
MainWindow::MainWindow(const StartOptions& options) : options_(options), store_(options.store_path) {
  setWindowTitle("DistilScope");
  setWindowIcon(QIcon(":/distilscope.svg"));
  store_.on_error = [this](const QString& m) { show_error(tr("Conversation history"), m); };
  controller_ = std::make_unique<ChatController>(host_, store_);
  if (options_.demo) data_.setDemo(true);

  pages_ = new QStackedWidget(this);
  welcome_ = new WelcomePage(pages_);
  chat_panel_ = new ChatPanel(pages_);
  chat_panel_->setModel(controller_->conversation());
  pages_->addWidget(welcome_);
  pages_->addWidget(chat_panel_);
  setCentralWidget(pages_);
  build_docks();
  build_menus();
  build_status_bar();
  connect_engine();
  refresh_recent();
  controller_->refreshList();
  host_.setStorePath(store_.path());  // resolved by the first use above ("" when no store could be opened)
  resize(1400, 900);
  restoreGeometry(window_state("geometry"));
  restoreState(window_state("docks"));

  const QString platform = QGuiApplication::platformName();
  const bool can_show_surface = platform == "xcb" || platform == "wayland";
  device_label_->setText(tr("Opening the Vulkan device..."));
  host_.openDevice(options_.device.isEmpty() ? device_select() : options_.device, can_show_surface);
}

MainWindow::~MainWindow() { shutdown(); }

void MainWindow::build_docks() {
  sidebar_ = new ConversationSidebar(this);
  sidebar_->setModel(controller_->conversations());
  conversations_dock_ = new QDockWidget(tr("Conversations"), this);
  conversations_dock_->setObjectName("conversations");
  conversations_dock_->setWidget(sidebar_);
  addDockWidget(Qt::LeftDockWidgetArea, conversations_dock_);

  sampling_ = new SamplingPanel(this);
  sampling_dock_ = new QDockWidget(tr("Sampling"), this);
  sampling_dock_->setObjectName("sampling");
  auto* sampling_scroll = new QScrollArea(sampling_dock_);  // scrolls rather than holding the window's height
  sampling_scroll->setWidget(sampling_);
  sampling_scroll->setWidgetResizable(true);
  sampling_scroll->setFrameShape(QFrame::NoFrame);
  sampling_dock_->setWidget(sampling_scroll);
  addDockWidget(Qt::RightDockWidgetArea, sampling_dock_);

  distill_ = new DistillPanel(this);
  distill_->setStorePath(options_.store_path);
  distill_dock_ = new QDockWidget(tr("Distillation"), this);
  distill_dock_->setObjectName("distillation");
  distill_dock_->setWidget(distill_);
  addDockWidget(Qt::RightDockWidgetArea, distill_dock_);
  tabifyDockWidget(sampling_dock_, distill_dock_);
  sampling_dock_->raise();

  explorer_dock_ = new QDockWidget(tr("Explorer"), this);
  explorer_dock_->setObjectName("explorer");
  auto* placeholder = new QLabel(tr("The explorer appears when the Vulkan device is open."), explorer_dock_);
  placeholder->setAlignment(Qt::AlignCenter);
  explorer_dock_->setWidget(placeholder);
  addDockWidget(Qt::BottomDockWidgetArea, explorer_dock_);
  resizeDocks({explorer_dock_}, {440}, Qt::Vertical);

  connect(sidebar_, &ConversationSidebar::searchChanged, controller_.get(), &ChatController::search);
  connect(sidebar_, &ConversationSidebar::conversationActivated, controller_.get(), &ChatController::openConversation);
  connect(sidebar_, &ConversationSidebar::newRequested, controller_.get(), &ChatController::newConversation);
  connect(sidebar_, &ConversationSidebar::renameRequested, controller_.get(), &ChatController::renameConversation);
  connect(sidebar_, &ConversationSidebar::deleteRequested, controller_.get(), &ChatController::deleteConversation);
  connect(sidebar_, &ConversationSidebar::exportRequested, this, &MainWindow::export_conversation);
  connect(sampling_, &SamplingPanel::changed, this, [this] { controller_->setSettings(sampling_->settings()); });
  controller_->setSettings(sampling_->settings());
  connect(controller_.get(), &ChatController::conversationOpened, this, [this](qint64 id, const QString& system) {
    sampling_->setSystemPrompt(system);
    sidebar_->select(id);
  });
  connect(chat_panel_, &ChatPanel::sendRequested, controller_.get(), &ChatController::send);
  connect(chat_panel_, &ChatPanel::stopRequested, controller_.get(), &ChatController::stop);
  connect(chat_panel_, &ChatPanel::regenerateRequested, controller_.get(), &ChatController::regenerate);
  connect(chat_panel_, &ChatPanel::copyRequested, controller_.get(), &ChatController::copyLastReply);
  connect(controller_.get(), &ChatController::busyChanged, chat_panel_, &ChatPanel::setBusy);
  connect(controller_.get(), &ChatController::errorOccurred, this, &MainWindow::show_error);
  connect(welcome_, &WelcomePage::openGgufRequested, this, &MainWindow::ask_open_gguf);
  connect(welcome_, &WelcomePage::openHfRequested, this, &MainWindow::ask_open_hf);
  connect(welcome_, &WelcomePage::recentActivated, this, &MainWindow::openModel);
}

// [SECTION] menus ---------------------------------------------------------------------------------
void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open GGUF..."), this, &MainWindow::ask_open_gguf);
  open->setShortcut(QKeySequence::Open);
  file->addAction(tr("Open &Hugging Face folder..."), this, &MainWindow::ask_open_hf);
  file->addAction(tr("Open s&tudent..."), this, [this] { ask_open_student(false); });
  file->addAction(tr("Open student Hugging Face f&older..."), this, [this] { ask_open_student(true); });
  file->addAction(tr("&Unload student"), this, [this] { host_.unloadStudent(); });
  recent_menu_ = file->addMenu(tr("&Recent files"));
  file->addSeparator();
  file->addAction(tr("&Device..."), this, &MainWindow::choose_device);
  file->addAction(tr("&Export folder..."), this, [this] {
    QString d = QFileDialog::getExistingDirectory(this, tr("Folder for PNG/CSV/JSON exports"), export_dir());
    if (!d.isEmpty()) set_export_dir(d);
  });
  file->addAction(tr("Export &conversation as Markdown..."), this,
                  [this] { export_conversation(controller_->currentConversation()); });
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* chat = menuBar()->addMenu(tr("&Chat"));
  QAction* fresh = chat->addAction(tr("&New conversation"), controller_.get(), &ChatController::newConversation);
  fresh->setShortcut(QKeySequence::New);
  QAction* stop = chat->addAction(tr("&Stop"), controller_.get(), &ChatController::stop);
  stop->setShortcut(Qt::Key_Escape);
  QAction* regen = chat->addAction(tr("&Regenerate"), controller_.get(), &ChatController::regenerate);
  regen->setShortcut(Qt::CTRL | Qt::Key_R);
  chat->addAction(tr("&Copy last reply"), controller_.get(), &ChatController::copyLastReply);
  chat->addSeparator();
  auto* modes = new QActionGroup(this);
  mode_teacher_ = chat->addAction(tr("&Teacher only"), this, [this] { setChatMode(ChatMode::Teacher); });
  mode_student_ = chat->addAction(tr("S&tudent only"), this, [this] { setChatMode(ChatMode::Student); });
  mode_pair_ = chat->addAction(tr("Teacher answers, student &forced (divergence)"), this,
                               [this] { setChatMode(ChatMode::Pair); });
  for (QAction* a : {mode_teacher_, mode_student_, mode_pair_}) {
    a->setCheckable(true);
    modes->addAction(a);
  }
  mode_teacher_->setChecked(true);
  update_modes();

  view_menu_ = menuBar()->addMenu(tr("&View"));
  view_menu_->addAction(conversations_dock_->toggleViewAction());
  view_menu_->addAction(sampling_dock_->toggleViewAction());
  view_menu_->addAction(distill_dock_->toggleViewAction());
  view_menu_->addAction(explorer_dock_->toggleViewAction());
  view_menu_->addSeparator();
  QMenu* panels = view_menu_->addMenu(tr("Explorer &panels"));
  for (int i = 0; i < ui::k_panel_count; ++i) panels->addAction(tr(k_panel_names[i]), this, [this, i] { showExplorerPanel(i); });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About DistilScope"), this, [this] {
    QMessageBox::about(this, tr("About DistilScope"),
                       tr("<b>DistilScope</b> runs a teacher transformer and its distilled hybrid students on its own "
                          "Vulkan-compute engine and shows what happens inside them.<br><br>Device: %1")
                           .arg(device_name_.toHtmlEscaped()));
  });
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
  teaching_ = new TeachingFeatures(*this, chat, view_menu_, help);

  QToolBar* tools = addToolBar(tr("Main"));
  tools->setObjectName("main_toolbar");
  tools->addAction(open);
  tools->addAction(fresh);
  tools->addAction(stop);
  tools->addAction(regen);
  tools->addSeparator();
  for (int i = 0; i < ui::k_panel_count; ++i) tools->addAction(tr(k_panel_names[i]), this, [this, i] { showExplorerPanel(i); });
}

void MainWindow::build_status_bar() {
  device_label_ = new QLabel(this);
  model_label_ = new QLabel(tr("no model"), this);
  speed_label_ = new QLabel(this);
  memory_label_ = new QLabel(this);
  speed_label_->setObjectName("tokens_per_s");
  memory_label_->setObjectName("device_memory");
  statusBar()->addWidget(device_label_);
  statusBar()->addWidget(model_label_);
  statusBar()->addPermanentWidget(speed_label_);
  statusBar()->addPermanentWidget(memory_label_);
}

bool MainWindow::welcomeVisible() const { return pages_->currentWidget() == welcome_; }

void MainWindow::showExplorerPanel(int panel) {
  explorer_dock_->show();
  explorer_dock_->raise();
  if (explorer_) explorer_->selectPanel(ui::Panel(panel));
}

// [SECTION] engine reports ------------------------------------------------------------------------
void MainWindow::connect_engine() {
  EngineWorker* w = host_.worker();
  connect(w, &EngineWorker::deviceOpened, this, &MainWindow::on_device);
  connect(w, &EngineWorker::modelLoaded, this, &MainWindow::on_model);
  connect(w, &EngineWorker::statsChanged, this, &MainWindow::on_stats);
  connect(w, &EngineWorker::throughputSampled, this, [this](const ThroughputSample& s) { data_.addThroughput(s); });
  connect(w, &EngineWorker::probeStep, this, [this](const ProbeStep& s) { data_.addProbeStep(s); });
  connect(w, &EngineWorker::pairStarted, this, [this](const PairStart& p) { data_.beginPair(p); });
  connect(w, &EngineWorker::tokenGenerated, this, [this](const TokenChunk& c) {
    if (c.has_divergence) data_.addDivergence(c.request, c.divergence);
  });
  connect(w, &EngineWorker::studentUnloaded, this, [this] {
    student_loaded_ = false;
    student_name_.clear();
    controller_->setStudentPath({});
    controller_->setStudentModelId(0);
    setChatMode(ChatMode::Teacher);
    update_modes();
    statusBar()->showMessage(tr("No student: the teacher answers alone"), 8000);
  });
  controller_->setProbeSettings([this] { return probe_settings(); });
  connect_distill();
  connect(w, &EngineWorker::contextTokens, this,
          [this](quint64, const std::vector<int32_t>& tokens) { data_.setContextTokens(tokens); });
  connect(w, &EngineWorker::generationFinished, this, [this](const GenerationSummary& s) {
    statusBar()->showMessage(tr("%1 tokens (%2 reused from the cache), %3; prefill %4 tokens/s, decode %5 tokens/s")
                                 .arg(s.generated)
                                 .arg(s.reused_tokens)
                                 .arg(s.stop_reason)
                                 .arg(s.prefill_tokens_per_s, 0, 'f', 1)
                                 .arg(s.decode_tokens_per_s, 0, 'f', 1),
                             10000);
  });
  connect(w, &EngineWorker::failed, this, [this](const QString& what, const QString& message, quint64 request) {
    if (request != 0) return;  // generation errors are shown by the chat controller
    if (!loading_path_.isEmpty() && !model_loaded_) {
      pages_->setCurrentWidget(welcome_);
      welcome_->setMessage(tr("Could not open %1:\n%2").arg(loading_path_, message));
    }
    loading_path_.clear();
    model_label_->setText(model_loaded_ ? model_label_->text() : tr("no model"));
    show_error(what, message);
  });
}

// The Distillation dock's requests go to the engine thread; its reports come back to the dock and to the
// explorer's Distillation panel (the loss curves). The chat pauses while a distillation holds the engine.
void MainWindow::connect_distill() {
  EngineWorker* w = host_.worker();
  connect(distill_, &DistillPanel::startRequested, this, [this](const DistillRequest& r) {
    if (!r.resume)
      data_.beginDistill(tr("Starting: preparing the data and the first student..."), distill_->planCheck().total_steps);
    showExplorerPanel(int(ui::Panel::Distillation));
    host_.distill(r);
  });
  connect(distill_, &DistillPanel::stopRequested, this, [this] { host_.stopDistill(); });
  connect(distill_, &DistillPanel::runningChanged, this, &MainWindow::set_training);
  connect(distill_, &DistillPanel::loadStudentRequested, this, [this](const QString& path) { openStudent(path); });
  connect(w, &EngineWorker::distillStep, this, [this](const DistillStepReport& s) {
    distill_->onStep(s);
    data_.addDistillStep(s);
  });
  connect(w, &EngineWorker::distillStage, this, [this](const DistillStageReport& s) {
    distill_->onStage(s);
    data_.addDistillStage(s);
  });
  connect(w, &EngineWorker::distillFinished, this, [this](const DistillSummary& s) {
    distill_->onFinished(s);
    data_.setDistillStatus(distill_->statusText());
    if (s.failed) show_error(tr("Distillation"), s.message);
  });
}

void MainWindow::set_training(bool running, const QString& status) {
  const QString paused = tr("A distillation is running on the engine: the chat is paused until it ends or is stopped "
                            "(Distillation dock > Stop).");
  controller_->setPaused(running ? paused : QString());
  chat_panel_->setEnabled(!running);
  chat_panel_->setInfo(running ? paused : chat_info_);
  statusBar()->showMessage(running ? tr("Distillation: %1").arg(status) : status, running ? 0 : 15000);
}

void MainWindow::on_device(const DeviceReport& d, const VulkanShare& share) {
  device_name_ = d.name;
  device_label_->setText(tr("Device: %1 (%2)%3").arg(d.name, d.type, d.validation ? tr(", validation on") : QString()));
  device_label_->setToolTip(share.separate_queue ? tr("The explorer draws on its own queue of this device.")
                                                 : tr("The explorer shares the engine's only queue on this device: "
                                                      "its frames interleave with generation steps."));
  create_explorer(d, share);
  open_startup_model();
}

void MainWindow::create_explorer(const DeviceReport& d, const VulkanShare& share) {
  auto fallback = [this](const QString& why) {
    auto* label = new QLabel(tr("The explorer cannot be shown: %1").arg(why), explorer_dock_);
    label->setWordWrap(true);
    label->setAlignment(Qt::AlignCenter);
    explorer_dock_->setWidget(label);
  };
  const QString platform = QGuiApplication::platformName();
  if (platform != "xcb" && platform != "wayland") return fallback(tr("the '%1' platform has no windows to draw in").arg(platform));
  if (!d.can_present) return fallback(tr("%1 cannot present to windows (no VK_KHR_swapchain)").arg(d.name));
  vulkan_.setVkInstance(VkInstance(share.instance));
  if (!vulkan_.create()) return fallback(tr("Qt could not use the engine's Vulkan instance (error %1)").arg(vulkan_.errorCode()));
  explorer_ = new ImGuiWindow(&vulkan_, share, &data_);
  QWidget* container = QWidget::createWindowContainer(explorer_, explorer_dock_);
  container->setMinimumSize(320, 200);
  container->setFocusPolicy(Qt::StrongFocus);
  explorer_dock_->setWidget(container);
  connect(explorer_, &ImGuiWindow::failed, this, [this](const QString& m) { show_error(tr("Explorer"), m); });
  connect(explorer_, &ImGuiWindow::exported, this,
          [this](const QString& path) { statusBar()->showMessage(tr("Exported %1").arg(path), 8000); });
  emit explorerReady();
}

void MainWindow::on_model(const ModelReport& m) {
  if (m.slot == 1) return on_student(m);
  model_loaded_ = true;
  loading_path_.clear();
  controller_->setModelLoaded(true);
  data_.setModel(m);
  sampling_->setDetectedTemplate(m.chat_template);
  const QString format = m.chat_template == ChatTemplateKind::Plain
                             ? tr("plain completion (no chat template)")
                             : tr("chat format %1").arg(QString::fromUtf8(chat_template_name(m.chat_template)));
  chat_info_ = tr("%1 - %2, %3 layers, %4").arg(m.name, m.arch).arg(m.n_layers).arg(format);
  if (!distill_->running()) chat_panel_->setInfo(chat_info_);
  distill_->setTeacher(m);
  controller_->setVocabulary(m.token_labels);
  controller_->setTeacherPath(m.path);
  controller_->setTeacherModelId(m.model_id);
  model_label_->setText(tr("Model: %1 (%2)").arg(m.name, bytes(m.weight_bytes)));
  pages_->setCurrentWidget(chat_panel_);
  chat_panel_->prompt()->setFocus();
  add_recent_file(m.path);
  set_last_model(m.path);
  refresh_recent();
  update_modes();
  emit modelReady(m);
  if (!options_.student.isEmpty()) openStudent(std::exchange(options_.student, QString()));
}

void MainWindow::on_student(const ModelReport& m) {
  student_loaded_ = true;
  student_name_ = m.name;
  controller_->setStudentPath(m.path);
  controller_->setStudentModelId(m.model_id);
  data_.setModel(m);
  update_modes();
  QString layout;
  for (LayerKind k : m.layout) layout += k == LayerKind::Attention ? 'A' : k == LayerKind::Mamba ? 'M' : 'L';
  statusBar()->showMessage(tr("Student %1 loaded (layout %2): Chat > mode to let it answer or be compared")
                               .arg(m.name, layout), 10000);
  emit studentReady(m);
}

void MainWindow::setChatMode(ChatMode mode) {
  if (mode != ChatMode::Teacher && !student_loaded_) mode = ChatMode::Teacher;
  controller_->setMode(mode);
  QAction* a = mode == ChatMode::Teacher ? mode_teacher_ : mode == ChatMode::Student ? mode_student_ : mode_pair_;
  if (a) a->setChecked(true);
  update_modes();
}

void MainWindow::update_modes() {
  if (mode_student_) mode_student_->setEnabled(student_loaded_);
  if (mode_pair_) mode_pair_->setEnabled(student_loaded_);
  QString text = model_label_ ? model_label_->text().section(" + student", 0, 0) : QString();
  if (student_loaded_) text += tr(" + student %1").arg(student_name_);
  if (model_label_ && model_loaded_) model_label_->setText(text);
  const char* names[] = {"teacher only", "student only", "teacher answers, student forced"};
  if (model_loaded_ && student_loaded_)
    statusBar()->showMessage(tr("Chat mode: %1").arg(names[int(controller_->mode())]), 6000);
}

// The explorer's probe controls ("0,2,4" lists; empty: the defaults).
ProbeSettings MainWindow::probe_settings() const {
  ProbeSettings p;
  p.enabled = true;
  if (!explorer_) return p;
  const ui::ProbeControls& c = explorer_->workspaceState().probes;
  p.enabled = c.enabled;
  p.logit_lens = c.logit_lens;
  auto parse = [](const char* text) {
    std::vector<int> out;
    for (const QString& part : QString::fromUtf8(text).split(',', Qt::SkipEmptyParts)) {
      bool ok = false;
      const int v = part.trimmed().toInt(&ok);
      if (ok && v >= 0) out.push_back(v);
    }
    return out;
  };
  p.layers = parse(c.layers);
  p.heads = parse(c.heads);
  return p;
}

void MainWindow::on_stats(const EngineStats& s) {
  memory_label_->setText(tr("Device memory: %1").arg(bytes(s.device_bytes)));
  if (s.last_tokens_per_s > 0) speed_label_->setText(tr("%1 tokens/s").arg(s.last_tokens_per_s, 0, 'f', 1));
}

void MainWindow::show_error(const QString& what, const QString& message) {
  errors_ << what + ": " + message;
  emit errorShown(what, message);
  statusBar()->showMessage(what + ": " + message.left(200), 15000);
  if (!options_.show_dialogs) return;
  auto* box = new QMessageBox(QMessageBox::Warning, what, message, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setModal(false);  // never a nested event loop
  box->show();
}

void MainWindow::export_conversation(qint64 id) {
  const QString what = tr("Export conversation");
  if (!id)
    return show_error(what, tr("No stored conversation is open: send a message first, or open one from the "
                               "Conversations list (its context menu exports it too)."));
  auto c = store_.get(id);
  if (!c) return;  // the store reported why
  QDir().mkpath(export_dir());
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export conversation as Markdown"), defaultMarkdownPath(export_dir(), QString::fromStdString(c->title)),
      tr("Markdown (*.md)"));
  if (path.isEmpty()) return;
  if (QString error = exportConversation(id, path); !error.isEmpty()) return show_error(what, error);
  statusBar()->showMessage(tr("Exported %1").arg(path), 8000);
}

QString MainWindow::exportConversation(qint64 id, const QString& path) {
  return exportConversationMarkdown(store_, id, path, controller_->teacherPath());
}

// [SECTION] files ---------------------------------------------------------------------------------
void MainWindow::open_startup_model() {
  QString path = options_.model;
  if (path.isEmpty())
    if (auto d = default_model()) {
      path = QString::fromStdString(*d);
      // The embedded defaults come as a teacher and its students: the 50 % Mamba student beside it.
      if (options_.student.isEmpty())
        if (auto st = default_model("student-mamba-50")) options_.student = QString::fromStdString(*st);
    }
  if (path.isEmpty() && QFileInfo::exists(last_model())) path = last_model();
  if (path.isEmpty()) {
    pages_->setCurrentWidget(welcome_);
    return;
  }
  openModel(path);
}

void MainWindow::openModel(const QString& path) {
  loading_path_ = path;
  model_label_->setText(tr("Loading %1...").arg(QFileInfo(path).fileName()));
  host_.loadModel(path);
}

void MainWindow::openStudent(const QString& path) {
  statusBar()->showMessage(tr("Loading the student %1...").arg(QFileInfo(path).fileName()));
  host_.loadModel(path, 1);
}

void MainWindow::ask_open_student(bool folder) {
  if (!model_loaded_) return show_error(tr("Opening a student"), tr("Open the teacher first (File > Open GGUF...)."));
  const QString dir = QFileInfo(last_model()).absolutePath();
  const QString path = folder ? QFileDialog::getExistingDirectory(this, tr("Open a student's Hugging Face folder"), dir)
                              : QFileDialog::getOpenFileName(this, tr("Open a student model"), dir,
                                                             tr("GGUF models (*.gguf);;All files (*)"));
  if (!path.isEmpty()) openStudent(path);
}

void MainWindow::ask_open_gguf() {
  const QString dir = last_model().isEmpty() ? QString() : QFileInfo(last_model()).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a GGUF model"), dir, tr("GGUF models (*.gguf);;All files (*)"));
  if (!path.isEmpty()) openModel(path);
}

void MainWindow::ask_open_hf() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"));
  if (!path.isEmpty()) openModel(path);
}

void MainWindow::choose_device() {
  DeviceDialog dialog(device_name_, this);
  if (dialog.exec() == QDialog::Accepted) set_device_select(dialog.selection());
}

void MainWindow::refresh_recent() {
  const QStringList files = recent_files();
  recent_menu_->clear();
  for (const QString& f : files) recent_menu_->addAction(f, this, [this, f] { openModel(f); });
  recent_menu_->setEnabled(!files.isEmpty());
  welcome_->setRecentFiles(files);
}

// [SECTION] shutdown ------------------------------------------------------------------------------
void MainWindow::closeEvent(QCloseEvent* e) {
  set_window_state("geometry", saveGeometry());
  set_window_state("docks", saveState());
  shutdown();
  e->accept();
}

void MainWindow::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (explorer_) {
    explorer_->releaseRenderer();  // the surface draws with the engine's device: release it first
    delete explorer_dock_->widget();
    explorer_ = nullptr;
  }
  if (vulkan_.isValid()) vulkan_.destroy();  // adopted instance: Qt does not destroy it
  host_.shutdown();
}

}  // namespace ds::app
