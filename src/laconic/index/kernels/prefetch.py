"""A software prefetch hint for the query kernels (LLVM's ``llvm.prefetch``).

numba exposes no prefetch, and the kernels' costly reads are the postings of
pairs scattered over a segment: a query's few percent of kept (term, block)
pairs point at postings hundreds of megabytes apart, so every one is a cache
miss. Issuing those loads early, from a loop that has nothing else waiting on
them, lets the memory system serve many at once instead of one at a time
(docs/BENCHMARKS.md, "Exact search without waiting on memory").

The hint never changes a result. The intrinsic has had this signature since
LLVM 14: numba 0.59 (our lowest, LLVM 14) and 0.68 (LLVM 22) both compile it
to a prefetch instruction.
"""

from __future__ import annotations

import numba as nb
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Emit ``llvm.prefetch(&arr[idx], read, high locality, data cache)``."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", fnty=fnty)
        addr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [addr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@nb.njit(cache=True, nogil=True, inline="always")
def prefetch(arr, i) -> None:
    """Ask the CPU to start loading ``arr[i]`` (no bounds check, no effect on results)."""
    _prefetch(arr, i)
