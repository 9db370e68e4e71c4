/**
 * WebAssembly SIMD matrix products, assembled here byte by byte (no toolchain needed):
 *
 *   mm(c, a, b, M, N, K):  C[M,N] = A[M,K] · B[N,K]ᵀ      (float32, row-major, byte addresses)
 *
 * M must be a multiple of 4, N of 2 and K of 4 (callers pad with zeros). The kernel walks 4×2
 * output tiles; each of the eight sums runs over k in four f32x4 lanes, and the lanes are added
 * ((l0 + l1) + l2) + l3 at the end — one fixed order per output element, whatever the tile or the
 * thread split, so results are deterministic.
 *
 *   mmnn(c, a, b, M, N, K, ldaT, ldb, ldc):  C[M,N] += A[M,K] · B[K,N]
 *
 * B row-major with a row stride of ldb bytes (so a block of a weight matrix W[O,I] is used as it
 * lies, never transposed), C with a row stride of ldc bytes, A packed in tiles of four rows:
 * A[m, k] at a + (m/4)·ldaT + 16·k + 4·(m mod 4). M must be a multiple of 4 and N of 8. It walks
 * 4×8 output tiles (two f32x4 per row); each output element is one f32 sum over k in order,
 * started at 0 and added to C once at the end. The caller splits K into fixed chunks
 * (BACKWARD_K_CHUNK), so an element is ((c₀ + s₀) + s₁) + … over its chunk sums, again one fixed
 * order whatever the tiles or the thread split (and more accurate than one long f32 sum).
 *
 *   swf(out, gate, up, n), swb(dgate, dup, dout, gate, up, n), expsum(dst, src, n, scale, shift)
 *
 * The exponential-bound elementwise kernels (SwiGLU forward and backward, the exp(x·scale − max)
 * rows of cross-entropy and of attention's softmax, with their sums), two float64 lanes at a time
 * with a float64 exp (expF64x2 below): the same float64 formulas as kernels.ts, in the same order,
 * with an exp within a few float64 ulps of Math.exp, so results rounded to float32 agree with the
 * JS kernels except within ~1e-16 of a rounding boundary (none in the tests' millions of values);
 * about twice as fast as V8's scalar Math.exp loops, copies in and out included.
 *
 * `WasmMatmul` owns one instance (its own memory) and copies operands in and results out; each
 * thread has its own.
 */

// ─── a tiny assembler ──────────────────────────────────────────────────────────────────────────

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, GE_U = 0x4f, EQZ = 0x45, SHR_U = 0x76;
const block = [0x02, 0x40], loop = [0x03, 0x40], end = [0x0b];
const br = (d: number) => [0x0c, ...uleb(d)];
const brIf = (d: number) => [0x0d, ...uleb(d)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const v128load = [...simd(0x00), 4, 0]; // align 2^4, offset 0
const v128zero = [...simd(0x0c), ...new Array(16).fill(0)];
const f32x4add = simd(0xe4), f32x4mul = simd(0xe6);
const lane = (l: number) => [...simd(0x1f), l];
const f32add = [0x92];
const f32store = (offset: number) => [0x38, 2, ...uleb(offset)];
const v128loadAt = (offset: number) => [...simd(0x00), 4, ...uleb(offset)];
const v128storeAt = (offset: number) => [...simd(0x0b), 4, ...uleb(offset)];
const splat32At = (offset: number) => [...simd(0x09), 2, ...uleb(offset)]; // v128.load32_splat

// locals: params 0..5 = c, a, b, M, N, K; then i32s and v128s
const C = 0, A = 1, B = 2, M = 3, N = 4, K = 5;
const m = 6, n = 7, k = 8, pa = [9, 10, 11, 12], pb = [13, 14], rowBytes = 15, po = 16, nBytes = 17;
const acc = (r: number, c: number) => 18 + r * 2 + c;
const va = [26, 27, 28, 29], vb = [30, 31];

function body(): number[] {
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  e(get(K), i32c(2), [0x74], set(rowBytes)); // rowBytes = K << 2
  e(get(N), i32c(2), [0x74], set(nBytes));
  e(i32c(0), set(m));
  e(block, loop); // m loop
  e(get(m), get(M), [GE_U], brIf(1));
  e(i32c(0), set(n));
  e(block, loop); // n loop
  e(get(n), get(N), [GE_U], brIf(1));
  e(get(A), get(m), get(rowBytes), [MUL], [ADD], set(pa[0]));
  for (let r = 1; r < 4; r++) e(get(pa[r - 1]!), get(rowBytes), [ADD], set(pa[r]!));
  e(get(B), get(n), get(rowBytes), [MUL], [ADD], set(pb[0]!));
  e(get(pb[0]!), get(rowBytes), [ADD], set(pb[1]!));
  for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) e(v128zero, set(acc(r, c)));
  e(i32c(0), set(k));
  e(block, loop); // k loop, 4 floats per step
  e(get(k), get(rowBytes), [GE_U], brIf(1));
  for (let r = 0; r < 4; r++) e(get(pa[r]!), get(k), [ADD], v128load, set(va[r]!));
  for (let c = 0; c < 2; c++) e(get(pb[c]!), get(k), [ADD], v128load, set(vb[c]!));
  for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) e(get(acc(r, c)), get(va[r]!), get(vb[c]!), f32x4mul, f32x4add, set(acc(r, c)));
  e(get(k), i32c(16), [ADD], set(k));
  e(br(0), end, end);
  // store the tile: c[(m + r)·N + n + col] = lanes summed
  e(get(C), get(m), get(N), [MUL], get(n), [ADD], i32c(2), [0x74], [ADD], set(po));
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 2; c++) {
      e(get(po));
      if (r > 0) e(get(nBytes), i32c(r), [MUL], [ADD]);
      e(get(acc(r, c)), lane(0), get(acc(r, c)), lane(1), f32add, get(acc(r, c)), lane(2), f32add, get(acc(r, c)), lane(3), f32add);
      e(f32store(c * 4));
    }
  }
  e(get(n), i32c(2), [ADD], set(n));
  e(br(0), end, end);
  e(get(m), i32c(4), [ADD], set(m));
  e(br(0), end, end);
  e(end);
  return code;
}

