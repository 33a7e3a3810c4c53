// Qt Test: File > Export conversation as Markdown. A conversation with Arabic and French messages,
// Markdown punctuation in the text and a pair reply with stored divergence is written to a real
// SQLite store, exported to a real file and read back: title, models, system prompt, every message
// (UTF-8 intact, punctuation escaped so Qt's Markdown reader renders the text as written) and the
// reply's divergence summary. Failed exports (a path under a regular file; a write cut short by
// the file-size limit) return one error naming the path and leave the existing file as it was. A
// reply stored with its model is headed with that model's file.
#include <signal.h>
#include <sys/resource.h>

#include <QDir>
#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocument>

#include "app/desktop/chat/chat_store.h"
#include "app/desktop/chat/conversation_export.h"
#include "app/desktop/chat/conversation_markdown.h"
#include "distilscope/store.h"

using namespace ds;
using namespace ds::app;

namespace {

const QString kArabic = QString::fromUtf8("مرحبا، كيف حالك اليوم؟");
const QString kFrench = QString::fromUtf8("Très bien, merci ! C'est l'été à Montréal.");
const QString kSpecial = "Use *bold*, _under_, `code` and <b>tags</b>\n# not a heading\n1. not a list\n- nor this";
const QString kPairReply = "Le `chat` dort.";

// Tokens "Le", " `chat`", " dort." of kPairReply (UTF-8 byte offsets) with their KL and agreement.
MessageDivergence pair_divergence(int64_t message_id, const QString& dir) {
  MessageDivergence d;
  d.message_id = message_id;
  d.teacher_path = QDir(dir).filePath("teacher.gguf").toStdString();
  d.student_path = QDir(dir).filePath("student-mamba-50.gguf").toStdString();
  const struct { int begin, length; const char* label; float kl; bool agree; } tokens[] = {
      {0, 2, "Le", 0.1f, true}, {2, 7, " `chat`", 1.5f, false}, {9, 6, " dort.", 0.6f, true}};
  for (const auto& t : tokens) {
    MessageTokenDivergence m;
    m.begin = t.begin;
    m.length = t.length;
    m.token_id = t.begin + 100;
    m.label = t.label;
    m.kl = t.kl;
    m.reverse_kl = t.kl / 2;
    m.p_teacher = 0.9f;
    m.p_student = 0.5f;
    m.top1_agree = t.agree;
    m.student_top1 = {m.token_id + (t.agree ? 0 : 1), 0, "x"};
    m.teacher_top = {{m.token_id, 0.9f, t.label}};
    m.student_top = {{m.token_id, 0.5f, t.label}};
    d.tokens.push_back(m);
  }
  return d;
}

QByteArray read_all(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// What a Markdown reader shows for `markdown` (hard line breaks as '\n').
QString rendered(const QString& markdown) {
  QTextDocument doc;
  doc.setMarkdown(markdown);
  return doc.toPlainText().replace(QChar::LineSeparator, '\n').replace(QChar::Nbsp, ' ');
}

}  // namespace

class AppExportTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void escapedTextRendersAsWritten() {
    const QStringList samples = {kArabic, kFrench, kSpecial, kPairReply,
                                 "a \\ backslash, [link](x) & ~~strike~~ | pipe $x$",
                                 "+ plus\n= equals\n    four spaces\n\tand a tab\n\nnew paragraph\n***\n---",
                                 "2) item\n> quote\n<!-- comment -->"};
    for (const QString& s : samples) {
      const std::string md = markdownEscape(s.toStdString());
      QString want = s;  // the reader separates paragraphs with one '\n'
      want.replace('\t', "    ").replace("\n\n", "\n");
      QCOMPARE(rendered(QString::fromStdString(md)), want);
    }
    ConversationExport untitled;
    untitled.conversation.title = "two\nlines - 1. *x*";
    QVERIFY(conversationMarkdown(untitled).starts_with("# two lines - 1. \\*x\\*\n\n- Models: not recorded"));
    untitled.conversation.title.clear();
    QVERIFY(conversationMarkdown(untitled).starts_with("# Untitled conversation\n"));
    QCOMPARE(markdownCodeSpan("a`b"), std::string("``a`b``"));
    QCOMPARE(rendered(QString::fromStdString(markdownCodeSpan(" `chat`"))), QString(" `chat`"));
    QCOMPARE(markdownFileName("Notes: a/b *test*?"), std::string("Notes_ a_b _test__.md"));
    QCOMPARE(markdownFileName(" ... "), std::string("conversation.md"));
    QCOMPARE(markdownFileName(kArabic.toStdString()), kArabic.toStdString() + ".md");
    const std::string long_name = markdownFileName(QString(60, QChar(0x00e9)).toStdString());  // 2 bytes each
    QCOMPARE(long_name.size(), size_t(80 + 3));
    QVERIFY(QString::fromStdString(long_name).startsWith(QString(40, QChar(0x00e9))));
  }

