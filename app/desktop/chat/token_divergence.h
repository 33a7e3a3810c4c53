// The pair-turn token marks of a chat reply and their stored form: a TokenDivergence from the worker
// becomes a store record (with the tokens' display labels, so no tokenizer is needed later), the
// record gives the tint and tooltip, and a reply's marks (UTF-16 offsets) convert to and from the
// store's MessageDivergence (UTF-8 offsets).
#pragma once
#include <QString>

#include <functional>
#include <string>

#include "distilscope/snapshots.h"
#include "distilscope/store_records.h"

namespace ds::app {

struct ChatEntry;

// Display text of a vocabulary id.
using TokenLabel = std::function<std::string(int32_t id)>;

MessageTokenDivergence divergenceRecord(const TokenDivergence& d, const TokenLabel& label);
// Rich text: the token, p under both models, KL both ways, top-1 agreement, both top lists and
// (when known) the student file it was measured against.
QString divergenceTooltip(const MessageTokenDivergence& t, const QString& student_path);

// The entry's marks as a store record for message_id (offsets in UTF-8 bytes of the text).
MessageDivergence messageDivergence(const ChatEntry& e, int64_t message_id);
// Rebuilds the entry's marks (tint and tooltip) from a stored record. Returns "" or what was wrong
// (a token outside the text), leaving the entry without marks.
QString restoreMarks(ChatEntry& e, const MessageDivergence& d);

}  // namespace ds::app