// mmnn's locals: params 0..8 = c, a, b, M, N, K, ldaT, ldb, ldc; then i32s and v128s
const NN = { c: 0, a: 1, b: 2, M: 3, N: 4, K: 5, ldaT: 6, ldb: 7, ldc: 8, m: 9, n: 10, kk: 11, pa: 12, pb: 13, pc: 14 };
const nnAcc = (r: number, c: number) => 15 + r * 2 + c;
const nnA = [23, 24, 25, 26], nnB = [27, 28];

function bodyNN(): number[] {
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  e(i32c(0), set(NN.n));
  e(block, loop); // n loop, 8 columns per step
  e(get(NN.n), get(NN.N), [GE_U], brIf(1));
  e(i32c(0), set(NN.m));
  e(block, loop); // m loop, 4 rows per step
  e(get(NN.m), get(NN.M), [GE_U], brIf(1));
  e(get(NN.a), get(NN.m), i32c(2), [SHR_U], get(NN.ldaT), [MUL], [ADD], set(NN.pa)); // a + (m/4)·ldaT
  e(get(NN.b), get(NN.n), i32c(2), [0x74], [ADD], set(NN.pb)); // b + 4n
  for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) e(v128zero, set(nnAcc(r, c)));
  e(get(NN.K), set(NN.kk));
  e(block, loop); // k loop, one k per step
  e(get(NN.kk), [EQZ], brIf(1));
  for (let c = 0; c < 2; c++) e(get(NN.pb), v128loadAt(16 * c), set(nnB[c]!));
  for (let r = 0; r < 4; r++) {
    e(get(NN.pa), splat32At(4 * r), set(nnA[r]!));
    for (let c = 0; c < 2; c++) e(get(nnAcc(r, c)), get(nnA[r]!), get(nnB[c]!), f32x4mul, f32x4add, set(nnAcc(r, c)));
  }
  e(get(NN.pa), i32c(16), [ADD], set(NN.pa));
  e(get(NN.pb), get(NN.ldb), [ADD], set(NN.pb));
  e(get(NN.kk), i32c(1), [SUB], set(NN.kk));
  e(br(0), end, end);
  // C[m + r, n…n+8] += the tile
  e(get(NN.c), get(NN.m), get(NN.ldc), [MUL], [ADD], get(NN.n), i32c(2), [0x74], [ADD], set(NN.pc));
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 2; c++) e(get(NN.pc), get(NN.pc), v128loadAt(16 * c), get(nnAcc(r, c)), f32x4add, v128storeAt(16 * c));
    if (r < 3) e(get(NN.pc), get(NN.ldc), [ADD], set(NN.pc));
  }
  e(get(NN.m), i32c(4), [ADD], set(NN.m));
  e(br(0), end, end);
  e(get(NN.n), i32c(8), [ADD], set(NN.n));
  e(br(0), end, end);
  e(end);
  return code;
}

// ─── float64 exp, two lanes ─────────────────────────────────────────────────────────────────────

