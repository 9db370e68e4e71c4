/**
 * A WebAssembly SIMD matrix product, assembled here byte by byte (no toolchain needed):
 *
 *   mm(c, a, b, M, N, K):  C[M,N] = A[M,K] · B[N,K]ᵀ      (float32, row-major, byte addresses)
 *
 * M must be a multiple of 4, N of 2 and K of 4 (callers pad with zeros). The kernel walks 4×2
 * output tiles; each of the eight sums runs over k in four f32x4 lanes, and the lanes are added
 * ((l0 + l1) + l2) + l3 at the end — one fixed order per output element, whatever the tile or the
 * thread split, so results are deterministic. `WasmMatmul` owns one instance (its own memory) and
 * copies operands in and results out; each thread has its own.
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

const I32 = 0x7f, V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const ADD = 0x6a, MUL = 0x6c, GE_U = 0x4f;
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

/** The module's bytes. */
export function matmulModuleBytes(): Uint8Array {
  const type = vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])]]);
  const funcs = vec([[0]]);
  const memory = vec([[0x00, 1]]); // min 1 page, growable
  const exports = vec([[...str('mm'), 0x00, 0], [...str('memory'), 0x02, 0]]);
  const locals = vec([[...uleb(12), I32], [...uleb(14), V128]]);
  const fn = [...locals, ...body()];
  const code = vec([[...uleb(fn.length), ...fn]]);
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

/** One instance of the SIMD matmul with its own memory; not thread-safe (one per thread). */
export class WasmMatmul {
  private readonly mm: (c: number, a: number, b: number, M: number, N: number, K: number) => void;
  private readonly memory: WasmMemory;

  private constructor(instance: WasmInstance) {
    this.mm = instance.exports['mm'] as WasmMatmul['mm'];
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
   * kernels.linearBackwardInput), with Wᵀ copied in blocks of its rows (input features).
   */
  linearBackwardInput(dx: Float32Array, dout: Float32Array, w: Float32Array, I: number, O: number, scale: number, n0: number, n1: number): void {
    const Mr = n1 - n0;
    const Kp = round(O, 4), Mp = round(Mr, 4);
    const block = Math.max(2, Math.min(round(I, 2), Math.floor(BLOCK_FLOATS / Kp / 2) * 2));
    const { mem, aOff, bOff } = this.layout(Mp, block, Kp);
    for (let i = 0; i < Mr; i++) mem.set(dout.subarray((n0 + i) * O, (n0 + i + 1) * O), aOff + i * Kp);
    for (let i0 = 0; i0 < I; i0 += block) {
      const cols = Math.min(block, I - i0), Np = round(cols, 2);
      if (Kp !== O || Np !== cols) mem.fill(0, bOff, bOff + Np * Kp);
      // B = (columns i0…i0+cols of w)ᵀ: B[j, o] = w[o, i0 + j]
      for (let o = 0; o < O; o++) {
        const src = o * I + i0;
        for (let j = 0; j < cols; j++) mem[bOff + j * Kp + o] = w[src + j]!;
      }
      this.mm(0, aOff * 4, bOff * 4, Mp, Np, Kp);
      for (let i = 0; i < Mr; i++) {
        const r = (n0 + i) * I + i0, c = i * Np;
        for (let j = 0; j < cols; j++) dx[r + j] += scale * mem[c + j]!;
      }
    }
  }
}

