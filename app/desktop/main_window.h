// MainWindow: the DistilScope shell. Menus (File, Chat, View, Help), toolbar, status bar (device,
// model, tokens/s, device memory), dock panels (conversations, sampling, distillation, explorer) around the chat,
// and the start-up sequence: open the device, create the explorer surface on it, then open the
// model given on the command line, else the default model, else the last one, else show the
// welcome page. Errors from the engine are shown as readable, non-blocking message boxes.
#pragma once
#include <QMainWindow>
#include <QVulkanInstance>

#include <memory>

#include "app/desktop/chat/chat_controller.h"
#include "app/desktop/chat/chat_store.h"
#include "app/desktop/engine_host.h"
#include "app/desktop/explorer/explorer_data.h"

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QStackedWidget;

namespace ds::app {

class ChatPanel;
class DistillPanel;
class ConversationSidebar;
class ImGuiWindow;
class SamplingPanel;
class TeachingFeatures;
class WelcomePage;

struct StartOptions {
  QString model;           // from the command line ("" : default, then last used)
  QString device;          // from the command line ("" : the saved preference)
  QString student;         // from the command line: a student opened beside the model
  QString store_path;      // "" : the default store
  bool demo = false;       // synthetic stand-ins in the probe panels (labelled), for demos without a model
  bool show_dialogs = true;  // false in the automated end-to-end run (errors are recorded instead)
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const StartOptions& options);
  ~MainWindow() override;

  EngineHost& host() { return host_; }
  ChatController& chat() { return *controller_; }
  ChatPanel* chatPanel() const { return chat_panel_; }
  ImGuiWindow* explorer() const { return explorer_; }
  ExplorerData& explorerData() { return data_; }
  QDockWidget* explorerDock() const { return explorer_dock_; }
  DistillPanel* distillPanel() const { return distill_; }
  QDockWidget* distillDock() const { return distill_dock_; }
  bool modelLoaded() const { return model_loaded_; }
  bool welcomeVisible() const;
  QStringList errors() const { return errors_; }  // every error shown (or recorded) so far
  void openModel(const QString& path);
  void openStudent(const QString& path);  // beside the teacher; Chat > Mode chooses who answers
  void setChatMode(ChatMode mode);
  // Writes stored conversation `id` as Markdown to `path` (no dialog). Returns "" or the error.
  QString exportConversation(qint64 id, const QString& path);
  bool studentLoaded() const { return student_loaded_; }
  void showExplorerPanel(int panel);
  TeachingFeatures& teaching() { return *teaching_; }  // compare students, guided tour, presentation mode

 signals:
  void explorerReady();
  void modelReady(const ds::app::ModelReport& model);
  void studentReady(const ds::app::ModelReport& model);
  void errorShown(const QString& what, const QString& message);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void build_menus();
  void build_docks();
  void build_status_bar();
  void connect_engine();
  void on_device(const DeviceReport& device, const VulkanShare& share);
  void on_model(const ModelReport& model);
  void on_student(const ModelReport& model);
  void update_modes();
  ProbeSettings probe_settings() const;
  void on_stats(const EngineStats& stats);
  void connect_distill();
  void set_training(bool running, const QString& status);
  void create_explorer(const DeviceReport& device, const VulkanShare& share);
  void open_startup_model();
  void ask_open_gguf();
  void ask_open_hf();
  void ask_open_student(bool folder);
  void choose_device();
  void export_conversation(qint64 id);  // File > Export conversation as Markdown (0: none open)
  void show_error(const QString& what, const QString& message);
  void refresh_recent();
  void shutdown();

  StartOptions options_;
  EngineHost host_;
  ChatStore store_;
  std::unique_ptr<ChatController> controller_;
  ExplorerData data_;
  QVulkanInstance vulkan_;
  ImGuiWindow* explorer_ = nullptr;  // owned by its container widget
  QStackedWidget* pages_ = nullptr;
  WelcomePage* welcome_ = nullptr;
  ChatPanel* chat_panel_ = nullptr;
  ConversationSidebar* sidebar_ = nullptr;
  SamplingPanel* sampling_ = nullptr;
  DistillPanel* distill_ = nullptr;
  QDockWidget *conversations_dock_ = nullptr, *sampling_dock_ = nullptr, *explorer_dock_ = nullptr,
              *distill_dock_ = nullptr;
  QString chat_info_;  // the chat's model line, restored after a distillation
  QMenu* recent_menu_ = nullptr;
  QMenu* view_menu_ = nullptr;
  QLabel *device_label_ = nullptr, *model_label_ = nullptr, *speed_label_ = nullptr, *memory_label_ = nullptr;
  QString device_name_;
  QString loading_path_;
  bool model_loaded_ = false;
  bool student_loaded_ = false;
  QString student_name_;
  QAction *mode_teacher_ = nullptr, *mode_student_ = nullptr, *mode_pair_ = nullptr;
  TeachingFeatures* teaching_ = nullptr;  // tour/teaching_features.h
  bool shut_down_ = false;
  QStringList errors_;
};

}  // namespace ds::app
