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
