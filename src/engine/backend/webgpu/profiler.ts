/**
 * Per-kernel GPU time from timestamp queries (FLOCK_WEBGPU_PROFILE=1, adapters with
 * `timestamp-query`). Each profiled dispatch runs in its own compute pass whose beginning and end
 * are timestamped; at each submit the timestamps are resolved and read back asynchronously and
 * summed by kernel key. Profiling serialises passes, so it slows the run a little: use it to find
 * which kernel to work on, not to measure throughput.
 */

const CAPACITY = 2048; // dispatches per submit (two timestamps each)

export interface KernelTime {
  key: string;
  calls: number;
  /** Total GPU time, milliseconds. */
  ms: number;
}

/** Whether FLOCK_WEBGPU_PROFILE asks for per-kernel timings. */
export function profileRequested(): boolean {
  const v = process.env['FLOCK_WEBGPU_PROFILE'];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

export class GpuProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private keys: string[] = [];
  private readonly totals = new Map<string, { calls: number; ns: bigint }>();
  private pending: Promise<void>[] = [];

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ label: 'flock.profile', type: 'timestamp', count: 2 * CAPACITY });
    this.resolve = device.createBuffer({ label: 'flock.profile.resolve', size: 16 * CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** True when this submit has no room for another profiled dispatch. */
  get full(): boolean {
    return this.keys.length >= CAPACITY;
  }

  /** Timestamp writes for the pass of the next dispatch of kernel `key`. */
  next(key: string): GPUComputePassTimestampWrites {
    const i = this.keys.length;
    this.keys.push(key);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Encodes the resolve of this submit's timestamps; `afterSubmit` reads them back. */
  encode(encoder: GPUCommandEncoder): (() => void) | null {
    const n = this.keys.length;
    if (n === 0) return null;
    const keys = this.keys;
    this.keys = [];
    const readback = this.device.createBuffer({ label: 'flock.profile.readback', size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, readback, 0, 16 * n);
    return () => {
      this.pending.push(readback.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigUint64Array(readback.getMappedRange());
        keys.forEach((key, i) => {
          const dt = t[2 * i + 1]! > t[2 * i]! ? t[2 * i + 1]! - t[2 * i]! : 0n;
          const e = this.totals.get(key) ?? { calls: 0, ns: 0n };
          e.calls++;
          e.ns += dt;
          this.totals.set(key, e);
        });
        readback.unmap();
        readback.destroy();
      }).catch(() => undefined)); // a destroyed device drops its last timings
    };
  }

  /** Kernel times so far, slowest first (waits for outstanding readbacks). */
  async report(): Promise<KernelTime[]> {
    await Promise.all(this.pending);
    this.pending = [];
    return [...this.totals.entries()]
      .map(([key, e]) => ({ key, calls: e.calls, ms: Number(e.ns) / 1e6 }))
      .sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
  }
}