const f64x2 = { add: simd(0xf0), sub: simd(0xf1), mul: simd(0xf2), div: simd(0xf3), pmin: simd(0xf6), pmax: simd(0xf7), neg: simd(0xed), gt: simd(0x4a), lt: simd(0x49) };
const i64x2shl = simd(0xcb), i64x2add = simd(0xce), bitselect = simd(0x52), andnot = simd(0x4f);
const promoteLow = simd(0x5f), demoteZero = simd(0x5e);
const load64zero = (offset: number) => [...simd(0x5d), 3, ...uleb(offset)];
const store64lane0 = (offset: number) => [...simd(0x5b), 3, ...uleb(offset), 0];
const extractF64 = (l: number) => [...simd(0x21), l];
const f64addScalar = [0xa0];
/** v128.const of two equal float64 lanes. */
function constF64x2(v: number): number[] {
  const b = new Uint8Array(new Float64Array([v, v]).buffer);
  return [...simd(0x0c), ...b];
}
/** v128.const of two equal int64 lanes (v < 2⁵³). */
function constI64x2(v: number): number[] {
  const b = new Uint8Array(new BigInt64Array([BigInt(v), BigInt(v)]).buffer);
  return [...simd(0x0c), ...b];
}
/**
 * v128 constants held in locals from `first` on, set once before the loop (a v128.const inside
 * the loop is rebuilt on every iteration by V8): `f64`/`i64` give the code that reads one.
 */
class ConstPool {
  private readonly slots = new Map<string, { index: number; bytes: number[] }>();
  constructor(private readonly first: number) {}
  private slot(key: string, bytes: number[]): number[] {
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { index: this.first + this.slots.size, bytes }));
    return get(s.index);
  }
  readonly f64 = (v: number) => this.slot(`f${v}`, constF64x2(v));
  readonly i64 = (v: number) => this.slot(`i${v}`, constI64x2(v));
  get count(): number { return this.slots.size; }
  /** The code that sets every local used so far. */
  prologue(): number[] {
    return [...this.slots.values()].flatMap((s) => [...s.bytes, ...set(s.index)]);
  }
}

/** Coefficients 1/k! of the Taylor series of exp, k = 0…13 (|r| ≤ ln2/2: truncation < 1e-17). */
const EXP_COEFS = Array.from({ length: 14 }, (_, k) => 1 / Array.from({ length: k }, (_, j) => j + 1).reduce((a, b) => a * b, 1));

/**
 * Independent exps interleaved per loop step (four float64 pairs), so their latency chains overlap
 * (measured: 1 → 14 ns, 2 → 8.5, 4 → 5.6 per SwiGLU element; V8's Math.exp loop alone ~12).
 */
const EXP_UNROLL = 4;

/**
 * Code that replaces each v128 local xs[u] (two float64 lanes) with exp(xs[u]), using v128 locals
 * ts[u], kfs[u], rs[u]; the U exps are interleaved step by step (each alone is a ~100-cycle chain).
 * exp(x) = 2^k · e^r with k = round(x/ln2) (the 1.5·2⁵² trick, which also leaves k in t's low
 * bits), r = x − k·ln2 in two parts (Cody–Waite, fdlibm's split of ln2: k·ln2hi is exact), e^r by
 * its Taylor series to r¹³ (Horner), 2^k built in the exponent field. Within a few ulps of the
 * true value for −708 ≤ x ≤ 709; below that 0 (the true value is a float64 subnormal, 0 in
 * float32), above it +∞ (the true value is beyond any float32), NaN stays NaN.
 */
function expF64x2(xs: number[], ts: number[], kfs: number[], rs: number[], ps: number[], c: ConstPool): number[] {
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  const each = (f: (x: number, t: number, kf: number, r: number, p: number) => void) => xs.forEach((x, u) => f(x, ts[u]!, kfs[u]!, rs[u]!, ps[u]!));
  const MAGIC = 6755399441055744; // 1.5·2⁵²
  each((x, t, kf, r) => e(get(x), c.f64(709), f64x2.pmin, c.f64(-708), f64x2.pmax, set(r))); // clamped (pmin(a, b) = b < a ? b : a: NaN stays)
  each((x, t, kf, r) => e(get(r), c.f64(Math.LOG2E), f64x2.mul, c.f64(MAGIC), f64x2.add, set(t)));
  each((x, t, kf) => e(get(t), c.f64(MAGIC), f64x2.sub, set(kf)));
  each((x, t, kf, r) => e(get(r), get(kf), c.f64(6.93147180369123816490e-01), f64x2.mul, f64x2.sub, get(kf), c.f64(1.90821492927058770002e-10), f64x2.mul, f64x2.sub, set(r)));
  each((x, t, kf, r, p) => e(get(r), c.f64(EXP_COEFS[13]!), f64x2.mul, c.f64(EXP_COEFS[12]!), f64x2.add, set(p)));
  for (let j = 11; j >= 0; j--) each((x, t, kf, r, p) => e(get(p), get(r), f64x2.mul, c.f64(EXP_COEFS[j]!), f64x2.add, set(p)));
  each((x, t, kf, r, p) => e(get(p), get(t), i32c(52), i64x2shl, c.i64(1023 * 2 ** 52), i64x2add, f64x2.mul, set(p))); // · 2^k
  // x > 709 → +∞, x < −708 → 0 (NaN compares false: stays NaN)
  each((x, t, kf, r, p) => e(c.f64(Infinity), get(p), get(x), c.f64(709), f64x2.gt, bitselect, get(x), c.f64(-708), f64x2.lt, andnot, set(x)));
  return code;
}

