// A small persistent thread pool for large kernels: fork-join (every thread runs the same
// function with its own index) or chunks claimed in turn. Chosen over OpenMP so the library
// controls its own threads: no second OpenMP runtime beside PyTorch's or numpy's, a clean reset
// in forked children, and a thread count settable at run time. Plain function pointers keep templates out of the per-ISA
// kernel units (see kernels/table.h on the one-definition rule).
#pragma once
#include <chrono>
#include <cstdint>

namespace tapegrad::threads {

using Task = void (*)(void* ctx, int thread_index, int num_threads);

// Threads used by parallel kernels: TAPEGRAD_NUM_THREADS, else the hardware's count.
int num_threads();
// Sets the count (>= 1); takes effect at the next parallel call.
void set_num_threads(int n);
// Runs task(ctx, i, n) for i in [0, n) with n = min(num_threads(), max_threads), the caller
// taking i = 0, and returns when all are done. Nested calls run serially on the caller.
void parallel_run(Task task, void* ctx, int max_threads);

// Runs task(ctx, c, chunks) once for every c in [0, chunks), on up to min(num_threads(),
// max_threads) threads that claim chunks in turn, the caller among them; returns when all have
// run. For work whose chunks are independent and computed the same way whichever thread runs
// them: a thread the OS does not schedule (the other core busy with another process, or with
// numpy's OpenBLAS threads, which spin for a while after each call) just claims fewer chunks,
// and the caller waits only for chunks already claimed, not for a thread that claimed none. (A
// thread descheduled in the middle of a chunk still holds the job up until it runs again.) The
// caller takes chunks from the front, the other threads from the back. More than 65535 chunks
// run on the caller alone.
void parallel_chunks(Task task, void* ctx, int chunks, int max_threads);
// The calling thread's index in the pool: i on worker i, 0 on any other thread. In a job run on
// n threads the threads taking part have distinct indices below n (the caller 0), so a kernel
// can keep per-thread scratch in slot thread_index() (clipped to its own thread count, since a
// nested call runs serially on a worker). Not inline, like chunk_count.
int thread_index();
// How many chunks to cut `units` of such work into for `nt` threads: four per thread, so
// a descheduled thread leaves most of its share to the others, and no more than the units
// (at least 1). Not inline: the per-ISA kernel units call it too (see kernels/table.h).
int chunk_count(int nt, int64_t units);

// Jobs that had to wait for a thread the OS had not scheduled (the other core busy) since the
// start: a gauge of the machine for the benchmarks' notes, nothing acts on it.
int64_t stalls();
// For waits inside a job (spin_wait.h): returns true, and has the job count as a stall, when
// `waited` is long enough to mean a descheduled thread.
bool note_if_stall(std::chrono::steady_clock::duration waited);

// Elements from which elementwise ops, fills and full sums split over threads (parallel.h).
// Settable for bench/thread_thresholds.py, which times both sides of the default.
int64_t parallel_elements();
void set_parallel_elements(int64_t n);

}  // namespace tapegrad::threads
