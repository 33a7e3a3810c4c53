// AutoTest, the engine's probes in the app: the probe panels fed by a real generation (checked
// against the probes' invariants and the model's own greedy choices), a teacher-student pair turn
// (divergence timeline, per-layer strip, KL-tinted chat tokens with their tooltip, kept when the
// conversation is reopened from the store, and exported as Markdown), and a Hugging
// Face folder opened as the model.
#include <QDir>
#include <QFile>
#include <QGuiApplication>
#include <QHelpEvent>
#include <QJsonArray>
#include <QScreen>
#include <QTextBlock>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <memory>

#include "app/desktop/autotest.h"
#include "app/desktop/chat/chat_panel.h"
#include "app/desktop/chat/chat_view.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"

namespace ds::app {

bool AutoTest::send_and_wait(const QString& prompt, int max_tokens, GenerationSummary* summary) {
  bool finished = false;
  QObject scope;
  connect(&w_.chat(), &ChatController::replyFinished, &scope, [&](const GenerationSummary& s) {
    finished = true;
    if (summary) *summary = s;
  });
  GenerationSettings settings;
  settings.sampling.temperature = 0;
  settings.max_tokens = max_tokens;
  w_.chat().setSettings(settings);
  if (!w_.chat().send(prompt)) return false;
  return wait_until([&] { return finished; }, 180000);
}

// After a greedy chat turn with probes on (the defaults: every layer and head of a small model, the
// logit lens): the panels' snapshots are the model's, over the whole context.
void AutoTest::check_probe_data(int prompt_tokens, int context_tokens) {
  ExplorerData& d = w_.explorerData();
  wait_until([] { return false; }, 300);  // the last queued probe steps
  d.refresh(true);
  const AttentionSnapshot& att = d.attention();
  const ActivationSnapshot& act = d.activations();
  const int n = int(att.token_labels.size());
  report_["probe_steps"] = qint64(d.probeSteps());
  report_["probe_positions"] = n;
  report_["probe_maps"] = int(att.maps.size());
  report_["probe_model"] = QString::fromStdString(att.model);
  check(d.probeSteps() > 0 && !d.demo(), QString("probe steps reached the explorer (%1)").arg(d.probeSteps()));
  check(n >= context_tokens - 1 && n <= context_tokens,
        QString("the maps cover the context (%1 positions for %2 tokens)").arg(n).arg(context_tokens));
  check(int(att.maps.size()) == att.n_layers * att.n_heads && !att.maps.empty(),
        QString("every layer and head captured (%1 maps, %2 layers x %3 heads)").arg(att.maps.size()).arg(att.n_layers).arg(att.n_heads));
  // Each captured row is a probability distribution over the keys up to its position.
  double worst = 0;
  for (const AttentionMap& m : att.maps)
    for (int q = 0; q < m.n_queries; ++q) {
      double sum = 0;
      for (int k = 0; k < m.n_keys; ++k) sum += double(m.at(q, k));
      worst = std::max(worst, std::abs(sum - 1.0));
    }
  report_["attention_row_sum_max_error"] = worst;
  check(worst < 1e-3, QString("attention rows sum to 1 (worst error %1)").arg(worst));
  check(int(act.tokens.size()) == n, QString("activations for every position (%1)").arg(act.tokens.size()));
  bool norms_ok = !act.tokens.empty(), hist_ok = true;
  for (const TokenActivations& t : act.tokens)
    for (const LayerActivation& l : t.layers) {
      norms_ok = norms_ok && l.residual_norm > 0 && std::isfinite(l.residual_norm);
      uint64_t count = 0;
      for (uint32_t c : l.histogram) count += c;
      hist_ok = hist_ok && count > 0 && !l.top_channels.empty();
    }
  check(norms_ok && hist_ok, "residual norms positive and finite, histograms and top channels filled");
  // The last layer's logit lens is the model's own distribution: with greedy sampling its top token
  // at each reply position is the next token.
  int lens_checked = 0, lens_agree = 0;
  for (size_t p = 0; p + 1 < act.tokens.size(); ++p) {
    const auto& layers = act.tokens[p].layers;
    if (layers.empty() || layers.back().logit_lens.empty() || int(p) < prompt_tokens - 1) continue;
    ++lens_checked;
    lens_agree += layers.back().logit_lens.front().first == act.tokens[p + 1].token;
  }
  report_["logit_lens_checked"] = lens_checked;
  report_["logit_lens_agree"] = lens_agree;
  check(lens_checked > 0 && lens_agree == lens_checked,
        QString("last layer's logit lens top-1 = the greedy next token (%1 of %2)").arg(lens_agree).arg(lens_checked));
}

// A student beside the model: the teacher answers, the student is teacher-forced; divergence per
// token reaches the timeline and the chat.
void AutoTest::run_pair() {
  bool ready = false;
  {
    QObject scope;
    connect(&w_, &MainWindow::studentReady, &scope, [&] { ready = true; });
    const int errors = int(w_.errors().size());
    w_.openStudent(o_.student);
    wait_until([&] { return ready || w_.errors().size() > errors; }, 60000);
  }
  check(ready, "the student opened beside the teacher (" + QFileInfo(o_.student).fileName() + ")");
  if (!ready) return;
  w_.setChatMode(ChatMode::Pair);
  w_.chat().newConversation();
  GenerationSummary s;
  const bool done = send_and_wait("Once upon a time", 40, &s);
  check(done && s.generated > 0, QString("pair turn finished (%1 tokens, %2)").arg(s.generated).arg(s.stop_reason));
  ExplorerData& d = w_.explorerData();
  wait_until([] { return false; }, 300);
  d.refresh(true);
  const DivergenceSnapshot* div = d.divergence().empty() ? nullptr : &d.divergence().front();
  check(div && int(div->tokens.size()) == s.generated,
        QString("divergence per generated token (%1)").arg(div ? div->tokens.size() : 0));
  if (div && !div->tokens.empty()) {
    double kl_sum = 0, kl_max = 0, agree = 0, cos0_min = 1, cos1_min = 1;
    bool finite = true;
    for (const TokenDivergence& t : div->tokens) {
      finite = finite && std::isfinite(t.kl) && t.kl >= 0;
      kl_sum += t.kl;
      kl_max = std::max(kl_max, double(t.kl));
      agree += t.top1_agree;
      if (t.layer_cosine.size() >= 2) {
        cos0_min = std::min(cos0_min, double(t.layer_cosine[0]));
        cos1_min = std::min(cos1_min, double(t.layer_cosine[1]));
      }
    }
    const double nt = double(div->tokens.size());
    report_["pair_mean_kl"] = kl_sum / nt;
    report_["pair_max_kl"] = kl_max;
    report_["pair_top1_agreement"] = agree / nt;
    report_["pair_layer0_cosine_min"] = cos0_min;
    report_["pair_layer1_cosine_min"] = cos1_min;
    check(finite && kl_max > 0, QString("KL finite, > 0 where the student departs (mean %1, max %2 nats)")
                                    .arg(kl_sum / nt, 0, 'f', 3).arg(kl_max, 0, 'f', 3));
    // Only layer 1 was replaced: the residual after layer 0 is the teacher's, after layer 1 it is not.
    if (o_.student_is_layer1_mamba)
      check(cos0_min > 0.9999 && cos1_min < 0.9999,
            QString("layer cosine: 1 before the replaced layer (min %1), below after it (min %2)").arg(cos0_min, 0, 'f', 6).arg(cos1_min, 0, 'f', 6));
    else  // a trained student: every layer may move, and a replaced one departs
      check(cos0_min > -1.0001 && cos0_min <= 1.0001 && cos1_min < 0.9999,
            QString("layer cosine in [-1, 1], below 1 at a replaced layer (min %1 at layer 0, %2 at layer 1)")
                .arg(cos0_min, 0, 'f', 6).arg(cos1_min, 0, 'f', 6));
  }
  check(d.teacherAttention().has_value() && !d.attention().maps.empty(),
        QString("teacher and student attention after the pair (%1 student maps)").arg(d.attention().maps.size()));
  const ConversationModel* conv = w_.chat().conversation();
  const int row = conv->lastRow(Role::Assistant);
  const size_t marks = row >= 0 ? conv->entry(row).marks.size() : 0;
  report_["pair_marked_tokens"] = qint64(marks);
  check(marks > 0, QString("the reply's tokens are marked with their divergence (%1)").arg(marks));
  // File > Export conversation as Markdown, without the dialog: the stored reply and its summary.
  const QString md_path = o_.out_dir + "/conversation_pair.md";
  const QString md_error = w_.exportConversation(w_.chat().currentConversation(), md_path);
  QFile md_file(md_path);
  const QString md = md_error.isEmpty() && md_file.open(QIODevice::ReadOnly) ? QString::fromUtf8(md_file.readAll()) : QString();
  check(md.contains("## Assistant (teacher; student read along)") && md.contains("> **Divergence** vs `"),
        "conversation exported as Markdown with its divergence summary " + (md_error.isEmpty() ? md_path : md_error));

  // Screenshots: divergence timeline, attention teacher | student | difference, the tinted chat.
  ImGuiWindow* ex = w_.explorer();
  for (auto [name, panel] : {std::pair{"divergence_pair", ui::Panel::Divergence}, std::pair{"attention_pair", ui::Panel::Attention}}) {
    w_.showExplorerPanel(int(panel));
    ex->workspaceState().attention.mode = ui::AttentionMode::Map;
    ex->workspaceState().attention.compare = true;
    wait_until([] { return false; }, 400);
    const QImage img = capture();
    const QString file = QString("panel_%1.png").arg(name);
    check(!img.isNull() && img.save(o_.out_dir + "/" + file), "screenshot " + file);
    screenshots_ << file;
  }
  w_.chatPanel()->grab().save(o_.out_dir + "/chat_pair.png");
  screenshots_ << "chat_pair.png";
  // Hover a token near the reply's start: Qt shows the token's tooltip.
  auto hover = [&](const QString& shot) {
    const int r = conv->lastRow(Role::Assistant);
    const std::vector<TokenMark>& ms = conv->entry(r).marks;
    if (ms.empty()) return QString();
    ChatView* view = w_.chatPanel()->view();
    const TokenMark& m = ms[std::min<size_t>(2, ms.size() - 1)];
    QTextBlock header = view->document()->lastBlock();  // the reply's header ("Assistant" and the model file), then its text
    while (header.isValid() && !header.text().startsWith(tr("Assistant"))) header = header.previous();
    QTextCursor c(view->document());
    c.setPosition(header.next().position() + m.begin + m.length / 2);
    view->setTextCursor(c);
    view->ensureCursorVisible();
    const QPoint at = view->cursorRect(c).center();
    QHelpEvent help(QEvent::ToolTip, at, view->viewport()->mapToGlobal(at));
    QCoreApplication::sendEvent(view->viewport(), &help);
    wait_until([] { return QToolTip::isVisible(); }, 2000);
    wait_until([] { return false; }, 300);
    const QString tip = QToolTip::isVisible() ? QToolTip::text() : QString();
    if (QScreen* screen = QGuiApplication::primaryScreen()) {
      const QPoint g = view->viewport()->mapToGlobal(at);
      screen->grabWindow(0, std::max(0, g.x() - 300), std::max(0, g.y() - 150), 800, 320).save(o_.out_dir + "/" + shot);
      screenshots_ << shot;
    }
    QToolTip::hideText();
    return tip;
  };
  if (marks > 0) {
    const QString tip = hover("chat_tooltip.png");
    report_["pair_tooltip"] = tip;
    check(tip.contains("p(teacher)"), "hovering a token shows its probabilities, KL and alternatives");
    // Another conversation, then back: the reply's marks come back from the store, tooltip and all.
    const std::vector<TokenMark> before = conv->entry(row).marks;
    const qint64 id = w_.chat().currentConversation();
    w_.chat().newConversation();
    wait_until([] { return false; }, 200);
    w_.chat().openConversation(id);
    wait_until([] { return false; }, 300);
    const int again = conv->lastRow(Role::Assistant);
    const std::vector<TokenMark>& after = again >= 0 ? conv->entry(again).marks : std::vector<TokenMark>{};
    bool same = after.size() == before.size();
    for (size_t i = 0; same && i < after.size(); ++i)
      same = after[i].begin == before[i].begin && after[i].length == before[i].length && after[i].kl == before[i].kl &&
             after[i].tooltip == before[i].tooltip;
    report_["pair_marked_tokens_reopened"] = qint64(after.size());
    check(id > 0 && same, QString("reopened from the store, the reply keeps its %1 marked tokens (%2 before)")
                              .arg(after.size()).arg(before.size()));
    const int64_t model_id = again >= 0 ? conv->entry(again).model_id : 0;
    report_["pair_reply_model_id"] = qint64(model_id);
    check(model_id > 0 && conv->entry(again).model == w_.chat().teacherPath(),
          QString("the reopened reply records the teacher that wrote it (models row %1)").arg(model_id));
    w_.chatPanel()->grab().save(o_.out_dir + "/chat_pair_reopened.png");
    screenshots_ << "chat_pair_reopened.png";
    const QString tip2 = hover("chat_tooltip_reopened.png");
    report_["pair_tooltip_reopened"] = tip2;
    check(!tip.isEmpty() && tip2 == tip, "the reopened reply shows the same tooltip");
  }
  w_.setChatMode(ChatMode::Teacher);
  w_.chat().newConversation();
}

// File > Open HF folder: the engine loads config.json + safetensors + tokenizer.json, and it answers.
void AutoTest::open_hf_folder() {
  bool ready = false;
  QString path;
  {
    QObject scope;
    connect(&w_, &MainWindow::modelReady, &scope, [&](const ModelReport& m) {
      ready = true;
      path = m.path;
    });
    const int errors = int(w_.errors().size());
    w_.openModel(o_.hf_folder);
    wait_until([&] { return ready || w_.errors().size() > errors; }, 60000);
  }
  check(ready && QDir(path) == QDir(o_.hf_folder), "the Hugging Face folder opened as the model (" + path + ")");
  if (!ready) return;
  w_.chat().newConversation();
  GenerationSummary s;
  const bool done = send_and_wait("Once upon a time", 8, &s);
  check(done && s.generated > 0, QString("the folder's model answers (%1 tokens)").arg(s.generated));
  report_["hf_folder_generated"] = s.generated;
}

}  // namespace ds::app
