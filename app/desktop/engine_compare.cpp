// EngineWorker::compareStudents: several students against the loaded teacher on one token stream
// (Chat > Compare students..., the guided tour). Each student is loaded, compared with a Pair (the
// teacher answers greedily, the student reads the same tokens) and released before the next, so
// only one extra model is on the device at a time; slot 1 (the chat's student) is left alone.
#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>

#include "app/desktop/engine_probes.h"
#include "app/desktop/engine_worker.h"
#include "distilscope/model.h"
#include "distilscope/pair.h"
#include "distilscope/tokenizer.h"
#include "text/token_label.h"
#include "util/error.h"

namespace ds::app {

void EngineWorker::compareStudents(const GenerationRequest& req, const QStringList& students) {
  int compared = 0;
  QString current;
  try {
    Slot& t = slots_[0];
    DS_CHECK(t.model, "no teacher is loaded: open a GGUF file or a Hugging Face folder first");
    DS_CHECK(!students.isEmpty(), "no student was chosen to compare with the teacher");
    const std::vector<int32_t> prompt = prompt_tokens(t, req);
    DS_CHECK(!prompt.empty(), "the prompt is empty");
    const int limit = t.report.context_train > 0 ? std::min(t.report.context_train, 4096) : 4096;
    DS_CHECK(int(prompt.size()) < limit, "the prompt (", prompt.size(), " tokens) fills the teacher's context (",
             limit, ")");
    PairOptions po;
    po.n_ctx = std::min(limit, int(prompt.size()) + req.max_tokens);
    const Tokenizer& tok = t.model->tokenizer();
    std::vector<int32_t> first_reply;
    for (int i = 0; i < students.size() && !stopped(req.id); ++i) {
      current = students[i];
      QElapsedTimer clock;
      clock.start();
      std::unique_ptr<Model> student = Model::load(*device_, current.toStdString());
      Pair pair(*t.model, *student, po);  // checks the tokenizers
      StudentComparison r;
      r.request = req.id;
      r.index = i;
      r.count = int(students.size());
      r.path = current;
      r.name = QFileInfo(current).completeBaseName();
      std::string text;
      Utf8Joiner joiner;
      r.divergence = pair.run_tokens(prompt, req.max_tokens, [&](const PairStep& step) {
        r.reply.push_back(step.div.token);
        if (!tok.is_end_of_generation(step.div.token)) text += joiner.push(step.piece);
        return !stopped(req.id);
      });
      text += joiner.flush();
      // Greedy decoding on the same device gives the same reply every time; say so when it did not.
      if (i == 0) first_reply = r.reply;
      DS_CHECK(r.reply == first_reply, "the teacher's greedy reply changed between students (", first_reply.size(),
               " then ", r.reply.size(), " tokens): the comparison would not be on one token stream");
      r.divergence.teacher = t.report.name.toStdString();
      r.divergence.student = r.name.toStdString();
      r.teacher_text = QString::fromStdString(text);
      student.reset();  // released before the next student loads
      r.seconds = double(clock.elapsed()) / 1000.0;
      ++compared;
      emit studentCompared(r);
    }
  } catch (const std::exception& e) {
    const QString what = current.isEmpty() ? tr("Comparing students")
                                           : tr("Comparing the student %1").arg(QFileInfo(current).fileName());
    emit failed(what, QString::fromUtf8(e.what()), 0);
  }
  emit comparisonFinished(req.id, compared);
  emit_stats(false, 0);
}

}  // namespace ds::app
