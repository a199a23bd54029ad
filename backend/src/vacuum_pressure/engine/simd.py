"""The passive advance's four v/a/j chains as one 4-lane vector (LLVM IR through numba).

A tick's four chains (add, pull, fill, rest_depth) take the same zero-input step with the same
factors (SPEC 5, 11.5), so they fit one ``<4 x double>``: one vector division does the work of
four scalar ones. numba does not vectorise them by itself (the chains live in four rows of the
field array), hence this intrinsic.

Every lane performs the scalar operations of SPEC 11.5 (``v' = keep_v*v``,
``a' = alpha_a*((v'-v)/dt) + keep_a*a``, ``j' = alpha_j*((a'-a)/dt) + keep_j*j``, each
sanitised: non-finite -> 0, the raw ``v'``/``a'`` feeding the next term) in the same order, with no
fast-math flags, so no contraction to fused multiply-add and no reassociation: IEEE vector
``fmul``/``fsub``/``fdiv``/``fadd`` round each lane exactly like the scalar instructions, and
the result is bit-identical (tested against a scalar reference, non-finite and signed-zero
inputs included). ``isfinite(x)`` is evaluated as ``x - x == 0`` (false for inf and NaN only).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LANES = 4
_F64 = ir.DoubleType()
_VEC = ir.VectorType(_F64, _LANES)


def _pack(builder: ir.IRBuilder, values: list[Any]) -> Any:
    vec = ir.Constant(_VEC, ir.Undefined)
    for lane, value in enumerate(values):
        vec = builder.insert_element(vec, value, ir.Constant(ir.IntType(32), lane))
    return vec


def _splat(builder: ir.IRBuilder, value: Any) -> Any:
    return _pack(builder, [value] * _LANES)


def _finite_or_zero(builder: ir.IRBuilder, x: Any) -> Any:
    zero = ir.Constant(_VEC, [0.0] * _LANES)
    finite = builder.fcmp_ordered("==", builder.fsub(x, x), zero)
    return builder.select(finite, x, zero)


def _make_chain4_steps(sanitise: bool) -> Any:
    def typer(
        typingctx: Any,
        v: Any,
        a: Any,
        j: Any,
        m: Any,
        steps: Any,
        d: Any,
        alpha_a: Any,
        alpha_j: Any,
        keep_v: Any,
        keep_a: Any,
        keep_j: Any,
        rest_decay: Any,
    ) -> Any:
        quad = types.UniTuple(types.float64, _LANES)
        sig = types.UniTuple(types.float64, 4 * _LANES)(
            quad, quad, quad, quad, types.intp, *([types.float64] * 7)
        )
        return sig, _codegen

    def _codegen(context: Any, builder: ir.IRBuilder, signature: Any, args: Any) -> Any:
        tv, ta, tj, tm, n, d_, aa, aj, kv, ka, kj, rd = args
        start = [
            _pack(builder, [builder.extract_value(t, lane) for lane in range(_LANES)])
            for t in (tv, ta, tj, tm)
        ]
        dd, vaa, vaj, vkv, vka, vkj, vrd = (
            _splat(builder, x) for x in (d_, aa, aj, kv, ka, kj, rd)
        )
        entry = builder.block
        head = builder.append_basic_block("chain4.head")
        body = builder.append_basic_block("chain4.body")
        done = builder.append_basic_block("chain4.done")
        builder.branch(head)

        builder.position_at_end(head)
        count = builder.phi(n.type)
        pv, pa, pj, pm = (builder.phi(_VEC) for _ in range(4))
        count.add_incoming(ir.Constant(n.type, 0), entry)
        for phi, value in zip((pv, pa, pj, pm), start, strict=True):
            phi.add_incoming(value, entry)
        builder.cbranch(builder.icmp_signed("<", count, n), body, done)

        builder.position_at_end(body)
        v1 = builder.fmul(vkv, pv)
        a1 = builder.fadd(
            builder.fmul(vaa, builder.fdiv(builder.fsub(v1, pv), dd)), builder.fmul(vka, pa)
        )
        j1 = builder.fadd(
            builder.fmul(vaj, builder.fdiv(builder.fsub(a1, pa), dd)), builder.fmul(vkj, pj)
        )
        if sanitise:
            v1, a1, j1 = (_finite_or_zero(builder, x) for x in (v1, a1, j1))
        count.add_incoming(builder.add(count, ir.Constant(n.type, 1)), body)
        pv.add_incoming(v1, body)
        pa.add_incoming(a1, body)
        pj.add_incoming(j1, body)
        pm.add_incoming(builder.fmul(pm, vrd), body)  # masses: m *= rest_decay
        builder.branch(head)

        builder.position_at_end(done)
        lanes = [
            builder.extract_element(vec, ir.Constant(ir.IntType(32), lane))
            for vec in (pv, pa, pj, pm)
            for lane in range(_LANES)
        ]
        return context.make_tuple(builder, signature.return_type, lanes)

    return intrinsic(typer)


chain4_steps: Any = _make_chain4_steps(sanitise=True)
"""``chain4_steps(v, a, j, m, steps, dt, alpha_a, alpha_j, keep_v, keep_a, keep_j, rest_decay)``
inside numba kernels: ``steps`` (>= 0) zero-input advances of four chains at once. ``v``,
``a``, ``j`` are 4-tuples of float64 (one lane per chain); ``m`` is a 4-tuple of masses, each
multiplied by ``rest_decay`` per step (alongside, where the chains leave the units idle).
Returns the advanced values as one flat 16-tuple ``(v0..v3, a0..a3, j0..j3, m0..m3)``."""

chain4_steps_unchecked: Any = _make_chain4_steps(sanitise=False)
"""The same steps without the per-step "non-finite -> 0" (1.6x faster). Its result equals
``chain4_steps``'s whenever all twelve returned values are finite: from a finite state a step
that yields finite values needs no sanitising, and a non-finite value never becomes finite
again (inf and NaN propagate through ``keep*x``, ``x - y`` and ``+``), so a finite result
proves that no step produced one. Callers check and fall back to ``chain4_steps``."""


def _touch_typer(
    typingctx: Any, v: Any, a: Any, j: Any, deltas: Any, dt: Any, av: Any, aa: Any, aj: Any
) -> Any:
    quad = types.UniTuple(types.float64, _LANES)
    sig = types.UniTuple(types.float64, 3 * _LANES)(quad, quad, quad, quad, *([types.float64] * 4))
    return sig, _touch_codegen


def _touch_codegen(context: Any, builder: ir.IRBuilder, signature: Any, args: Any) -> Any:
    tv, ta, tj, tdelta, dt, av, aa, aj = args
    v, a, j, delta = (
        _pack(builder, [builder.extract_value(t, lane) for lane in range(_LANES)])
        for t in (tv, ta, tj, tdelta)
    )
    one = ir.Constant(_F64, 1.0)
    vdt, vav, vaa, vaj = (_splat(builder, x) for x in (dt, av, aa, aj))
    kv, ka, kj = (_splat(builder, builder.fsub(one, x)) for x in (av, aa, aj))
    rate = builder.fdiv(delta, vdt)
    v2 = builder.fadd(builder.fmul(vav, rate), builder.fmul(kv, v))
    a2 = builder.fadd(
        builder.fmul(vaa, builder.fdiv(builder.fsub(v2, v), vdt)), builder.fmul(ka, a)
    )
    j2 = builder.fadd(
        builder.fmul(vaj, builder.fdiv(builder.fsub(a2, a), vdt)), builder.fmul(kj, j)
    )
    zero = ir.Constant(_VEC, [0.0] * _LANES)
    finite = [builder.fcmp_ordered("==", builder.fsub(x, x), zero) for x in (v2, a2, j2)]
    ok = builder.and_(builder.and_(finite[0], finite[1]), finite[2])
    lanes = [
        builder.extract_element(builder.select(ok, new, old), ir.Constant(ir.IntType(32), lane))
        for new, old in ((v2, v), (a2, a), (j2, j))
        for lane in range(_LANES)
    ]
    return context.make_tuple(builder, signature.return_type, lanes)


chain4_touch: Any = intrinsic(_touch_typer)
"""``chain4_touch(v, a, j, deltas, dt, alpha_v, alpha_a, alpha_j)`` inside numba kernels: one
event step (SPEC 5) of the four chains at once, lane by lane the scalar step with
input rate ``deltas[lane] / dt``: ``v' = alpha_v*rate + (1 - alpha_v)*v``,
``a' = alpha_a*((v' - v)/dt) + (1 - alpha_a)*a``, ``j' = alpha_j*((a' - a)/dt) + (1 - alpha_j)*j``;
a lane whose v', a' or j' is not finite keeps its old values. Returns the flat 12-tuple
``(v0..v3, a0..a3, j0..j3)``."""
