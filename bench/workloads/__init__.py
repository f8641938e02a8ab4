"""Workloads for ``bench/compare.py``: what is timed, on which data, in each framework's idiom.

One concern per module:

- ``spec``     the workloads (names, sizes, learning rates, FLOP counts) and the framework list
- ``data``     the inputs and initial parameters, made once with numpy so every framework sees
               the same numbers
- ``timing``   the timed loop (``time.perf_counter_ns`` over many inner iterations)
- ``runtime``  thread settings and the environment of each worker; what each worker reports
               about itself (versions, threads, BLAS)
- ``worker``   the subprocess entry point: one framework per process, JSON in and out
- ``fw_*``     one module per framework: builds each workload in that framework's idiom
- ``report``   JSON, Markdown table and PNG chart of a finished run
"""
