// AutoTest::run_tour (`distilscope --autotest DIR --autotest-tour`): the guided tour walked over the
// default teacher and students like a presenter clicking Next, the last two steps in presentation
// mode. Each step must set up what it talks about (checked against the real data: the teacher's
// reply, one divergence series per student on one token stream, a mixer layer's implied attention
// beside the teacher's, tokens/s of both models), and leaves a screenshot tour_stepN.png.
#include <QApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QSettings>

#include <cmath>
#include <set>

#include "app/desktop/autotest.h"
#include "app/desktop/chat/conversation_model.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"
#include "app/desktop/tour/compare_dialog.h"
#include "app/desktop/tour/guided_tour.h"
#include "app/desktop/tour/presentation.h"
#include "app/desktop/tour/student_comparison.h"
#include "app/desktop/tour/teaching_features.h"
#include "ui/panels.h"

namespace ds::app {

void AutoTest::run_tour() {
  const bool ready = wait_until(
      [&] { return (w_.explorer() && w_.modelLoaded() && w_.studentLoaded()) || !w_.errors().isEmpty(); }, 180000);
  check(ready && w_.errors().isEmpty(), "default teacher, 50 % student and explorer ready (" + w_.errors().join("; ") + ")");
  if (!ready || !w_.errors().isEmpty()) return finish();
  TeachingFeatures& teaching = w_.teaching();
  GuidedTour& tour = teaching.tour();
  const double base_font = QApplication::font().pointSizeF();
  teaching.presentation().set(false);
  {  // Chat > Compare students...: the dialog as it opens, the Mamba students ticked
    CompareDialog dialog(GuidedTour::prompt(), StudentComparisonRunner::defaultStudents(), &w_);
    dialog.show();
    wait_until([] { return false; }, 300);
    dialog.grab().save(o_.out_dir + "/compare_dialog.png");
    screenshots_ << "compare_dialog.png";
    check(dialog.students().size() == 3, QString("the compare dialog ticks the 3 Mamba students (%1)").arg(dialog.students().size()));
  }
  tour.start();
  QJsonArray steps;
  for (int i = 0; i < GuidedTour::k_steps; ++i) {
    if (i > 0) tour.next();
    if (i == 2) teaching.presentation().set(true);
    QElapsedTimer clock;
    clock.start();
    const bool done = wait_until([&] { return tour.idle() || !w_.errors().isEmpty(); }, 240000);
    check(done && w_.errors().isEmpty() && tour.step() == i,
          QString("tour step %1 set up: %2 (%3)").arg(i + 1).arg(tour.title(), w_.errors().join("; ")));
    wait_until([] { return false; }, 800);  // the explorer rebuilds its snapshots and draws them
    w_.explorerData().refresh(true);
    check_tour_step(i);
    const QString shot = QString("tour_step%1.png").arg(i + 1);
    save_window(shot);
    QJsonObject s;
    s["title"] = tour.title();
    s["seconds"] = double(clock.elapsed()) / 1000.0;
    s["presentation"] = teaching.presentation().on();
    s["screenshot"] = shot;
    steps << s;
  }
  report_["tour_steps"] = steps;
  check(QApplication::font().pointSizeF() > base_font * 1.4,
        QString("presentation mode enlarges the widgets' font (%1 -> %2 pt)").arg(base_font).arg(QApplication::font().pointSizeF()));
  tour.finish();
  teaching.presentation().set(false);
  check(w_.explorer()->uiScale() == 1.0f && std::fabs(QApplication::font().pointSizeF() - base_font) < 0.01 &&
            !QSettings().value("view/presentation").toBool(),
        "presentation mode off restores the normal sizes");
  check(!tour.isVisible(), "the tour's dock closes at the end");
  finish();
}

void AutoTest::check_tour_step(int step) {
  ExplorerData& data = w_.explorerData();
  ImGuiWindow* ex = w_.explorer();
  GuidedTour& tour = w_.teaching().tour();
  const ConversationModel* chat = w_.chat().conversation();
  const int rows = chat->rowCount();
  switch (step) {
    case 0: {
      const QString reply = rows > 0 ? chat->entry(rows - 1).text : QString();
      report_["tour_teacher_reply"] = reply;
      check(rows == 2 && chat->entry(0).text == GuidedTour::prompt() && !reply.trimmed().isEmpty(),
            "step 1: the prompt and the teacher's reply are in the chat: " + reply.left(80));
      check(!data.attention().maps.empty() && ex->currentPanel() == ui::Panel::Attention,
            QString("step 1: the attention tab shows the teacher's maps (%1)").arg(data.attention().maps.size()));
      break;
    }
    case 1: {
      const auto& div = data.divergence();
      const QStringList expected = StudentComparisonRunner::defaultStudents();
      check(int(div.size()) == expected.size() && expected.size() == 3,
            QString("step 2: the timeline overlays every default Mamba student (%1 of %2)").arg(div.size()).arg(expected.size()));
      std::set<std::string> names;
      bool same_stream = true, sane = true;
      QJsonArray students;
      for (const DivergenceSnapshot& d : div) {
        names.insert(d.student);
        same_stream &= !d.tokens.empty() && d.tokens.size() == div[0].tokens.size();
        for (size_t t = 0; t < d.tokens.size() && t < div[0].tokens.size(); ++t) {
          same_stream &= d.tokens[t].token == div[0].tokens[t].token && d.tokens[t].position == div[0].tokens[t].position;
          sane &= std::isfinite(d.tokens[t].kl) && d.tokens[t].kl >= -1e-4f;
        }
        const DivergenceSummary s = summarize(d);
        QJsonObject o;
        o["student"] = QString::fromStdString(d.student);
        o["tokens"] = s.tokens;
        o["mean_kl"] = s.mean_kl;
        o["top1_agreement"] = s.agreement;
        students << o;
      }
      report_["tour_students"] = students;
      check(names.size() == div.size(), "step 2: one series per student, named");
      check(same_stream, "step 2: every student read the same teacher tokens");
      check(sane, "step 2: KL finite and >= 0 for every token");
      check(ex->currentPanel() == ui::Panel::Divergence, "step 2: the divergence tab is shown");
      break;
    }
    case 2: {
      const int layer = tour.mixerLayer();
      const AttentionSnapshot& st = data.attention();
      const auto& teacher = data.teacherAttention();
      check(layer >= 0 && size_t(layer) < st.layout.size() && st.layout[size_t(layer)] != LayerKind::Attention,
            QString("step 3: the student's layer %1 is a mixer").arg(layer));
      check(ui::find_map(st, layer, 0) && teacher && ui::find_map(*teacher, layer, 0),
            QString("step 3: implied attention of layer %1 head 0 beside the teacher's map").arg(layer));
      const ui::AttentionView& v = ex->workspaceState().attention;
      check(ex->currentPanel() == ui::Panel::Attention && v.layer == layer && v.head == 0 && v.compare,
            "step 3: the attention tab shows that layer and head, compared with the teacher");
      check(ex->uiScale() == k_presentation_scale && QSettings().value("view/presentation").toBool(),
            "step 3: the explorer draws in presentation mode, kept in the settings");
      break;
    }
    default: {
      report_["tour_teacher_tokens_per_s"] = tour.teacherSpeed();
      report_["tour_student_tokens_per_s"] = tour.studentSpeed();
      std::set<std::string> models;
      for (const ThroughputSample& s : data.workspace().throughput) models.insert(s.model);
      check(tour.teacherSpeed() > 0 && tour.studentSpeed() > 0 && models.size() >= 2,
            QString("step 4: tokens/s of the teacher (%1) and the student (%2), %3 models in the throughput panel")
                .arg(tour.teacherSpeed(), 0, 'f', 1)
                .arg(tour.studentSpeed(), 0, 'f', 1)
                .arg(models.size()));
      check(ex->currentPanel() == ui::Panel::Throughput, "step 4: the throughput tab is shown");
      check(tour.text().contains("Measured here"), "step 4: the text quotes the measured speeds");
    }
  }
}

}  // namespace ds::app
