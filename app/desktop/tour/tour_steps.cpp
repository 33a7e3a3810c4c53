// The guided tour's four steps: what each sets up (models, chat mode, prompt, explorer tab, layer
// and head) and what it says. Replies are short and greedy, so the tour runs in seconds even on a
// CPU Vulkan driver, and every student reads the very tokens the teacher wrote.
#include <QFileInfo>

#include <algorithm>

#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"
#include "app/desktop/tour/guided_tour.h"
#include "app/desktop/tour/student_comparison.h"
#include "util/paths.h"

namespace ds::app {

namespace {
constexpr int k_reply_tokens = 24;

QString asset(const char* name) {
  auto p = default_model(name);
  return p ? QString::fromStdString(*p) : QString();
}

bool same_file(const QString& a, const QString& b) {
  return !a.isEmpty() && !b.isEmpty() && QFileInfo(a).canonicalFilePath() == QFileInfo(b).canonicalFilePath();
}
}  // namespace

QString GuidedTour::prompt() { return QStringLiteral("And God said"); }

// The embedded teacher and its 50 % Mamba student, loaded unless they already are (when the
// assets are not installed, the tour goes on with the models that are open).
void GuidedTour::ensure_default_models() {
  const QString teacher = asset("teacher"), student = asset("student-mamba-50");
  then(tr("Waiting for the engine..."), [this] { return quiet(); }, [this, teacher] {
    if (!teacher.isEmpty() && !same_file(teacher_path_, teacher)) {
      teacher_path_.clear();
      window_.openModel(teacher);
    }
  });
  then(tr("Loading the default teacher..."), [this, teacher] { return teacher.isEmpty() ? window_.modelLoaded() : same_file(teacher_path_, teacher); },
       [this, student] {
         if (!student.isEmpty() && !same_file(student_path_, student)) {
           student_path_.clear();
           window_.openStudent(student);
         }
       });
  then(tr("Loading the 50 % Mamba student..."),
       [this, student] { return student.isEmpty() || same_file(student_path_, student); });
}

// A fresh conversation in which `mode` answers the tour's prompt greedily.
void GuidedTour::send_as(ChatMode mode, const QString& role) {
  window_.chat().newConversation();
  window_.setChatMode(mode);
  GenerationSettings s = load_generation_settings();
  s.sampling.temperature = 0;
  s.max_tokens = k_reply_tokens;
  s.system_prompt.clear();
  window_.chat().setSettings(s);
  if (ImGuiWindow* ex = window_.explorer()) ex->workspaceState().probes.enabled = true;
  expecting_ = role;
  window_.chat().send(prompt());
}

void GuidedTour::setup_step(int step) {
  ensure_default_models();
  auto ready = [this] { return quiet(); };
  switch (step) {
    case 0:
      then(tr("The teacher is answering..."), ready, [this] {
        window_.showExplorerPanel(int(ui::Panel::Attention));
        send_as(ChatMode::Teacher, "teacher");
      });
      break;
    case 1:
      then(tr("Comparing the students..."), ready, [this] {
        comparison_.start(prompt(), StudentComparisonRunner::defaultStudents(), k_reply_tokens);
      });
      break;
    case 2:
      then(tr("The 50 % student reads the teacher's answer..."), ready, [this] {
        window_.showExplorerPanel(int(ui::Panel::Attention));
        send_as(ChatMode::Pair, "pair");
      });
      then(tr("Selecting the first mixer layer..."), ready, [this] {
        if (ImGuiWindow* ex = window_.explorer()) {
          ui::AttentionView& v = ex->workspaceState().attention;
          v.mode = ui::AttentionMode::Map;
          v.layer = std::max(0, mixerLayer());
          v.head = 0;
          v.compare = true;
        }
        window_.showExplorerPanel(int(ui::Panel::Attention));
      });
      break;
    case 3:
      then(tr("The teacher answers alone..."), ready, [this] { send_as(ChatMode::Teacher, "teacher"); });
      then(tr("The student answers alone..."), ready, [this] { send_as(ChatMode::Student, "student"); });
      then(QString(), ready, [this] {
        window_.setChatMode(ChatMode::Teacher);
        window_.showExplorerPanel(int(ui::Panel::Throughput));
      });
      break;
  }
}

QString GuidedTour::step_title(int step) const {
  switch (step) {
    case 0: return tr("The prompt and the teacher's answer");
    case 1: return tr("Where each student departs from the teacher");
    case 2: return tr("A mixer layer's implied attention");
    default: return tr("The speed gain");
  }
}

QString GuidedTour::step_text(int step) const {
  switch (step) {
    case 0:
      return tr("<p>The <b>teacher</b> is a small transformer (4 attention layers, 256 wide) trained on the King "
                "James Bible. It reads the prompt <i>%1</i> and answers <b>greedily</b>: at every step it "
                "takes its most likely token.</p><p>The answer streams into the chat. The <b>Attention</b> tab "
                "below shows where a head looked while the teacher read and wrote: one row per token, one "
                "column per earlier token it attended to (brighter: more weight).</p><p>Every student in the "
                "next steps reads exactly this answer, token by token.</p>")
          .arg(prompt().toHtmlEscaped());
    case 1: {
      QString results;
      for (const QString& s : comparison_.summaries()) results += "<li>" + s.toHtmlEscaped() + "</li>";
      if (!results.isEmpty()) results = tr("<p>Measured on this answer:</p><ul>%1</ul>").arg(results);
      return tr("<p>Each <b>student</b> is the teacher with 25&nbsp;%, 50&nbsp;% or 75&nbsp;% of its attention layers replaced by "
                "<b>Mamba</b> mixers, then distilled to imitate it. Each reads the teacher's answer (teacher "
                "forcing), and at every token we measure how far its next-token distribution is from the "
                "teacher's.</p>%1<ul><li>The plot: KL(teacher || student) per token, one colour per student; the "
                "legend gives its mean and how often its top token is the teacher's (top-1).</li><li>The "
                "strips: green where the student's top token is the teacher's, red where it is not.</li>"
                "<li>The heat map: in which layer the student's residual stream drifts from the teacher's "
                "(1 - cosine).</li></ul><p>Hover a token for both models' top alternatives.</p>")
          .arg(results);
    }
    case 2:
      return tr("<p>A Mamba layer keeps no attention matrix: it carries a fixed-size state from token to token. "
                "Unrolling its scan writes each output as a weighted sum of the earlier inputs, and those "
                "weights form an <b>implied attention</b> map.</p><p>The 50&nbsp;% student has read the teacher's "
                "answer. Left: its layer %1, a mixer (implied attention, head %2); middle: the teacher's "
                "attention on the same layer; right: their difference. Where the student has learnt the "
                "teacher's pattern (a diagonal: the previous token; a column: the first token) the difference "
                "fades.</p><p>Change the layer and head above the maps.</p>")
          .arg(mixerLayer())
          .arg(0);
    default: {
      QString measured;
      if (teacherSpeed() > 0 && studentSpeed() > 0)
        measured = tr("<p>Measured here: teacher <b>%1</b> tokens/s, 50&nbsp;% student <b>%2</b> tokens/s "
                      "(x%3).</p>")
                       .arg(teacherSpeed(), 0, 'f', 1)
                       .arg(studentSpeed(), 0, 'f', 1)
                       .arg(studentSpeed() / teacherSpeed(), 0, 'f', 2);
      return tr("%1<p>Why distil at all? Attention's cost per new token grows with the context: each token reads "
                "every earlier key and value. A Mamba mixer's does not: its state has a fixed size.</p><p>The "
                "<b>Throughput</b> tab plots decode tokens/s against the context length for the teacher and "
                "the student, each answering the prompt alone (and the pair of step 3).</p><p>On these tiny models and short "
                "contexts fixed costs dominate, so the gap is small or even reversed; it opens up as the "
                "context and the model grow.</p>")
          .arg(measured);
    }
  }
}

}  // namespace ds::app
