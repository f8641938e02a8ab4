// Chooses the kernel table once: TAPEGRAD_ISA if set (refusing what the CPU cannot run), else the
// best instruction set CPUID reports.
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {
namespace {

bool cpu_has(const std::string& isa) {
  if (isa == "scalar") return true;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return false;
}

const KernelTable& table_for(const std::string& isa) {
  if (isa == "avx512") return avx512_table();
  if (isa == "avx2") return avx2_table();
  return scalar_table();
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

const KernelTable* g_active = nullptr;

const KernelTable& choose_initial() {
  const char* env = std::getenv("TAPEGRAD_ISA");
  if (env && *env) {
    select(env);
    return *g_active;
  }
  return table_for(available().back());
}

}  // namespace

std::vector<std::string> available() {
  std::vector<std::string> out;
  for (const char* isa : {"scalar", "avx2", "avx512"})
    if (cpu_has(isa)) out.emplace_back(isa);
  return out;
}

void select(const std::string& isa) {
  if (isa != "scalar" && isa != "avx2" && isa != "avx512")
    throw ValueError("TAPEGRAD_ISA: unknown instruction set '" + isa +
                     "'; expected one of scalar, avx2, avx512");
  if (!cpu_has(isa))
    throw RuntimeError("TAPEGRAD_ISA: this CPU cannot run '" + isa + "'; it supports " +
                       joined(available()));
  g_active = &table_for(isa);
}

const KernelTable& active() {
  if (!g_active) g_active = &choose_initial();
  return *g_active;
}

}  // namespace tapegrad::kernels
