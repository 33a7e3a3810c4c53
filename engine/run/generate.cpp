// The generation loop: prefill + sample, then decode steps; stop rules and streamed text.
#include "distilscope/generate.h"

#include <chrono>

#include "distilscope/tokenizer.h"
#include "run/sampler.h"
#include "util/error.h"

namespace ds {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::EndOfGeneration: return "end_of_generation";
    case StopReason::StopString: return "stop_string";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Cancelled: return "cancelled";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Holds back text that might be the start of a stop string; reports a full match.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {}
  // Appends text; returns what can be released now. Sets `hit` when a stop string completed.
  std::string push(const std::string& text, bool& hit) {
    pending_ += text;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      size_t at = pending_.find(s);
      if (at != std::string::npos) {
        hit = true;
        std::string out = pending_.substr(0, at);
        pending_.clear();
        return out;
      }
    }
    size_t keep = 0;  // longest suffix of pending_ that is a proper prefix of a stop string
    for (const auto& s : stops_)
      for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); k > keep; --k)
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          keep = k;
          break;
        }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  std::string flush() { return std::exchange(pending_, {}); }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
};

}  // namespace

GenerateResult generate(Session& s, std::string_view prompt, const GenerateOptions& opts, const TokenCallback& cb) {
  const Tokenizer& tok = s.model().tokenizer();
  std::vector<int32_t> ids = tok.encode(prompt, opts.add_bos && tok.add_bos(), opts.parse_special);
  return generate_tokens(s, ids, opts, cb);
}

GenerateResult generate_tokens(Session& s, std::span<const int32_t> prompt, const GenerateOptions& opts,
                               const TokenCallback& cb) {
  DS_CHECK(!prompt.empty(), "[generate] empty prompt (no tokens)");
  DS_CHECK(opts.max_tokens >= 0, "[generate] max_tokens is ", opts.max_tokens);
  const Tokenizer& tok = s.model().tokenizer();
  GenerateResult r;
  r.stats.prompt_tokens = int(prompt.size());
  if (size_t(s.n_past()) + prompt.size() > size_t(s.n_ctx()))
    fail("[generate] the prompt has ", prompt.size(), " tokens but only ", s.n_ctx() - s.n_past(), " of the ",
         s.n_ctx(), "-token context are free");
  if (opts.max_tokens == 0) return r;

  s.set_sampling(opts.sampling);
  Sampler& sampler = s.sampler();
  sampler.reset(prompt);
  StreamDecoder stream(tok);
  StopMatcher stops(opts.stop);

  auto t0 = Clock::now();
  int32_t next = s.prefill(prompt, true);
  r.stats.prefill_ms = ms_since(t0);
  auto t_decode = Clock::now();
  double token_ms = r.stats.prefill_ms;

  for (int i = 0;; ++i) {
    if (tok.is_end_of_generation(next)) {
      r.reason = StopReason::EndOfGeneration;
      break;
    }
    r.tokens.push_back(next);
    sampler.accept(next);
    bool hit = false;
    TokenEvent ev{next, i, stops.push(stream.feed(next), hit), token_ms};
    r.text += ev.text;
    r.stats.generated = int(r.tokens.size());
    if (cb && !cb(ev)) {
      r.reason = StopReason::Cancelled;
      break;
    }
    if (hit) {
      r.reason = StopReason::StopString;
      break;
    }
    if (int(r.tokens.size()) >= opts.max_tokens) {
      r.reason = StopReason::MaxTokens;
      break;
    }
    if (s.n_past() >= s.n_ctx()) {
      r.reason = StopReason::ContextFull;
      break;
    }
    auto t = Clock::now();
    next = s.decode(next, true);
    token_ms = ms_since(t);
    r.stats.decode_steps++;
  }
  r.stats.decode_ms = r.stats.decode_steps > 0 ? ms_since(t_decode) : 0;
  if (r.reason != StopReason::StopString) {
    std::string tail = stops.flush() + stream.flush();
    if (!tail.empty()) {
      r.text += tail;
      if (cb) cb(TokenEvent{-1, int(r.tokens.size()), tail, 0});
    }
  }
  return r;
}

}  // namespace ds
