// Qt Test: the engine worker bridge with a tiny synthetic model. Reports arrive as queued signals
// on the GUI thread while the engine runs on its own thread; queuing work never waits; Stop takes
// effect within one token (requested inside a token callback, and from the GUI thread mid-reply);
// failures come back as signals with readable messages; reusing the KV cache for a prompt that
// extends the previous one gives the same tokens as a fresh session; a pair turn through the chat is
// stored with its token marks and gives them back when reopened.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <QElapsedTimer>

#include <atomic>
#include <optional>

#include "app/desktop/chat/chat_controller.h"
#include "app/desktop/chat/chat_store.h"
#include "app/desktop/engine_host.h"
#include "distilscope/device.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "model/synthetic.h"
#define DS_TEST_WAIT_MS 60000
#include "wait_for.h"

using namespace ds;
using namespace ds::app;

namespace {

// Collects one generation's reports as they arrive on the GUI thread. It is the receiver (context)
// of its connections, so reports still queued when it is destroyed are dropped with it instead of
// being delivered to a dead object.
struct Collector : QObject {
  uint64_t id = 0;  // the request to collect (0: any)
  std::vector<TokenChunk> chunks;
  std::optional<GenerationSummary> summary;
  QStringList failures;
  bool off_gui_thread = false;

  explicit Collector(EngineWorker* w) {
    connect(w, &EngineWorker::tokenGenerated, this, [this](const TokenChunk& c) {
      off_gui_thread |= QThread::currentThread() != qApp->thread();
      if (id == 0 || c.request == id) chunks.push_back(c);
    });
    connect(w, &EngineWorker::generationFinished, this, [this](const GenerationSummary& s) {
      if (id == 0 || s.request == id) summary = s;
    });
    connect(w, &EngineWorker::failed, this, [this](const QString& what, const QString& m, quint64) {
      failures << what + ": " + m;
    });
  }
};

}  // namespace

class AppWorkerTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString model_path_;
  std::unique_ptr<EngineHost> host_;

  GenerationRequest request(const std::string& prompt, int max_tokens) {
    GenerationRequest r;
    r.raw_prompt = prompt;
    r.sampling.temperature = 0;  // greedy: comparable runs
    r.max_tokens = max_tokens;
    r.context_length = 512;
    return r;
  }

 private slots:
  void initTestCase() {
    model_path_ = dir_.filePath("tiny.gguf");
    SyntheticSpec spec;
    spec.config = llama_like(2, 64, 4, 2, 128, 320);
    spec.config.context_train = 1024;
    write_synthetic_model(model_path_.toStdString(), spec);
    host_ = std::make_unique<EngineHost>();
    QObject scope;  // receiver of this function's connections (see Collector)
    int devices = 0;
    std::optional<ModelReport> loaded;
    connect(host_->worker(), &EngineWorker::deviceOpened, &scope, [&] { ++devices; });
    connect(host_->worker(), &EngineWorker::modelLoaded, &scope, [&](const ModelReport& r) { loaded = r; });
    host_->openDevice("", false);
    host_->loadModel(model_path_);
    QVERIFY(wait_for([&] { return loaded.has_value(); }));
    QCOMPARE(devices, 1);
    const ModelReport report = *loaded;
    QCOMPARE(report.n_layers, 2);
    QCOMPARE(report.vocab, 320);
    QVERIFY(report.token_labels && int(report.token_labels->size()) == 320);
    QCOMPARE(report.chat_template, ChatTemplateKind::Plain);  // no tokenizer.chat_template in the file
  }

  void cleanupTestCase() {
    host_->shutdown();
    QCOMPARE(validation_message_count(), uint64_t(0));
  }

  // Probes on: the same tokens as without, and one probe step per forward pass covering every
  // position of the context (the prompt's prefill, then each fed token) with all layers and heads.
  void probesStreamStepsWithoutChangingTheTokens() {
    Collector plain(host_->worker());
    host_->resetContext();
    plain.id = host_->generate(request("Once upon a time", 10));
    QVERIFY(wait_for([&] { return plain.summary.has_value(); }));
    Collector probed(host_->worker());
    std::vector<ProbeStep> steps;
    connect(host_->worker(), &EngineWorker::probeStep, &probed, [&](const ProbeStep& s) { steps.push_back(s); });
    host_->resetContext();
    GenerationRequest r = request("Once upon a time", 10);
    r.probes.enabled = true;
    probed.id = host_->generate(r);
    QVERIFY(wait_for([&] { return probed.summary.has_value(); }));
    QVERIFY2(probed.failures.isEmpty(), qPrintable(probed.failures.join("; ")));
    QCOMPARE(probed.summary->text, plain.summary->text);
    QVERIFY(!steps.empty());
    int next = 0;
    for (const ProbeStep& s : steps) {
      QCOMPARE(s.first_position, next);
      next += int(s.tokens.size());
      QCOMPARE(int(s.maps.size()), 2 * 4);  // every layer and head of the tiny model
      QCOMPARE(s.activations.size(), s.tokens.size());
    }
    QCOMPARE(next, probed.summary->prompt_tokens + probed.summary->generated - 1);
  }

  // A student with other weights (same tokenizer) beside the teacher: a pair turn marks every token
  // with its divergence; a student-only turn answers too.
  void pairTurnSendsDivergencePerToken() {
    const QString student_path = dir_.filePath("student.gguf");
    SyntheticSpec spec;
    spec.config = llama_like(2, 64, 4, 2, 128, 320);
    spec.config.context_train = 1024;
    spec.seed = 99;
    write_synthetic_model(student_path.toStdString(), spec);
    QObject scope;
    std::optional<ModelReport> loaded;
    connect(host_->worker(), &EngineWorker::modelLoaded, &scope, [&](const ModelReport& m) { loaded = m; });
    host_->loadModel(student_path, 1);
    QVERIFY(wait_for([&] { return loaded.has_value(); }));
    QCOMPARE(loaded->slot, 1);
    Collector c(host_->worker());
    std::vector<ProbeStep> steps;
    connect(host_->worker(), &EngineWorker::probeStep, &c, [&](const ProbeStep& s) { steps.push_back(s); });
    GenerationRequest r = request("Once upon a time", 8);
    r.mode = ChatMode::Pair;
    r.probes.enabled = true;
    c.id = host_->generate(r);
    QVERIFY(wait_for([&] { return c.summary.has_value(); }));
    QVERIFY2(c.failures.isEmpty(), qPrintable(c.failures.join("; ")));
    QCOMPARE(int(c.chunks.size()), c.summary->generated);
    float kl = 0;
    for (const TokenChunk& k : c.chunks) {
      QVERIFY(k.has_divergence);
      QCOMPARE(k.divergence.token, k.token);
      kl += k.divergence.kl;
    }
    QVERIFY(kl > 0);
    bool teacher = false, student = false;
    for (const ProbeStep& s : steps) (s.role == 0 ? teacher : student) = true;
    QVERIFY(teacher && student);
    Collector alone(host_->worker());
    r.mode = ChatMode::Student;
    alone.id = host_->generate(r);
    QVERIFY(wait_for([&] { return alone.summary.has_value(); }));
    QVERIFY(alone.summary->generated > 0 && !alone.chunks.front().has_divergence);

    // The same turn through the chat: the reply's marks are stored with it and come back, equal,
    // when the conversation is opened from the reopened SQLite file.
    const QString db = dir_.filePath("chat.db");
    std::vector<TokenMark> live;
    int64_t conversation = 0;
    {
      ChatStore store(db);
      ChatController chat(*host_, store);
      GenerationSettings settings;
      settings.max_tokens = 8;
      settings.context_length = 512;
      chat.setSettings(settings);
      chat.setModelLoaded(true);
      chat.setMode(ChatMode::Pair);
      chat.setStudentPath(student_path);
      bool finished = false;
      connect(&chat, &ChatController::replyFinished, &scope, [&] { finished = true; });
      QVERIFY(chat.send("Once upon a time"));
      QVERIFY(wait_for([&] { return finished; }));
      const ChatEntry& reply = chat.conversation()->entry(1);
      QVERIFY(reply.message_id > 0 && !reply.marks.empty());
      live = reply.marks;
      conversation = chat.currentConversation();
    }
    ChatStore store(db);
    ChatController chat(*host_, store);
    chat.openConversation(conversation);
    QCOMPARE(chat.conversation()->rowCount(), 2);
    const ChatEntry& reopened = chat.conversation()->entry(1);
    QCOMPARE(reopened.student, student_path);
    QCOMPARE(reopened.marks.size(), live.size());
    for (size_t i = 0; i < live.size(); ++i) {
      QCOMPARE(reopened.marks[i].begin, live[i].begin);
      QCOMPARE(reopened.marks[i].length, live[i].length);
      QCOMPARE(reopened.marks[i].tooltip, live[i].tooltip);
      QVERIFY(reopened.marks[i].data == live[i].data);
    }
    host_->unloadStudent();
  }

  void tokensArriveQueuedOnTheGuiThread() {
    Collector c(host_->worker());
    QElapsedTimer t;
    t.start();
    const uint64_t id = host_->generate(request("Once upon a time", 12));
    QVERIFY2(t.elapsed() < 50, "queuing a generation does not wait for the engine");
    QVERIFY(wait_for([&] { return c.summary.has_value(); }));
    QVERIFY(!c.off_gui_thread);
    QCOMPARE(c.summary->request, id);
    QVERIFY(c.summary->generated > 0);
    int generated_chunks = 0;
    for (const auto& k : c.chunks) {
      QCOMPARE(k.request, id);
      if (k.token >= 0) QCOMPARE(k.index, generated_chunks++);
    }
    QCOMPARE(generated_chunks, c.summary->generated);
    QString text;
    for (const auto& k : c.chunks) text += k.text;
    QCOMPARE(text, c.summary->text);
  }

  void stopInsideATokenCallbackEndsAfterThatToken() {
    Collector c(host_->worker());
    std::atomic<uint64_t> id{0};
    // Runs on the worker thread, inside generate()'s callback: the next check must see it.
    auto direct = connect(host_->worker(), &EngineWorker::tokenGenerated, host_->worker(),
                          [&](const TokenChunk& k) { host_->worker()->request_stop(k.request); }, Qt::DirectConnection);
    id = host_->generate(request("Once upon a time", 200));
    QVERIFY(wait_for([&] { return c.summary.has_value(); }));
    disconnect(direct);
    QCOMPARE(c.summary->stop_reason, QString("cancelled"));
    QCOMPARE(c.summary->generated, 1);
  }

  void stopFromTheGuiThreadActsWithinOneToken() {
    Collector c(host_->worker());
    std::atomic<int> produced{0};  // counted on the worker thread, as tokens are made
    auto direct = connect(host_->worker(), &EngineWorker::tokenGenerated, host_->worker(),
                          [&](const TokenChunk& k) { produced += k.token >= 0; }, Qt::DirectConnection);
    host_->generate(request("Once upon a time", 400));
    QVERIFY(wait_for([&] { return produced >= 3 || c.summary.has_value(); }));
    QVERIFY2(!c.summary, "the reply must still be running when Stop is pressed");
    const int at_stop = produced;
    host_->stop();
    QVERIFY(wait_for([&] { return c.summary.has_value(); }));
    disconnect(direct);
    QCOMPARE(c.summary->stop_reason, QString("cancelled"));
    QVERIFY2(c.summary->generated <= at_stop + 1,
             qPrintable(QString("%1 tokens made, %2 when Stop was pressed").arg(c.summary->generated).arg(at_stop)));
  }

  void failuresAreSignalsWithReadableMessages() {
    Collector c(host_->worker());
    struct Failure {
      QString what, message;
      quint64 request;
    };
    QObject scope;
    QList<Failure> failed;  // queued to this thread, like the app receives them
    connect(host_->worker(), &EngineWorker::failed, &scope,
            [&](const QString& w, const QString& m, quint64 r) { failed.append({w, m, r}); });
    host_->loadModel(dir_.filePath("missing.gguf"));
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 30000);
    QVERIFY2(failed[0].message.contains("missing.gguf"), qPrintable(failed[0].message));
    QVERIFY(failed[0].what.contains("Loading"));
    host_->loadModel(dir_.path());  // a folder without config.json
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 2, 30000);
    QVERIFY(failed[1].message.contains("config.json"));
    // The loaded model is still there: generation works after failed loads.
    host_->generate(request("Once", 2));
    QVERIFY(wait_for([&] { return c.summary.has_value(); }));
    // A prompt longer than the context fails as a message for that request.
    std::string words;
    while (words.size() < 2400) words += "ab ";  // well over 512 tokens
    GenerationRequest too_long = request(words, 2);
    const uint64_t id = host_->generate(too_long);
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 3, 30000);
    QCOMPARE(failed.last().request, id);
    QVERIFY2(failed.last().message.contains("context"), qPrintable(failed.last().message));
    QTRY_COMPARE_WITH_TIMEOUT(c.failures.size(), 3, 30000);  // every report delivered before `c` goes
  }

  void reusingTheCacheGivesTheSameTokensAsAFreshSession() {
    // Prompts where the second one's tokens start with the first one's (checked with the tokenizer).
    GgufFile file(model_path_.toStdString());
    auto tok = Tokenizer::from_gguf(file);
    const std::string a = "Once upon a time", b = a + " there was";
    auto ta = tok->encode(a, tok->add_bos(), false), tb = tok->encode(b, tok->add_bos(), false);
    QVERIFY(ta.size() < tb.size() && std::equal(ta.begin(), ta.end(), tb.begin()));

    host_->resetContext();
    Collector first(host_->worker());
    first.id = host_->generate(request(a, 1));  // caches the tokens of `a` (the sampled token is not fed back)
    QVERIFY(wait_for([&] { return first.summary.has_value(); }));
    Collector reused(host_->worker());
    reused.id = host_->generate(request(b, 8));
    QVERIFY(wait_for([&] { return reused.summary.has_value(); }));
    QCOMPARE(reused.summary->reused_tokens, int(ta.size()));

    host_->resetContext();
    Collector fresh(host_->worker());
    fresh.id = host_->generate(request(b, 8));
    QVERIFY(wait_for([&] { return fresh.summary.has_value(); }));
    QCOMPARE(fresh.summary->reused_tokens, 0);
    QCOMPARE(reused.summary->text, fresh.summary->text);
    QCOMPARE(reused.chunks.size(), fresh.chunks.size());
    for (size_t i = 0; i < fresh.chunks.size(); ++i) QCOMPARE(reused.chunks[i].token, fresh.chunks[i].token);
  }
};

QTEST_MAIN(AppWorkerTest)
#include "test_app_worker.moc"
