// QueueTurns: takes turns at one Vulkan queue between the engine's submissions and a presenter (a UI
// drawing frames on the same VkDevice) on devices that offer a single queue (lavapipe). Submissions
// there run in order and Mesa's software WSI waits for the whole queue inside vkQueuePresentKHR, so a
// frame submitted behind engine work waits for it, and so does its present. A presenter that wants
// to draw *claims* a turn: engine submissions wait (never longer than `max_claim`) until it releases
// the turn, and the presenter draws once the engine's submissions in flight have finished
// (engine_idle()). Nothing here blocks the presenter. No Qt; the engine side lives in vk::Recording.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace ds {

class QueueTurns {
 public:
  using Clock = std::chrono::steady_clock;

  // --- presenter side (never blocks) ---
  // Claims the next turn: submissions not yet made wait. Returns true when the engine has nothing in
  // flight, i.e. the queue is the presenter's now. Calling it again while claimed re-checks.
  bool claim();
  void release();        // the frame is submitted (or none was needed): the engine may go on
  bool claimed() const;
  // The engine submitted work within the last `within` (it is generating or training): a presenter
  // may then pace its frames to leave the engine turns.
  bool engine_busy(std::chrono::milliseconds within) const;
  // Called (on the engine's thread, under this object's lock: it must only post a message, e.g. a
  // queued call, and not call back in) when the engine's last submission in flight finishes while a
  // claim is pending: lets the presenter draw at once instead of polling. nullptr removes it.
  void set_idle_callback(std::function<void()> cb);

  // --- engine side ---
  // Before a submit: waits while a claim is held (at most max_claim from when it was made: a
  // presenter that stopped drawing cannot stall the engine), then counts a submission in flight.
  // With submissions of its own still in flight it does not wait (the presenter waits for those
  // anyway); an engine that splits its work checks claimed() and waits for its fences first.
  void before_submit();
  void after_complete();  // that submission's fence was seen signalled

  bool enabled() const { return enabled_; }
  void set_enabled(bool on) { enabled_ = on; }   // off: before_submit/claim do nothing special
  std::chrono::milliseconds max_claim{60};

  struct Stats {
    uint64_t claims = 0, engine_waits = 0;
    double engine_wait_ms = 0;  // total time submissions waited for a presenter's turn
  };
  Stats stats() const;

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  bool enabled_ = false;
  bool claimed_ = false;
  Clock::time_point claimed_at_{};
  int in_flight_ = 0;
  Clock::time_point last_submit_{};
  std::function<void()> on_idle_;
  Stats stats_;
};

}  // namespace ds