/** Locals for U interleaved lanes: `names` each get U consecutive v128 locals from `first`. */
function laneLocals<K extends string>(first: number, U: number, names: readonly K[]): { locals: Record<K, number[]>; next: number } {
  const locals = {} as Record<K, number[]>;
  names.forEach((name, j) => (locals[name] = Array.from({ length: U }, (_, u) => first + j * U + u)));
  return { locals, next: first + names.length * U };
}

// swf(out, gate, up, n): out = (g / (1 + exp(−g))) · up, n floats (a multiple of 2·EXP_UNROLL), float64 inside
function bodySwigluForward(): { code: number[]; v128: number } {
  const out = 0, gate = 1, up = 2, n = 3, i = 4, nb = 5, U = EXP_UNROLL;
  const { locals: L, next } = laneLocals(6, U, ['g', 'x', 't', 'kf', 'r', 'p'] as const);
  const c = new ConstPool(next);
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  e(get(n), i32c(2), [0x74], set(nb), i32c(0), set(i));
  e(block, loop);
  e(get(i), get(nb), [GE_U], brIf(1));
  for (let u = 0; u < U; u++) e(get(gate), get(i), [ADD], load64zero(8 * u), promoteLow, set(L.g[u]!), get(L.g[u]!), f64x2.neg, set(L.x[u]!));
  e(expF64x2(L.x, L.t, L.kf, L.r, L.p, c));
  for (let u = 0; u < U; u++) {
    e(get(out), get(i), [ADD]);
    e(get(L.g[u]!), c.f64(1), get(L.x[u]!), f64x2.add, f64x2.div);
    e(get(up), get(i), [ADD], load64zero(8 * u), promoteLow, f64x2.mul, demoteZero, store64lane0(8 * u));
  }
  e(get(i), i32c(8 * U), [ADD], set(i));
  e(br(0), end, end, end);
  return { code: [...c.prologue(), ...code], v128: next - 6 + c.count };
}

// swb(dgate, dup, dout, gate, up, n): sig = 1/(1 + exp(−g)); dgate += d·up·sig·(1 + g(1 − sig)); dup += d·g·sig
function bodySwigluBackward(): { code: number[]; v128: number } {
  const dgate = 0, dup = 1, dout = 2, gate = 3, up = 4, n = 5, i = 6, nb = 7, U = EXP_UNROLL;
  const { locals: L, next } = laneLocals(8, U, ['g', 'x', 't', 'kf', 'r', 'p'] as const);
  const d = next;
  const c = new ConstPool(next + 1);
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  e(get(n), i32c(2), [0x74], set(nb), i32c(0), set(i));
  e(block, loop);
  e(get(i), get(nb), [GE_U], brIf(1));
  for (let u = 0; u < U; u++) e(get(gate), get(i), [ADD], load64zero(8 * u), promoteLow, set(L.g[u]!), get(L.g[u]!), f64x2.neg, set(L.x[u]!));
  e(expF64x2(L.x, L.t, L.kf, L.r, L.p, c));
  for (let u = 0; u < U; u++) {
    const g = L.g[u]!, x = L.x[u]!, o = 8 * u;
    e(c.f64(1), c.f64(1), get(x), f64x2.add, f64x2.div, set(x)); // x = sig
    e(get(dout), get(i), [ADD], load64zero(o), promoteLow, set(d));
    // dgate
    e(get(dgate), get(i), [ADD]);
    e(get(dgate), get(i), [ADD], load64zero(o), promoteLow);
    e(get(d), get(up), get(i), [ADD], load64zero(o), promoteLow, f64x2.mul, get(x), f64x2.mul);
    e(c.f64(1), get(g), c.f64(1), get(x), f64x2.sub, f64x2.mul, f64x2.add, f64x2.mul);
    e(f64x2.add, demoteZero, store64lane0(o));
    // dup
    e(get(dup), get(i), [ADD]);
    e(get(dup), get(i), [ADD], load64zero(o), promoteLow);
    e(get(d), get(g), f64x2.mul, get(x), f64x2.mul, f64x2.add, demoteZero, store64lane0(o));
  }
  e(get(i), i32c(8 * U), [ADD], set(i));
  e(br(0), end, end, end);
  return { code: [...c.prologue(), ...code], v128: next + 1 - 8 + c.count };
}

