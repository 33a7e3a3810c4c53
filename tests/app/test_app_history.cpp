// Qt Test: conversations keep their pair-turn divergence. A reply's token marks (KL tint, tooltip
// data, the student file) are saved with the message in a real SQLite file, the store is closed and
// reopened, and ChatController::openConversation gives back the same marks, tints and tooltips for
// every token (UTF-8 pieces re-joined into whole characters); a plain reply round-trips unmarked; a
// version-4 file (the previous schema, written with its own SQL) migrates and opens; deleting a
// message or its conversation deletes its divergence row.
#include <sqlite3.h>

#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>

#include "app/desktop/chat/chat_controller.h"
#include "app/desktop/chat/chat_store.h"
#include "app/desktop/chat/chat_view.h"
#include "app/desktop/chat/conversation_model.h"
#include "app/desktop/chat/token_divergence.h"
#include "app/desktop/engine_host.h"
#include "app/desktop/engine_probes.h"
#include "distilscope/store.h"
#include "store/schema.h"

using namespace ds;
using namespace ds::app;

namespace {

// Raw SQL on a file, outside the store (to build an old-schema file, to count rows).
int64_t raw_sql(const QString& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.toUtf8().constData(), &db) != SQLITE_OK) return -1;
  int64_t value = -1;
  char* err = nullptr;
  const int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int n, char** v, char**) {
        if (n > 0 && v[0]) *static_cast<int64_t*>(out) = std::atoll(v[0]);
        return 0;
      },
      &value, &err);
  if (rc != SQLITE_OK) qWarning("sqlite: %s", err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(db);
  return rc == SQLITE_OK ? value : -2;
}

// A pair token as the worker sends it: its divergence and its text (whole UTF-8 characters).
TokenDivergence divergence(int32_t token, float kl, bool agree) {
  TokenDivergence d;
  d.token = token;
  d.kl = kl;
  d.reverse_kl = kl * 0.8f;
  d.top1_agree = agree;
  d.teacher_top1 = token;
  d.student_top1 = agree ? token : token + 1;
  d.p_teacher = 0.9f - kl / 10;
  d.p_student = 0.8f - kl / 5;
  for (int i = 0; i < 5; ++i) {
    d.teacher_top.emplace_back(token + i, 0.5f / float(i + 1));
    d.student_top.emplace_back(agree ? token + i : token + 1 + i, 0.4f / float(i + 1));
  }
  return d;
}

std::string label(int32_t id) { return id % 7 == 3 ? "<b>&" : "tok" + std::to_string(id); }

// The tint and tooltip a view shows at each mark of the conversation's first reply (the character in
// the middle of each token).
QStringList shown(ChatView& view, const ChatEntry& e) {
  QTextBlock header = view.document()->firstBlock();
  while (header.isValid() && header.text() != "Assistant") header = header.next();
  QStringList out;
  for (const TokenMark& m : e.marks) {
    QTextCursor c(view.document());
    c.setPosition(header.next().position() + m.begin + (m.length + 1) / 2);  // the format of the character before
    out << c.charFormat().background().color().name() + " " + c.charFormat().toolTip();
  }
  return out;
}

}  // namespace

class AppHistoryTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void pairDivergenceSurvivesClosingTheStore() {
    QTemporaryDir dir;
    const QString path = dir.filePath("chat.db");
    const QString student = dir.filePath("student-mamba-50.gguf");
    // Token pieces as the tokenizer gives them: "é" is cut between tokens 3 and 4.
    const std::vector<std::string> pieces = {"Once", " upon", " a", " t\xc3", "\xa9\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\n", "end."};
    ConversationModel live;
    int64_t conversation = 0, reply_id = 0;
    {
      ChatStore store(path);
      conversation = store.create("pair", "");
      store.append(conversation, Role::User, "Once upon a time");
      ChatEntry reply{Role::Assistant, QString(), 0, true};
      reply.teacher = dir.filePath("teacher.gguf");
      reply.student = student;
      const int row = live.append(reply);
      Utf8Joiner joiner;  // the worker's split: a character cut between tokens waits for its last byte
      for (size_t i = 0; i < pieces.size(); ++i) {
        const std::string text = joiner.push(pieces[i]);
        TokenMark mark;
        mark.data = divergenceRecord(divergence(int32_t(10 + i), 0.4f * float(i), i % 3 != 0), label);
        mark.kl = mark.data.kl;
        mark.tooltip = divergenceTooltip(mark.data, student);
        live.appendText(row, QString::fromStdString(text), &mark);
      }
      QCOMPARE(live.entry(row).marks.size(), pieces.size());
      reply_id = store.append(conversation, Role::Assistant, live.entry(row).text);
      QVERIFY(store.saveDivergence(messageDivergence(live.entry(row), reply_id)));
      live.finish(row, reply_id);
      store.append(conversation, Role::User, QString::fromUtf8("Merci, \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"));
      store.append(conversation, Role::Assistant, QString::fromUtf8("De rien \xe6\x97\xa5"));  // a plain reply
    }  // the store is closed

