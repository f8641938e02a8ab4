#include "core/long_running.h"

namespace tapegrad {
namespace {
LongRunningHook g_enter = nullptr;
LongRunningDone g_leave = nullptr;
}  // namespace

void set_long_running_hooks(LongRunningHook enter, LongRunningDone leave) {
  g_enter = enter;
  g_leave = leave;
}

LongRunning::LongRunning(bool worth_it) {
  if (worth_it && g_enter) {
    state_ = g_enter();
    active_ = true;
  }
}

LongRunning::~LongRunning() {
  if (active_ && g_leave) g_leave(state_);
}

}  // namespace tapegrad