// expsum(dst, src, n, scale, shift) → Σ: dst[j] = exp(src[j]·scale − shift) (float64 out, float32
// in; src[j]·scale in float64, as a JS number), n a multiple of 2·EXP_UNROLL; the sum runs over j
// in order, one lane after the other
function bodyExpSum(): { code: number[]; v128: number } {
  const dst = 0, src = 1, n = 2, scale = 3, shift = 4, i = 5, nb = 6, sum = 7, U = EXP_UNROLL;
  const { locals: L, next } = laneLocals(8, U, ['x', 't', 'kf', 'r', 'p'] as const);
  const sh = next, sc = next + 1;
  const c = new ConstPool(next + 2);
  const code: number[] = [];
  const e = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  e(get(n), i32c(2), [0x74], set(nb), i32c(0), set(i));
  e(get(shift), simd(0x14), set(sh), get(scale), simd(0x14), set(sc)); // f64x2.splat
  e(block, loop);
  e(get(i), get(nb), [GE_U], brIf(1));
  for (let u = 0; u < U; u++) e(get(src), get(i), [ADD], load64zero(8 * u), promoteLow, get(sc), f64x2.mul, get(sh), f64x2.sub, set(L.x[u]!));
  e(expF64x2(L.x, L.t, L.kf, L.r, L.p, c));
  for (let u = 0; u < U; u++) {
    const x = L.x[u]!;
    e(get(dst), get(i), get(i), [ADD], [ADD], get(x), v128storeAt(16 * u));
    e(get(sum), get(x), extractF64(0), f64addScalar, get(x), extractF64(1), f64addScalar, set(sum));
  }
  e(get(i), i32c(8 * U), [ADD], set(i));
  e(br(0), end, end);
  e(get(sum), end);
  return { code: [...c.prologue(), ...code], v128: next + 2 - 8 + c.count };
}

/** The module's bytes. */
export function matmulModuleBytes(): Uint8Array {
  const params = (...ts: number[]) => vec(ts.map((t) => [t]));
  const type = vec([
    [0x60, ...params(I32, I32, I32, I32, I32, I32), ...vec([])], // mm, swb
    [0x60, ...params(I32, I32, I32, I32, I32, I32, I32, I32, I32), ...vec([])], // mmnn
    [0x60, ...params(I32, I32, I32, I32), ...vec([])], // swf
    [0x60, ...params(I32, I32, I32, F64, F64), ...vec([[F64]])], // expsum
  ]);
  const funcs = vec([[0], [1], [2], [0], [3]]);
  const memory = vec([[0x00, 1]]); // min 1 page, growable
  const exports = vec([
    [...str('mm'), 0x00, 0], [...str('mmnn'), 0x00, 1], [...str('swf'), 0x00, 2], [...str('swb'), 0x00, 3], [...str('expsum'), 0x00, 4],
    [...str('memory'), 0x02, 0],
  ]);
  const fn = (locals: number[][], body: number[]) => {
    const f = [...vec(locals), ...body];
    return [...uleb(f.length), ...f];
  };
  const swf = bodySwigluForward(), swb = bodySwigluBackward(), expsum = bodyExpSum();
  const code = vec([
    fn([[...uleb(12), I32], [...uleb(14), V128]], body()),
    fn([[...uleb(6), I32], [...uleb(14), V128]], bodyNN()),
    fn([[...uleb(2), I32], [...uleb(swf.v128), V128]], swf.code),
    fn([[...uleb(2), I32], [...uleb(swb.v128), V128]], swb.code),
    fn([[...uleb(2), I32], [...uleb(1), F64], [...uleb(expsum.v128), V128]], expsum.code),
  ]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, type), ...section(3, funcs), ...section(5, memory), ...section(7, exports), ...section(10, code),
  ]);
}

