// Qt Test: the chat's view models (conversation, conversation list), the GUI-thread store bridge,
// the conversation view's right-to-left paragraphs and streaming appends, the prompt box's keys,
// and the sampling settings round trip through QSettings.
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>

#include "app/desktop/chat/chat_store.h"
#include "app/desktop/chat/chat_view.h"
#include "app/desktop/chat/conversation_list_model.h"
#include "app/desktop/chat/conversation_model.h"
#include "app/desktop/chat/prompt_edit.h"
#include "app/desktop/chat/sampling_panel.h"
#include "app/desktop/engine_probes.h"
#include "app/desktop/explorer/probe_context.h"

using namespace ds;
using namespace ds::app;

class AppModelsTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void conversationModelStreamsIntoTheLastRow() {
    ConversationModel m;
    QSignalSpy inserted(&m, &QAbstractItemModel::rowsInserted);
    QSignalSpy appended(&m, &ConversationModel::textAppended);
    m.append({Role::User, QString::fromUtf8("Bonjour, ça va ?"), 1, false});
    const int row = m.append({Role::Assistant, {}, 0, true});
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(row, 1);
    m.appendText(row, QString::fromUtf8("Oui"));
    m.appendText(row, QString::fromUtf8(", merci"));
    m.appendText(row, {});  // empty chunks (a token inside a character) change nothing
    QCOMPARE(appended.count(), 2);
    QCOMPARE(m.data(m.index(row), ConversationModel::TextRole).toString(), QString::fromUtf8("Oui, merci"));
    QVERIFY(m.data(m.index(row), ConversationModel::StreamingRole).toBool());
    m.finish(row, 42);
    QVERIFY(!m.data(m.index(row), ConversationModel::StreamingRole).toBool());
    QCOMPARE(m.data(m.index(row), ConversationModel::MessageIdRole).toLongLong(), 42);
    QCOMPARE(m.lastRow(Role::Assistant), 1);
    QCOMPARE(m.lastRow(Role::System), -1);
    m.removeLast();
    QCOMPARE(m.rowCount(), 1);
  }

  void conversationModelGivesUtf8ChatMessages() {
    ConversationModel m;
    m.append({Role::User, QString::fromUtf8("مرحبا"), 0, false});
    m.append({Role::Assistant, QString::fromUtf8("élève"), 0, false});
    m.append({Role::Assistant, QString(), 0, true});  // the reply being generated: left out
    auto msgs = m.toChatMessages(QString::fromUtf8("Sois bref."));
    QCOMPARE(int(msgs.size()), 3);
    QCOMPARE(msgs[0].role, Role::System);
    QCOMPARE(msgs[0].text, std::string("Sois bref."));
    QCOMPARE(msgs[1].text, std::string("مرحبا"));  // UTF-8 bytes, not Latin-1
    QCOMPARE(msgs[2].text, std::string("élève"));
    QCOMPARE(int(m.toChatMessages("  ").size()), 2);  // a blank system prompt is no system message
    QCOMPARE(int(m.toChatMessages({}, 1).size()), 1);
  }

  void conversationListShowsConversationsOrHits() {
    ConversationListModel l;
    Conversation a, b;
    a.id = 7;
    a.title = "Premier";
    b.id = 9;
    l.setConversations({a, b});
    QCOMPARE(l.rowCount(), 2);
    QCOMPARE(l.idAt(1), int64_t(9));
    QCOMPARE(l.rowOf(7), 0);
    QCOMPARE(l.rowOf(8), -1);
    QCOMPARE(l.data(l.index(1)).toString(), QString("(untitled)"));
    l.setSearchHits({SearchHit{9, "Deux", 5, 3, "…un extrait…"}});
    QCOMPARE(l.rowCount(), 1);
    QCOMPARE(l.data(l.index(0), ConversationListModel::SnippetRole).toString(), QString::fromUtf8("…un extrait…"));
  }

  void chatStoreRoundTripsOnThisThread() {
    QTemporaryDir dir;
    ChatStore store(dir.filePath("chat.db"));
    QStringList errors;
    store.on_error = [&](const QString& e) { errors << e; };
    const int64_t c = store.create(QString::fromUtf8("Café"), "Be brief.");
    QVERIFY(c > 0);
    store.append(c, Role::User, QString::fromUtf8("مرحبا"));
    const int64_t reply = store.append(c, Role::Assistant, "zanzibar");
    QCOMPARE(int(store.messages(c).size()), 2);
    QVERIFY(store.removeMessage(reply));
    QCOMPARE(int(store.messages(c).size()), 1);
    QCOMPARE(QString::fromStdString(store.messages(c)[0].text), QString::fromUtf8("مرحبا"));
    QVERIFY(store.rename(c, "Renamed"));
    QCOMPARE(QString::fromStdString(store.list().at(0).title), QString("Renamed"));
    QCOMPARE(int(store.search("Renamed").size()), 1);
    QVERIFY(store.remove(c));
    QVERIFY(store.list().empty());
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join("; ")));
    QVERIFY(!store.rename(12345, "x"));  // a failure is reported, not thrown
    QCOMPARE(errors.size(), 1);
  }

  void chatStoreReportsAnUnopenableFile() {
    QTemporaryDir dir;
    ChatStore store(dir.filePath("no/such/dir/chat.db"));
    QStringList errors;
    store.on_error = [&](const QString& e) { errors << e; };
    QVERIFY(store.list().empty());
    QCOMPARE(store.create("x", ""), int64_t(0));
    QCOMPARE(errors.size(), 1);  // reported once, then the chat works without history
    QVERIFY(errors[0].contains("chat.db"));
  }

  void chatViewLaysOutArabicRightToLeftAndAppendsStreams() {
    ConversationModel m;
    ChatView view;
    view.setModel(&m);
    m.append({Role::User, QString::fromUtf8("مرحبا بكم في المختبر"), 0, false});
    const int row = m.append({Role::Assistant, QString::fromUtf8("Très bien"), 0, true});
    m.appendText(row, QString::fromUtf8(", à bientôt"));
    view.resize(500, 300);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    bool arabic_rtl = false, french_ltr = false;
    for (QTextBlock b = view.document()->begin(); b.isValid(); b = b.next()) {
      if (b.text().startsWith(QString::fromUtf8("مرحبا"))) arabic_rtl = b.layout() && b.textDirection() == Qt::RightToLeft;
      if (b.text() == QString::fromUtf8("Très bien, à bientôt")) french_ltr = b.textDirection() == Qt::LeftToRight;
    }
    QVERIFY2(arabic_rtl, "the Arabic paragraph is laid out right to left");
    QVERIFY2(french_ltr, "the streamed reply is one paragraph with every chunk");
    m.removeLast();  // the view re-renders without the reply
    QVERIFY(!view.toPlainText().contains("bientôt"));
  }

  void promptEnterSendsShiftEnterBreaksTheLine() {
    PromptEdit edit;
    QSignalSpy sent(&edit, &PromptEdit::submitted);
    QTest::keyClicks(&edit, "ab");
    QTest::keyClick(&edit, Qt::Key_Return, Qt::ShiftModifier);
    QTest::keyClicks(&edit, "c");
    QCOMPARE(sent.count(), 0);
    QCOMPARE(edit.toPlainText(), QString("ab\nc"));
    QTest::keyClick(&edit, Qt::Key_Return);
    QCOMPARE(sent.count(), 1);
    QTest::keyClick(&edit, Qt::Key_Enter);  // keypad Enter too
    QCOMPARE(sent.count(), 2);
  }

  // Probe steps gathered by position: a prefill of 3 queries, a decode step, then a step at an
  // earlier position (the context rewound) drops what came after it.
  void probeContextGathersStepsIntoSquareMaps() {
    auto step = [](int first, std::vector<int32_t> ids) {
      ProbeStep s;
      s.model = "m";
      s.n_layers = 1;
      s.n_heads = 1;
      s.first_position = first;
      s.tokens = ids;
      AttentionMap m;
      m.query_begin = first;
      m.n_queries = int(ids.size());
      m.n_keys = first + int(ids.size());
      for (int q = 0; q < m.n_queries; ++q)
        for (int k = 0; k < m.n_keys; ++k) m.probs.push_back(k <= first + q ? 1.0f / float(first + q + 1) : 0.0f);
      s.maps.push_back(m);
      for (size_t i = 0; i < ids.size(); ++i) s.activations.push_back({first + int(i), ids[i], {LayerActivation{1.5f}}});
      return s;
    };
    ProbeContext c;
    c.add(step(0, {5, 6, 7}));
    c.add(step(3, {8}));
    AttentionSnapshot att;
    ActivationSnapshot act;
    const std::vector<std::string> labels = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    c.build(att, act, &labels);
    QCOMPARE(att.maps.size(), size_t(1));
    QCOMPARE(att.maps[0].n_keys, 4);
    QCOMPARE(att.maps[0].n_queries, 4);
    QCOMPARE(att.maps[0].at(3, 0), 0.25f);
    QCOMPARE(att.maps[0].at(1, 2), 0.0f);  // the future
    QCOMPARE(att.token_labels, (std::vector<std::string>{"f", "g", "h", "i"}));
    QCOMPARE(act.tokens.size(), size_t(4));
    c.add(step(2, {4}));  // rewound to position 2
    c.build(att, act, &labels);
    QCOMPARE(att.maps[0].n_keys, 3);
    QCOMPARE(att.token_labels, (std::vector<std::string>{"f", "g", "e"}));
    QCOMPARE(act.tokens.back().token, 4);
    c.build(att, act, &labels, 2);  // a window of the last 2 queries over every key
    QCOMPARE(att.maps[0].query_begin, 1);
    QCOMPARE(att.maps[0].n_queries, 2);
  }

  // A pair turn's tokens: each chunk marked with its KL; the view tints it and gives it a tooltip.
  void pairTokensAreMarkedAndTinted() {
    ConversationModel m;
    const int row = m.append({Role::Assistant, QString(), 0, true});
    TokenMark a{0, 0, 0.01f, "low"}, b{0, 0, 3.0f, "high"};
    m.appendText(row, "Once", &a);
    m.appendText(row, QString::fromUtf8(" été"), &b);
    QCOMPARE(m.entry(row).marks.size(), size_t(2));
    QCOMPARE(m.entry(row).marks[1].begin, 4);
    QCOMPARE(m.entry(row).marks[1].length, 4);
    ChatView view;
    view.setModel(&m);
    QTextCursor c(view.document());
    c.setPosition(view.document()->lastBlock().position() + 6);
    QCOMPARE(c.charFormat().toolTip(), QString("high"));
    c.setPosition(view.document()->lastBlock().position() + 2);
    QCOMPARE(c.charFormat().toolTip(), QString("low"));
    QVERIFY(c.charFormat().background().color() != QColor(Qt::white));
    Utf8Joiner j;  // a character split over two tokens waits for its second byte
    QCOMPARE(j.push("caf\xc3"), std::string("caf"));
    QCOMPARE(j.push("\xa9!"), std::string("\xc3\xa9!"));
  }

  void samplingSettingsRoundTripThroughQSettings() {
    GenerationSettings s;
    s.sampling.temperature = 0.3f;
    s.sampling.top_k = 12;
    s.sampling.top_p = 0.5f;
    s.sampling.min_p = 0.1f;
    s.sampling.seed = 99;
    s.max_tokens = 77;
    s.context_length = 1024;
    s.system_prompt = QString::fromUtf8("Réponds en français.");
    s.template_from_model = false;
    s.chat_template = ChatTemplateKind::Gemma;
    save_generation_settings(s);
    SamplingPanel panel;  // loads from QSettings
    GenerationSettings t = panel.settings();
    QCOMPARE(t.sampling.temperature, 0.3f);
    QCOMPARE(t.sampling.top_k, 12);
    QCOMPARE(t.sampling.seed, uint64_t(99));
    QCOMPARE(t.max_tokens, 77);
    QCOMPARE(t.context_length, 1024);
    QCOMPARE(t.system_prompt, s.system_prompt);
    QVERIFY(!t.template_from_model);
    QCOMPARE(t.chat_template, ChatTemplateKind::Gemma);
  }
};

QTEST_MAIN(AppModelsTest)
#include "test_app_models.moc"