    ChatStore store(path);
    QStringList errors;
    store.on_error = [&](const QString& e) { errors << e; };
    EngineHost host;  // no device: the controller only reads the store here
    ChatController controller(host, store);
    connect(&controller, &ChatController::errorOccurred, this, [&](const QString& w, const QString& m) { errors << w + ": " + m; });
    controller.openConversation(conversation);
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join("; ")));
    const ConversationModel& opened = *controller.conversation();
    QCOMPARE(opened.rowCount(), 4);
    const ChatEntry& a = live.entry(0);
    const ChatEntry& b = opened.entry(1);
    QCOMPARE(b.message_id, reply_id);
    QCOMPARE(b.text, a.text);
    QCOMPARE(b.student, student);
    QCOMPARE(b.teacher, a.teacher);
    QCOMPARE(b.marks.size(), a.marks.size());
    for (size_t i = 0; i < a.marks.size(); ++i) {
      QCOMPARE(b.marks[i].begin, a.marks[i].begin);
      QCOMPARE(b.marks[i].length, a.marks[i].length);
      QCOMPARE(b.marks[i].kl, a.marks[i].kl);
      QCOMPARE(b.marks[i].tooltip, a.marks[i].tooltip);
      QVERIFY(b.marks[i].data == a.marks[i].data);
    }
    QCOMPARE(b.marks[3].length, 2);  // " t": the cut character went with the next token
    QCOMPARE(b.marks[4].length, 3);  // "é" and two CJK characters
    QCOMPARE(b.marks[5].length, 2);  // an emoji: a surrogate pair
    QVERIFY(b.marks[1].tooltip.contains("student-mamba-50.gguf"));
    QVERIFY(b.marks[3].tooltip.contains("&lt;b&gt;&amp;"));  // labels stay escaped
    QVERIFY(opened.entry(2).marks.empty() && opened.entry(3).marks.empty());
    QCOMPARE(opened.entry(2).text, QString::fromUtf8("Merci, \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"));
    QCOMPARE(opened.entry(3).text, QString::fromUtf8("De rien \xe6\x97\xa5"));

    ChatView live_view, opened_view;  // the same tints and tooltips on screen, token by token
    live_view.setModel(&live);
    opened_view.setModel(controller.conversation());
    const QStringList want = shown(live_view, a), got = shown(opened_view, b);
    QCOMPARE(got, want);
    QCOMPARE(want.size(), int(pieces.size()));
    QVERIFY(want[0] != want[7]);  // different KL, different tint
  }

  void aVersion4FileMigratesAndOpens() {
    QTemporaryDir dir;
    const QString path = dir.filePath("old.db");
    std::string sql;
    for (const store::Migration& m : store::migrations())
      if (m.to_version <= 4) sql += std::string(m.sql);
    sql += "PRAGMA user_version = 4;"
           "INSERT INTO conversations (title, created_at, updated_at) VALUES ('before v5', 1, 1);"
           "INSERT INTO messages (conversation_id, position, role, text, created_at) VALUES (1, 0, 'user', 'hi', 1);"
           "INSERT INTO messages (conversation_id, position, role, text, created_at) VALUES (1, 1, 'assistant', 'hello', 1);";
    QCOMPARE(raw_sql(path, sql), int64_t(-1));
    QCOMPARE(raw_sql(path, "PRAGMA user_version"), int64_t(4));
    {
      ChatStore store(path);
      QStringList errors;
      store.on_error = [&](const QString& e) { errors << e; };
      QCOMPARE(int(store.list().size()), 1);
      EngineHost host;
      ChatController controller(host, store);
      controller.openConversation(1);
      QCOMPARE(controller.conversation()->rowCount(), 2);
      QCOMPARE(controller.conversation()->entry(1).text, QString("hello"));
      QVERIFY(controller.conversation()->entry(1).marks.empty());
      MessageDivergence d;  // the new table works in the migrated file
      d.message_id = 2;
      d.student_path = "s.gguf";
      d.tokens.push_back(divergenceRecord(divergence(5, 1.5f, false), label));
      d.tokens[0].length = 5;
      QVERIFY(store.saveDivergence(d));
      QCOMPARE(int(store.divergence(1).size()), 1);
      d.tokens[0].begin = 3;  // outside the 5-byte text: refused with a readable message
      QVERIFY(!store.saveDivergence(d));
      QCOMPARE(errors.size(), 1);
      QVERIFY2(errors[0].contains("message 2") && errors[0].contains("5 bytes"), qPrintable(errors[0]));
    }
    QCOMPARE(raw_sql(path, "PRAGMA user_version"), int64_t(Store::kSchemaVersion));
  }

  void deletingDeletesTheDivergence() {
    QTemporaryDir dir;
    const QString path = dir.filePath("chat.db");
    ChatStore store(path);
    const int64_t c = store.create("x", "");
    MessageDivergence d;
    d.student_path = "s.gguf";
    d.tokens.push_back(divergenceRecord(divergence(5, 0.5f, true), label));
    d.tokens[0].length = 2;
    int64_t first = 0;
    for (int i = 0; i < 3; ++i) {
      d.message_id = store.append(c, Role::Assistant, "ok");
      if (!first) first = d.message_id;
      QVERIFY(store.saveDivergence(d));
    }
    QCOMPARE(int(store.divergence(c).size()), 3);
    QVERIFY(store.removeMessage(first));  // e.g. regenerating the reply
    QCOMPARE(int(store.divergence(c).size()), 2);
    QCOMPARE(raw_sql(path, "SELECT count(*) FROM message_divergence"), int64_t(2));
    QVERIFY(store.remove(c));
    QCOMPARE(raw_sql(path, "SELECT count(*) FROM message_divergence"), int64_t(0));
  }
};

QTEST_MAIN(AppHistoryTest)
#include "test_app_history.moc"