// The WebAssembly global, typed by hand (this project's lib settings do not include the DOM types).
interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
interface WasmInstance { exports: Record<string, unknown> }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function module(): object | null {
  if (compiled === undefined) {
    try {
      compiled = WA ? new WA.Module(matmulModuleBytes()) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const round = (x: number, to: number) => Math.ceil(x / to) * to;

/** Largest block of a weight matrix copied into wasm memory at once (floats; 4 MiB). */
const BLOCK_FLOATS = 1 << 20;
/**
 * linearBackwardInput sums over o in chunks of this many (each chunk's sum starts at 0 and is then
 * added to the running total): part of the kernel's rounding order, so a fixed constant.
 */
export const BACKWARD_K_CHUNK = 128;
/** Rows of dx per pass of linearBackwardInput (each pass copies W into wasm memory once). */
const BACKWARD_ROWS = 128;
/**
 * Columns of dx per block of linearBackwardInput: the block's result tile stays in L2 and W's
 * rows are copied in segments of this many floats (smaller blocks cost more copies; wider ones,
 * e.g. all 8192 of down_proj, spill the result tile and measured 15–25 % slower).
 */
const BACKWARD_COLS = 256;
/** Elements per pass of the elementwise kernels (each array's chunk: 32 KiB). */
const ELEMENTWISE_CHUNK = 8192;

/** One instance of the SIMD matmul with its own memory; not thread-safe (one per thread). */
export class WasmMatmul {
  private readonly mm: (c: number, a: number, b: number, M: number, N: number, K: number) => void;
  private readonly mmnn: (c: number, a: number, b: number, M: number, N: number, K: number, ldaT: number, ldb: number, ldc: number) => void;
  private readonly swf: (out: number, gate: number, up: number, n: number) => void;
  private readonly swb: (dgate: number, dup: number, dout: number, gate: number, up: number, n: number) => void;
  private readonly expsum: (dst: number, src: number, n: number, scale: number, shift: number) => number;
  private readonly memory: WasmMemory;

  private constructor(instance: WasmInstance) {
    this.mm = instance.exports['mm'] as WasmMatmul['mm'];
    this.mmnn = instance.exports['mmnn'] as WasmMatmul['mmnn'];
    this.swf = instance.exports['swf'] as WasmMatmul['swf'];
    this.swb = instance.exports['swb'] as WasmMatmul['swb'];
    this.expsum = instance.exports['expsum'] as WasmMatmul['expsum'];
    this.memory = instance.exports['memory'] as WasmMemory;
  }

  /** A new instance, or null when WebAssembly SIMD is not available. */
  static create(): WasmMatmul | null {
    const mod = module();
    return mod && WA ? new WasmMatmul(new WA.Instance(mod, {})) : null;
  }

  private reserve(bytes: number): Float32Array {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    return new Float32Array(this.memory.buffer);
  }

  /** Zeroed wasm memory for C [Mp,Np], A [Mp,Kp], B [Np,Kp]; returns the float offsets. */
  private layout(Mp: number, Np: number, Kp: number): { mem: Float32Array; aOff: number; bOff: number } {
    const aOff = Mp * Np, bOff = aOff + Mp * Kp;
    const mem = this.reserve((bOff + Np * Kp) * 4);
    if (Kp !== 0) mem.fill(0, aOff, bOff + Np * Kp);
    return { mem, aOff, bOff };
  }

  /** c[M,N] = a[M,K]·b[N,K]ᵀ for dense row-major arrays (c is overwritten). */
  gemm(c: Float32Array, a: Float32Array, b: Float32Array, Mr: number, Nr: number, Kr: number): void {
    const Mp = round(Mr, 4), Np = round(Nr, 2), Kp = round(Kr, 4);
    const { mem, aOff, bOff } = this.layout(Mp, Np, Kp);
    if (Kp === Kr) {
      mem.set(a.subarray(0, Mr * Kr), aOff);
      mem.set(b.subarray(0, Nr * Kr), bOff);
    } else {
      for (let i = 0; i < Mr; i++) mem.set(a.subarray(i * Kr, (i + 1) * Kr), aOff + i * Kp);
      for (let j = 0; j < Nr; j++) mem.set(b.subarray(j * Kr, (j + 1) * Kr), bOff + j * Kp);
    }
    this.mm(0, aOff * 4, bOff * 4, Mp, Np, Kp);
    if (Np === Nr) c.set(mem.subarray(0, Mr * Nr));
    else for (let i = 0; i < Mr; i++) c.set(mem.subarray(i * Np, i * Np + Nr), i * Nr);
  }

  /**
   * out[N,O] (=|+=) scale · x[N,I]·w[O,I]ᵀ for rows [n0, n1) (same contract as
   * kernels.linearForward). W goes through wasm memory in blocks of output rows (at most
   * BLOCK_FLOATS values), so a large matrix such as a 128k-vocabulary LM head is never copied whole.
   */
  linearForward(out: Float32Array, x: Float32Array, w: Float32Array, I: number, O: number, accumulate: boolean, scale: number, n0: number, n1: number): void {
    const Mr = n1 - n0;
    const Kp = round(I, 4), Mp = round(Mr, 4);
    const block = Math.max(2, Math.min(round(O, 2), Math.floor(BLOCK_FLOATS / Kp / 2) * 2));
    const { mem, aOff, bOff } = this.layout(Mp, block, Kp);
    for (let i = 0; i < Mr; i++) mem.set(x.subarray((n0 + i) * I, (n0 + i + 1) * I), aOff + i * Kp);
    for (let o0 = 0; o0 < O; o0 += block) {
      const cols = Math.min(block, O - o0), Np = round(cols, 2);
      if (Kp !== I || Np !== cols) mem.fill(0, bOff, bOff + Np * Kp);
      for (let o = 0; o < cols; o++) mem.set(w.subarray((o0 + o) * I, (o0 + o + 1) * I), bOff + o * Kp);
      this.mm(0, aOff * 4, bOff * 4, Mp, Np, Kp);
      for (let i = 0; i < Mr; i++) {
        const r = (n0 + i) * O + o0, c = i * Np;
        if (accumulate) for (let o = 0; o < cols; o++) out[r + o] += scale * mem[c + o]!;
        else if (scale === 1) out.set(mem.subarray(c, c + cols), r);
        else for (let o = 0; o < cols; o++) out[r + o] = scale * mem[c + o]!;
      }
    }
  }

  /**
   * dx[N,I] += scale · dout[N,O]·w[O,I] for rows [n0, n1) (same contract as
   * kernels.linearBackwardInput), on mmnn: W is used in its own layout, never transposed. Per pass
   * of up to BACKWARD_ROWS rows, dout is packed once (four rows interleaved); then per block of
   * BACKWARD_COLS columns of dx, W's rows are copied in chunks of BACKWARD_K_CHUNK (each a
   * [chunk, columns] block: one memcpy when the block is all of W's width) and multiplied in
   * place, the block's sums staying in wasm memory until the last chunk is added. W is copied
   * once per pass, and only a chunk of it is live at a time, so even the 128k-row LM head streams
   * through the caches once.
   */
  linearBackwardInput(dx: Float32Array, dout: Float32Array, w: Float32Array, I: number, O: number, scale: number, n0: number, n1: number): void {
    const Mr = n1 - n0;
    if (Mr <= 0 || I === 0) return;
    const Ip = round(I, 8), Kc = BACKWARD_K_CHUNK;
    const Nc = Math.min(Ip, BACKWARD_COLS);
    const Mc = Math.min(round(Mr, 4), BACKWARD_ROWS);
    // wasm memory: C [Mc, Nc], packed A [Mc/4][O][4], B block [Kc, Nc]
    const aOff = Mc * Nc, bOff = aOff + Mc * O;
    const mem = this.reserve((bOff + Kc * Nc) * 4);
    for (let m0 = 0; m0 < Mr; m0 += Mc) {
      const rows = Math.min(Mc, Mr - m0), Mp = round(rows, 4);
      // A[m, o] = dout[n0 + m0 + m, o], four rows interleaved per tile; rows past the end are 0
      for (let m = 0; m < Mp; m++) {
        const dst = aOff + (m >> 2) * O * 4 + (m & 3);
        if (m < rows) {
          const src = (n0 + m0 + m) * O;
          for (let o = 0; o < O; o++) mem[dst + 4 * o] = dout[src + o]!;
        } else for (let o = 0; o < O; o++) mem[dst + 4 * o] = 0;
      }
      for (let i0 = 0; i0 < I; i0 += Nc) {
        const cols = Math.min(Nc, I - i0), Np = round(cols, 8);
        mem.fill(0, 0, Mp * Np);
        if (Np !== cols) mem.fill(0, bOff, bOff + Kc * Np); // padding columns (the row copies leave them 0)
        for (let k0 = 0; k0 < O; k0 += Kc) {
          const kc = Math.min(Kc, O - k0);
          if (cols === I && Np === I) mem.set(w.subarray(k0 * I, (k0 + kc) * I), bOff);
          else if (cols >= 64) for (let k = 0; k < kc; k++) mem.set(w.subarray((k0 + k) * I + i0, (k0 + k) * I + i0 + cols), bOff + k * Np);
          else for (let k = 0; k < kc; k++) for (let j = 0, src = (k0 + k) * I + i0, dst = bOff + k * Np; j < cols; j++) mem[dst + j] = w[src + j]!; // thin (LoRA): a loop beats many tiny copies
          this.mmnn(0, (aOff + k0 * 4) * 4, bOff * 4, Mp, Np, kc, O * 16, Np * 4, Np * 4);
        }
        for (let m = 0; m < rows; m++) {
          const r = (n0 + m0 + m) * I + i0, c = m * Np;
          for (let i = 0; i < cols; i++) dx[r + i] += scale * mem[c + i]!;
        }
      }
    }
  }

  /** out[size] = silu(gate)·up (same contract and float64 formula as kernels.swigluForwardJs). */
  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    const E = ELEMENTWISE_CHUNK;
    const mem = this.reserve(3 * E * 4);
    for (let i0 = 0; i0 < size; i0 += E) {
      const len = Math.min(E, size - i0), padded = round(len, 2 * EXP_UNROLL);
      mem.set(gate.subarray(i0, i0 + len), 0);
      mem.set(up.subarray(i0, i0 + len), E);
      mem.fill(0, len, padded);
      mem.fill(0, E + len, E + padded);
      this.swf(2 * E * 4, 0, E * 4, padded);
      out.set(mem.subarray(2 * E, 2 * E + len), i0);
    }
  }

  /** dgate += dout·up·σ(g)(1 + g(1 − σ(g))); dup += dout·silu(g) (as kernels.swigluBackwardJs). */
  swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, size: number): void {
    const E = ELEMENTWISE_CHUNK;
    const mem = this.reserve(5 * E * 4);
    for (let i0 = 0; i0 < size; i0 += E) {
      const len = Math.min(E, size - i0), padded = round(len, 2 * EXP_UNROLL);
      const arrays = [dgate, dup, dout, gate, up];
      arrays.forEach((a, j) => {
        mem.set(a.subarray(i0, i0 + len), j * E);
        mem.fill(0, j * E + len, j * E + padded);
      });
      this.swb(0, E * 4, 2 * E * 4, 3 * E * 4, 4 * E * 4, padded);
      dgate.set(mem.subarray(0, len), i0);
      dup.set(mem.subarray(E, E + len), i0);
    }
  }

  /**
   * exp(row[j]·scale − shift) for the V values of row (float64 products, as JS computes them) into
   * wasm memory (float64, returned as a view, valid until the next call), and their sum in order
   * of j. scale must be positive (the padding is −∞).
   */
  expRow(row: Float32Array, V: number, scale: number, shift: number): { e: Float64Array; sum: number } {
    const Vp = round(V, 2 * EXP_UNROLL);
    const mem = this.reserve(Vp * 4 + Vp * 8);
    mem.set(row.subarray(0, V), 0);
    mem.fill(-Infinity, V, Vp); // exp(−∞) = 0 adds nothing
    const sum = this.expsum(Vp * 4, 0, Vp, scale, shift);
    return { e: new Float64Array(this.memory.buffer, Vp * 4, V), sum };
  }

  /** Same contract as kernels.crossEntropyForward, with the exponentials on expsum. */
  crossEntropyForward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number, n0 = 0, n1 = N): void {
    for (let n = n0; n < n1; n++) {
      const t = targets[n]!;
      if (t < 0) { losses[n] = 0; continue; }
      if (t >= V) throw new RangeError(`target ${t} outside the vocabulary [0, ${V})`);
      const r = n * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[r + j]! > max) max = logits[r + j]!;
      const { sum } = this.expRow(logits.subarray(r, r + V), V, 1, max);
      losses[n] = Math.log(sum) + max - logits[r + t]!;
    }
  }

  /** Same contract as kernels.crossEntropyBackward, with the exponentials on expsum. */
  crossEntropyBackward(dlogits: Float32Array, dlosses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number, n0 = 0, n1 = N): void {
    for (let n = n0; n < n1; n++) {
      const t = targets[n]!;
      if (t < 0) continue;
      const r = n * V;
      const g = dlosses[n]!;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[r + j]! > max) max = logits[r + j]!;
      const { e, sum } = this.expRow(logits.subarray(r, r + V), V, 1, max);
      const inv = 1 / sum;
      for (let j = 0; j < V; j++) dlogits[r + j] += g * e[j]! * inv;
      dlogits[r + t] -= g;
    }
  }
}

/**
 * This thread's instance for the kernels (ops.ts, and kernels.ts's main-thread SwiGLU), or null
 * when WebAssembly SIMD is unavailable or FLOCK_CPU_KERNELS=js asks for the plain-JS kernels. The
 * choice is per process, never per thread or range, so every output element always comes from
 * the same code.
 */
export const threadKernels: WasmMatmul | null = process.env['FLOCK_CPU_KERNELS'] === 'js' ? null : WasmMatmul.create();
