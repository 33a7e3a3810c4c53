// QueueTurns: turns at a single shared queue between engine submissions and a presenter.
#include "distilscope/queue_turns.h"

namespace ds {

bool QueueTurns::claim() {
  std::lock_guard<std::mutex> lock(m_);
  if (!enabled_) return true;
  if (!claimed_) {
    claimed_ = true;
    claimed_at_ = Clock::now();
    ++stats_.claims;
  }
  return in_flight_ == 0;
}

void QueueTurns::release() {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (!claimed_) return;
    claimed_ = false;
  }
  cv_.notify_all();
}

bool QueueTurns::claimed() const {
  std::lock_guard<std::mutex> lock(m_);
  return claimed_;
}

bool QueueTurns::engine_busy(std::chrono::milliseconds within) const {
  std::lock_guard<std::mutex> lock(m_);
  return enabled_ && (in_flight_ > 0 || Clock::now() - last_submit_ < within);
}

void QueueTurns::set_idle_callback(std::function<void()> cb) {
  std::lock_guard<std::mutex> lock(m_);
  on_idle_ = std::move(cb);
}

void QueueTurns::before_submit() {
  std::unique_lock<std::mutex> lock(m_);
  if (!enabled_) return;
  if (claimed_ && in_flight_ == 0) {  // with work in flight the claim waits for it anyway: go on
    const auto t0 = Clock::now();
    cv_.wait_until(lock, claimed_at_ + max_claim, [&] { return !claimed_; });
    ++stats_.engine_waits;
    stats_.engine_wait_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  ++in_flight_;
  last_submit_ = Clock::now();
}

void QueueTurns::after_complete() {
  std::lock_guard<std::mutex> lock(m_);
  if (!enabled_ || in_flight_ == 0) return;
  // Called under the lock, so set_idle_callback(nullptr) returning means it is never called again.
  if (--in_flight_ == 0 && claimed_ && on_idle_) on_idle_();
}

QueueTurns::Stats QueueTurns::stats() const {
  std::lock_guard<std::mutex> lock(m_);
  return stats_;
}

}  // namespace ds
