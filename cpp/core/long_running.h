// Marks a stretch of pure computation (a large kernel) during which the host may let other
// threads run: the Python bindings install hooks that release the GIL. The engine itself knows
// nothing of Python; without hooks this does nothing.
#pragma once

namespace tapegrad {

using LongRunningHook = void* (*)();
using LongRunningDone = void (*)(void*);
void set_long_running_hooks(LongRunningHook enter, LongRunningDone leave);

class LongRunning {
 public:
  explicit LongRunning(bool worth_it);
  ~LongRunning();
  LongRunning(const LongRunning&) = delete;
  LongRunning& operator=(const LongRunning&) = delete;

 private:
  void* state_ = nullptr;
  bool active_ = false;
};

}  // namespace tapegrad
