// TeachingFeatures: menu actions and the compare dialog's defaults.
#include "app/desktop/tour/teaching_features.h"

#include <QAction>
#include <QMenu>
#include <QTimer>

#include "app/desktop/chat/chat_panel.h"
#include "app/desktop/chat/prompt_edit.h"
#include "app/desktop/main_window.h"
#include "app/desktop/tour/compare_dialog.h"
#include "app/desktop/tour/guided_tour.h"
#include "app/desktop/tour/presentation.h"
#include "app/desktop/tour/student_comparison.h"

namespace ds::app {

TeachingFeatures::TeachingFeatures(MainWindow& window, QMenu* chat, QMenu* view, QMenu* help)
    : QObject(&window), window_(window) {
  comparison_ = new StudentComparisonRunner(window_);
  tour_ = new GuidedTour(window_, *comparison_);
  chat->addSeparator();
  chat->addAction(tr("Co&mpare students..."), this, &TeachingFeatures::ask_compare);

  view->addSeparator();
  QAction* present = view->addAction(tr("P&resentation mode"));
  present->setShortcut(Qt::Key_F5);
  presentation_ = new PresentationMode(window_, present);
  connect(&window_, &MainWindow::explorerReady, presentation_, &PresentationMode::applyToExplorer);
  connect(presentation_, &PresentationMode::changed, tour_, [this] {
    QTimer::singleShot(60, tour_, &GuidedTour::fitToFont);  // once the widgets use the new font
  });

  QAction* tour = new QAction(tr("&Guided tour"), help);
  connect(tour, &QAction::triggered, tour_, &GuidedTour::start);
  help->insertAction(help->actions().value(0), tour);
  help->insertSeparator(help->actions().value(1));
}

// The prompt being typed, else the conversation's last user message, else the tour's prompt.
QString TeachingFeatures::default_prompt() const {
  const QString typed = window_.chatPanel()->prompt()->toPlainText().trimmed();
  if (!typed.isEmpty()) return typed;
  const ConversationModel* c = window_.chat().conversation();
  for (int r = c->rowCount() - 1; r >= 0; --r)
    if (c->entry(r).role == Role::User && !c->entry(r).text.trimmed().isEmpty()) return c->entry(r).text;
  return GuidedTour::prompt();
}

void TeachingFeatures::ask_compare() {
  CompareDialog dialog(default_prompt(),
                       last_students_.isEmpty() ? StudentComparisonRunner::defaultStudents() : last_students_, &window_);
  if (dialog.exec() != QDialog::Accepted) return;
  last_students_ = dialog.students();
  comparison_->start(dialog.prompt(), last_students_, dialog.maxTokens());
}

}  // namespace ds::app
