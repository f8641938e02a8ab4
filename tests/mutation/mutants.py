"""The planted bugs of the mutation run: each one small change that the named tests must catch.

A mutant replaces ``old`` (which occurs exactly once in ``file``) by ``new``. ``tests`` are the
pytest arguments (files, ``-k`` expressions) that must fail with the mutant planted; they are the
tests aimed at that code, so one mutant costs one incremental build and a few seconds of tests
(``run.py --full`` runs the whole suite instead).
"""
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Mutant:
    id: str
    family: str  # backward rule, fused shortcut, kernel, tape, checkpoint, debugging
    file: str
    old: str
    new: str
    tests: Tuple[str, ...]


GRADIENTS = "tests/ops/test_op_gradients.py"

MUTANTS = (
    # -- backward rules (one per family file, the thin kills of the first run among them)
    Mutant("exp_rule_reads_input", "backward rule", "cpp/ops/unary_ops.cpp",
           "if (need[0]) out[0] = multiply(g, e.saved_output);\n}\n\n",
           "if (need[0]) out[0] = multiply(g, multiply(e.saved_output, e.saved_output));\n}\n\n",
           (GRADIENTS, "-k", "exp")),
    Mutant("subtract_rule_no_negation", "backward rule", "cpp/ops/binary_ops.cpp",
           "if (need[1]) out[1] = negative(unbroadcast(g, e.in_shape[1]));",
           "if (need[1]) out[1] = unbroadcast(g, e.in_shape[1]);",
           (GRADIENTS, "-k", "subtract")),
    Mutant("matmul_rule_da_transpose_case", "backward rule", "cpp/ops/matmul.cpp",
           ": (!tb ? matmul(b, g, false, true) : matmul(b, g, true, true));",
           ": (!tb ? matmul(b, g, false, true) : matmul(g, b, true, true));",
           (GRADIENTS, "-k", "matmul")),
    Mutant("transpose_rule_uses_perm", "backward rule", "cpp/ops/shape_ops.cpp",
           "inverse[batch + e.attrs.perm[d]] = batch + d;",
           "inverse[batch + d] = batch + e.attrs.perm[d];",
           (GRADIENTS, "-k", "transpose")),
    Mutant("cast_rule_keeps_output_dtype", "backward rule", "cpp/ops/shape_ops.cpp",
           "if (need[0]) out[0] = cast(g, e.in_dtype[0]);",
           "if (need[0]) out[0] = g;",
           (GRADIENTS, "tests/test_tape.py", "-k", "cast")),
    Mutant("reduce_mean_spread_unscaled", "backward rule", "cpp/ops/reductions.cpp",
           "out[0] = spread(e, g, count ? 1.0 / double(count) : 0.0);",
           "out[0] = spread(e, g, 1.0);",
           (GRADIENTS, "-k", "reduce_mean")),
    Mutant("check_numerics_rule_doubles", "backward rule", "cpp/ops/debugging_ops.cpp",
           "if (need[0]) out[0] = g;",
           "if (need[0]) out[0] = add(g, g);",
           (GRADIENTS, "tests/test_debugging.py", "-k", "check_numerics")),
    # -- fused shortcuts (taken when no tape records; the same bits as the op path required)
    Mutant("spread_shortcut_drops_factor", "fused shortcut", "cpp/ops/reductions.cpp",
           "                             : g->item() * factor;",
           "                             : g->item();",
           ("tests/ops/test_reduction_semantics.py", GRADIENTS, "-k", "reduce_mean or mean")),
    Mutant("square_shortcut_wrong", "fused shortcut", "cpp/ops/unary_ops.cpp",
           "    out[0] = square_grad(x, g);",
           "    out[0] = multiply(g, x);",
           (GRADIENTS, "tests/test_gradient_functions.py", "-k", "square")),
    Mutant("shortcuts_never_taken", "fused shortcut", "cpp/ops/op_util.h",
           "inline bool fused_ok() { return !tape_stack::any_recording() && !function::t_tracer; }",
           "inline bool fused_ok() { return false; }",
           ("tests/ops/test_fused_shortcuts.py",)),
    Mutant("sigmoid_xent_shortcut_under_recording", "fused shortcut", "cpp/ops/loss_ops.cpp",
           "  if (fused_ok() && gradient_batch_axes() == 0) {\n    count_shortcut(Shortcut::SigmoidXent);",
           "  if (gradient_batch_axes() == 0) {\n    count_shortcut(Shortcut::SigmoidXent);",
           ("tests/ops/test_fused_shortcuts.py",)),
    # -- kernels
    Mutant("binary_sub_kernel_swapped", "kernel", "cpp/kernels/elementwise_ops.h",
           "struct SubF { static T f(T x, T y) { return x - y; } };",
           "struct SubF { static T f(T x, T y) { return y - x; } };",
           (GRADIENTS, "-k", "subtract")),
    Mutant("gemm_fixed_part_offset_of_transposed_a", "kernel", "cpp/kernels/gemm/schedule.h",
           "j.a + (j.ta ? lo : lo * j.lda)",
           "j.a + lo * j.lda",
           ("tests/kernels/test_gemm.py", "-k", "fixed_halves")),
    # -- the tape
    Mutant("tape_overwrites_instead_of_accumulating", "tape", "cpp/tape/tape.cpp",
           "acc = acc ? ops::add(acc, in_grads[k]) : in_grads[k];",
           "acc = in_grads[k];",
           ("tests/test_tape.py", "tests/test_gradient_functions.py")),
    # -- check_numerics
    Mutant("numerics_check_skipped_in_call_op", "debugging", "cpp/ops/call_op.h",
           "  if (__builtin_expect(numerics::enabled(), 0))\n    numerics::check_output(",
           "  if (false)\n    numerics::check_output(",
           ("tests/test_debugging.py",)),
    # -- checkpoints (Python: no rebuild)
    Mutant("restore_assigns_while_checking", "checkpoint", "python/tapegrad/checkpoint.py",
           "            plan.append((slot, value))",
           "            plan.append((slot, value))\n            slot.write(value)",
           ("tests/test_checkpoint.py",)),
    Mutant("save_writes_in_place", "checkpoint", "python/tapegrad/_atomic_file.py",
           "        os.replace(tmp, path)\n",
           "        os.replace(tmp, path)\n        open(path, 'r+b').truncate(os.path.getsize(path) // 2)\n",
           ("tests/test_checkpoint.py", "-k", "sigkill or round_trips")),
    Mutant("iterator_position_not_restored", "checkpoint", "python/tapegrad/data.py",
           "        self.position = int(state[\"position\"])",
           "        self.position = 0",
           ("tests/test_checkpoint.py", "-k", "iterators or exact_resume")),
)