  void exportsAConversationToMarkdown() {
    QTemporaryDir dir;
    ChatStore store(dir.filePath("chat.db"));
    QStringList errors;
    store.on_error = [&](const QString& e) { errors << e; };
    const int64_t id =
        store.create(QString::fromUtf8("Arabe & français *notes*"), "Answer in the user's language; use # and _ freely.");
    store.append(id, Role::User, kArabic);
    store.append(id, Role::Assistant, kFrench);
    store.append(id, Role::User, kSpecial);
    const int64_t reply = store.append(id, Role::Assistant, kPairReply);
    QVERIFY(store.saveDivergence(pair_divergence(reply, dir.path())));
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join("; ")));

    const QString path = defaultMarkdownPath(dir.path(), QString::fromUtf8("Arabe & français *notes*"));
    QCOMPARE(QFileInfo(path).fileName(), QString::fromUtf8("Arabe & français _notes_.md"));
    QCOMPARE(exportConversationMarkdown(store, id, path, "/models/loaded.gguf"), QString());
    const QString md = QString::fromUtf8(read_all(path));
    qInfo().noquote() << "exported:\n" + md;

    QVERIFY(md.startsWith(QString::fromUtf8("# Arabe \\& français \\*notes\\*\n")));
    QVERIFY(md.contains("- Teacher: `teacher.gguf`\n"));  // the stored pair turn's, not the loaded one
    QVERIFY(!md.contains("loaded.gguf"));
    QVERIFY(md.contains("- Student (pair turns): `student-mamba-50.gguf`\n"));
    QVERIFY(md.contains("## System prompt\n\nAnswer in the user's language; use \\# and \\_ freely.\n"));
    QVERIFY(md.contains("## User\n\n" + kArabic + "\n"));
    QVERIFY(md.contains("## Assistant\n\n" + kFrench + "\n"));
    QVERIFY(md.contains("Use \\*bold\\*, \\_under\\_, \\`code\\` and \\<b\\>tags\\</b\\>\\\n\\# not a heading\\\n"
                        "1\\. not a list\\\n\\- nor this\n"));
    QVERIFY(md.contains("## Assistant (teacher; student read along)\n\nLe \\`chat\\` dort.\n"));
    QVERIFY(md.contains("> **Divergence** vs `student-mamba-50.gguf` over 3 tokens: mean KL 0.733 nats, max 1.500; "
                        "top-1 agreement 2/3 (67%); largest KL: ``  `chat` `` 1.500, `  dort. ` 0.600, `Le` 0.100\n"));
    // In order: title, system prompt, then the four messages.
    QVERIFY(md.indexOf("## System prompt") < md.indexOf(kArabic));
    QVERIFY(md.indexOf(kArabic) < md.indexOf(kFrench));
    QVERIFY(md.indexOf(kFrench) < md.indexOf("\\*bold"));
    QVERIFY(md.indexOf("\\*bold") < md.indexOf("Le \\`chat"));
    // Rendered, every message reads as it was written.
    const QString shown = rendered(md);
    for (const QString& s : {kArabic, kFrench, kSpecial, kPairReply}) QVERIFY2(shown.contains(s), qPrintable(s));

    // A conversation with plain replies only names the loaded teacher, marked as such.
    const int64_t plain = store.create("plain", "");
    store.append(plain, Role::User, "hi");
    QCOMPARE(exportConversationMarkdown(store, plain, dir.filePath("plain.md"), "/models/loaded.gguf"), QString());
    QVERIFY(read_all(dir.filePath("plain.md")).contains("- Teacher: `loaded.gguf` (loaded when exported"));
    QVERIFY(exportConversationMarkdown(store, 9999, dir.filePath("none.md"), "").contains("no conversation 9999"));
    QVERIFY(!QFile::exists(dir.filePath("none.md")));
  }

  // A reply stored with its model (messages.model_id) is headed with that file; the header lists the
  // models that wrote replies instead of the loaded teacher; a reply without one stays plain.
  void repliesNameTheModelThatWroteThem() {
    QTemporaryDir dir;
    const QString db = dir.filePath("chat.db");
    ChatStore store(db);
    QStringList errors;
    store.on_error = [&](const QString& e) { errors << e; };
    const int64_t id = store.create("who wrote it", "");
    ModelRecord record;
    record.path = "/models/student-linear-50.gguf";
    record.sha256 = std::string(64, 'a');
    record.size_bytes = 1;
    record.architecture = "llama";
    const int64_t model_id = Store(db.toStdString()).add_model(record);
    store.append(id, Role::User, "hi");
    QVERIFY(store.append(id, Role::Assistant, "hello", model_id) > 0);
    store.append(id, Role::Assistant, "older reply");  // stored without its model
    QCOMPARE(store.model(model_id)->path, record.path);
    QVERIFY(!store.model(0) && !store.model(model_id + 1));
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join("; ")));
    QCOMPARE(exportConversationMarkdown(store, id, dir.filePath("who.md"), "/models/loaded.gguf"), QString());
    const QString md = QString::fromUtf8(read_all(dir.filePath("who.md")));
    QVERIFY2(md.contains("- Replies written by: `student-linear-50.gguf`\n"), qPrintable(md));
    QVERIFY(!md.contains("loaded.gguf"));
    QVERIFY(md.contains("## Assistant (`student-linear-50.gguf`)\n\nhello\n"));
    QVERIFY(md.contains("## Assistant\n\nolder reply\n"));
  }

  void failedExportLeavesTheFileUntouched() {
    QTemporaryDir dir;
    ChatStore store(dir.filePath("chat.db"));
    const int64_t id = store.create("t", "");
    store.append(id, Role::User, kArabic + " " + kFrench);
    const QString good = dir.filePath("good.md");
    { QFile f(good); QVERIFY(f.open(QIODevice::WriteOnly)); f.write("a good file\n"); }

    // A folder that is a regular file: one error naming the path, nothing created.
    const QString under_file = good + "/export.md";
    const QString error = exportConversationMarkdown(store, id, under_file, "");
    qInfo().noquote() << "unwritable path:" << error;
    QVERIFY(error.contains(under_file));
    QVERIFY(error.startsWith("Cannot "));
    QCOMPARE(read_all(good), QByteArray("a good file\n"));

    // The write fails after the temporary file was created (as on a full disk): the file-size limit
    // (which binds root too) is 8 bytes while exporting over the good file.
    rlimit saved{};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &saved), 0);
    auto old_handler = signal(SIGXFSZ, SIG_IGN);
    rlimit tiny = saved;
    tiny.rlim_cur = 8;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    const QString cut = exportConversationMarkdown(store, id, good, "");
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
    qInfo().noquote() << "write cut short:" << cut;
    QVERIFY(cut.contains(good));
    QCOMPARE(read_all(good), QByteArray("a good file\n"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).filter("good").size(), 1);  // no temporary left

    // And with room again the same export replaces it.
    QCOMPARE(exportConversationMarkdown(store, id, good, ""), QString());
    QVERIFY(QString::fromUtf8(read_all(good)).contains(kArabic));
  }
};

QTEST_MAIN(AppExportTest)
#include "test_app_export.moc"
