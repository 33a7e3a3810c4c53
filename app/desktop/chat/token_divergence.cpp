// Token divergence records: conversion from the worker's values, tooltips, UTF-16 <-> UTF-8 offsets.
#include "app/desktop/chat/token_divergence.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QStringList>

#include "app/desktop/chat/conversation_model.h"

namespace ds::app {

namespace {
QString tr(const char* text) { return QCoreApplication::translate("ChatController", text); }

QString html(const std::string& label) { return QString::fromStdString(label).toHtmlEscaped(); }

std::vector<TokenAlt> alternatives(const std::vector<std::pair<int32_t, float>>& top, const TokenLabel& label) {
  std::vector<TokenAlt> out;
  for (const auto& [id, p] : top) out.push_back({id, p, label(id)});
  return out;
}
}  // namespace

MessageTokenDivergence divergenceRecord(const TokenDivergence& d, const TokenLabel& label) {
  MessageTokenDivergence t;
  t.token_id = d.token;
  t.label = label(d.token);
  t.kl = d.kl;
  t.reverse_kl = d.reverse_kl;
  t.p_teacher = d.p_teacher;
  t.p_student = d.p_student;
  t.top1_agree = d.top1_agree;
  t.student_top1 = {d.student_top1, 0, label(d.student_top1)};
  t.teacher_top = alternatives(d.teacher_top, label);
  t.student_top = alternatives(d.student_top, label);
  return t;
}

QString divergenceTooltip(const MessageTokenDivergence& t, const QString& student_path) {
  auto list = [](const std::vector<TokenAlt>& top) {
    QStringList items;
    for (const TokenAlt& a : top) items << QString("'%1' %2").arg(html(a.piece)).arg(double(a.prob), 0, 'f', 3);
    return items.join(", ");
  };
  QString tip = tr("<b>'%1'</b><br>p(teacher) %2 &middot; p(student) %3<br>KL(teacher&#8214;student) %4 nats"
                   " &middot; reverse %5<br>%6<br>teacher top: %7<br>student top: %8")
                    .arg(html(t.label))
                    .arg(double(t.p_teacher), 0, 'f', 3)
                    .arg(double(t.p_student), 0, 'f', 3)
                    .arg(double(t.kl), 0, 'f', 3)
                    .arg(double(t.reverse_kl), 0, 'f', 3)
                    .arg(t.top1_agree ? tr("top-1 agrees") : tr("the student's top-1 is '%1'").arg(html(t.student_top1.piece)))
                    .arg(list(t.teacher_top), list(t.student_top));
  if (!student_path.isEmpty()) tip += tr("<br><i>student: %1</i>").arg(QFileInfo(student_path).fileName().toHtmlEscaped());
  return tip;
}

MessageDivergence messageDivergence(const ChatEntry& e, int64_t message_id) {
  MessageDivergence d;
  d.message_id = message_id;
  d.teacher_path = e.teacher.toStdString();
  d.student_path = e.student.toStdString();
  int at = 0, bytes = 0;  // UTF-16 position in the text and the UTF-8 bytes before it
  for (const TokenMark& m : e.marks) {
    MessageTokenDivergence t = m.data;
    bytes += int(QStringView(e.text).mid(at, m.begin - at).toUtf8().size());
    t.begin = bytes;
    t.length = int(QStringView(e.text).mid(m.begin, m.length).toUtf8().size());
    bytes += t.length;
    at = m.begin + m.length;
    d.tokens.push_back(std::move(t));
  }
  return d;
}

QString restoreMarks(ChatEntry& e, const MessageDivergence& d) {
  e.marks.clear();
  e.teacher = QString::fromStdString(d.teacher_path);
  e.student = QString::fromStdString(d.student_path);
  const QByteArray text = e.text.toUtf8();
  int bytes = 0, at = 0;  // UTF-8 bytes consumed and the UTF-16 position they end at
  for (size_t i = 0; i < d.tokens.size(); ++i) {
    const MessageTokenDivergence& t = d.tokens[i];
    if (t.begin < bytes || t.length < 0 || qsizetype(t.begin) + t.length > text.size()) {
      e.marks.clear();
      return tr("token %1 of message %2 is at bytes %3..%4, outside its %5-byte text")
          .arg(i).arg(d.message_id).arg(t.begin).arg(qint64(t.begin) + t.length).arg(text.size());
    }
    TokenMark m;
    m.begin = at + int(QString::fromUtf8(text.mid(bytes, t.begin - bytes)).size());
    m.length = int(QString::fromUtf8(text.mid(t.begin, t.length)).size());
    m.kl = t.kl;
    m.tooltip = divergenceTooltip(t, e.student);
    m.data = t;
    m.data.begin = m.data.length = 0;  // offsets live in the mark (UTF-16), as after a live turn
    at = m.begin + m.length;
    bytes = t.begin + t.length;
    e.marks.push_back(std::move(m));
  }
  return {};
}

}  // namespace ds::app
