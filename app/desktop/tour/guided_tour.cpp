// GuidedTour: the dock's widgets, navigation, and the queue of set-up actions.
#include "app/desktop/tour/guided_tour.h"

#include <QApplication>
#include <QCloseEvent>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <utility>

#include "app/desktop/main_window.h"
#include "app/desktop/tour/student_comparison.h"

namespace ds::app {

GuidedTour::GuidedTour(MainWindow& window, StudentComparisonRunner& comparison)
    : QDockWidget(tr("Guided tour"), &window), window_(window), comparison_(comparison) {
  setObjectName("guided_tour");
  auto* page = new QWidget(this);
  title_ = new QLabel(page);
  title_->setObjectName("tour_title");
  title_->setWordWrap(true);
  title_->setTextFormat(Qt::RichText);  // <big><b>: follows the application font (presentation mode)
  body_ = new QLabel(page);
  body_->setObjectName("tour_text");
  body_->setWordWrap(true);
  body_->setTextFormat(Qt::RichText);
  body_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  auto* scroll = new QScrollArea(page);
  scroll->setWidget(body_);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  status_ = new QLabel(page);
  status_->setObjectName("tour_status");
  status_->setWordWrap(true);
  back_ = new QPushButton(tr("< Back"), page);
  next_ = new QPushButton(tr("Next >"), page);
  auto* close = new QPushButton(tr("Close"), page);
  connect(back_, &QPushButton::clicked, this, &GuidedTour::back);
  connect(next_, &QPushButton::clicked, this, [this] {
    if (step_ + 1 < k_steps) next();
    else finish();
  });
  connect(close, &QPushButton::clicked, this, &GuidedTour::finish);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(back_);
  buttons->addStretch();
  buttons->addWidget(close);
  buttons->addWidget(next_);
  auto* layout = new QVBoxLayout(page);
  layout->addWidget(title_);
  layout->addWidget(scroll, 1);
  layout->addWidget(status_);
  layout->addLayout(buttons);
  setWidget(page);
  setMinimumWidth(320);
  hide();

  poll_ = new QTimer(this);
  poll_->setInterval(100);
  connect(poll_, &QTimer::timeout, this, &GuidedTour::pump);
  connect(&window_, &MainWindow::modelReady, this, [this](const ModelReport& m) { teacher_path_ = m.path; });
  connect(&window_, &MainWindow::studentReady, this, [this](const ModelReport& m) {
    student_path_ = m.path;
    student_layout_ = m.layout;
  });
  connect(window_.host().worker(), &EngineWorker::studentUnloaded, this, [this] {
    student_path_.clear();
    student_layout_.clear();
  });
  connect(&window_.chat(), &ChatController::replyFinished, this, [this](const GenerationSummary& s) {
    if (!expecting_.isEmpty()) replies_[std::exchange(expecting_, QString())] = s;
    if (active_) show_step();  // texts that quote the measurements
  });
  connect(&comparison_, &StudentComparisonRunner::finished, this, [this] {
    if (active_) show_step();
  });
}

void GuidedTour::start() {
  active_ = true;
  if (!isVisible()) {  // on the right, in front of the sampling settings
    if (window_.dockWidgetArea(this) == Qt::NoDockWidgetArea) window_.addDockWidget(Qt::RightDockWidgetArea, this);
    if (auto* sampling = window_.findChild<QDockWidget*>("sampling"); sampling && sampling->isVisible())
      window_.tabifyDockWidget(sampling, this);
  }
  show();
  raise();
  fitToFont();
  poll_->start();
  step_ = -1;
  goTo(0);
}

void GuidedTour::goTo(int step) {
  step = std::clamp(step, 0, k_steps - 1);
  if (step == step_ && !queue_.empty()) return;
  step_ = step;
  queue_.clear();
  setup_step(step_);
  show_step();
  pump();
  emit stepChanged(step_);
}

void GuidedTour::fitToFont() {
  if (!isVisible() || isFloating()) return;
  const int chars = QFontMetrics(QApplication::font()).averageCharWidth() * 46;
  window_.resizeDocks({this}, {std::max(chars, 320)}, Qt::Horizontal);
}

void GuidedTour::finish() {
  active_ = false;
  queue_.clear();
  poll_->stop();
  window_.chat().setSettings(load_generation_settings());  // the sampling panel's settings again
  hide();
}

void GuidedTour::closeEvent(QCloseEvent* e) {
  finish();
  e->accept();
}

void GuidedTour::then(const QString& doing, std::function<bool()> ready, std::function<void()> run) {
  queue_.push_back({doing, std::move(ready), std::move(run)});
}

bool GuidedTour::quiet() const { return !window_.chat().busy() && !comparison_.running(); }
bool GuidedTour::idle() const { return queue_.empty() && quiet(); }

void GuidedTour::pump() {
  while (!queue_.empty() && queue_.front().ready()) {
    Action a = std::move(queue_.front());
    queue_.pop_front();
    if (a.run) a.run();
  }
  QString doing = !queue_.empty() ? queue_.front().doing
                  : comparison_.running() ? tr("Comparing the students with the teacher...")
                  : window_.chat().busy()  ? tr("The model is answering...")
                                           : QString();
  status_->setText(doing.isEmpty() ? tr("Ready.") : doing);
}

void GuidedTour::show_step() {
  title_->setText("<big><b>" + title().toHtmlEscaped() + "</b></big>");
  body_->setText(text());
  back_->setEnabled(step_ > 0);
  next_->setText(step_ + 1 < k_steps ? tr("Next >") : tr("Finish"));
}

QString GuidedTour::title() const { return tr("%1 of %2. %3").arg(step_ + 1).arg(k_steps).arg(step_title(step_)); }
QString GuidedTour::text() const { return step_text(step_); }

double GuidedTour::teacherSpeed() const {
  auto it = replies_.find("teacher");
  return it == replies_.end() ? 0 : it->second.decode_tokens_per_s;
}

double GuidedTour::studentSpeed() const {
  auto it = replies_.find("student");
  return it == replies_.end() ? 0 : it->second.decode_tokens_per_s;
}

int GuidedTour::mixerLayer() const {
  for (size_t l = 0; l < student_layout_.size(); ++l)
    if (student_layout_[l] != LayerKind::Attention) return int(l);
  return -1;
}

}  // namespace ds::app
