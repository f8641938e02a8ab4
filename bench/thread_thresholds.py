"""Where a second thread starts to pay for the skinny GEMM paths: times tg.matmul with 1 and 2 threads
over growing sizes and prints the speedup. The thresholds in cpp/kernels/kernels_portable.h come from
this (run it on a quiet machine: python bench/thread_thresholds.py)."""
import time, numpy as np, tapegrad as tg
def med(f, reps=9):
    ts=[]
    for r in range(reps):
        n=0; t0=time.perf_counter()
        while True:
            f(); n+=1
            el=time.perf_counter()-t0
            if el>0.01: break
        ts.append(el/n)
    ts.sort(); return ts[reps//2]
rng=np.random.default_rng(0)
for name, mk in [("gemv m x 64 . 64x1", lambda m: (tg.constant(rng.standard_normal((m,64),dtype=np.float32)), tg.constant(rng.standard_normal((64,1),dtype=np.float32)))),
                 ("small-n m x 784 . 784x10", lambda m: (tg.constant(rng.standard_normal((m,784),dtype=np.float32)), tg.constant(rng.standard_normal((784,10),dtype=np.float32))))]:
    for m in ([1000,2000,4000,8000,16000] if "gemv" in name else [32,64,128,256,512]):
        a,b=mk(m); r=[]
        for th in (1,2):
            tg.config.set_num_threads(th); r.append(med(lambda: tg.matmul(a,b)))
        print(f"{name} m={m}: 1 thread {r[0]*1e6:.1f} us, 2 threads {r[1]*1e6:.1f} us, speedup {r[0]/r[1]:.2f}")
