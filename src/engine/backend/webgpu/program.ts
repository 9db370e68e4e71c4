/**
 * A Program is one compute kernel (after tfjs-backend-webgpu): its WGSL body, the buffers and
 * uniforms it reads, its workgroup size and a cache key. `makeShader` is the one place that turns
 * a Program into a complete WGSL module — storage bindings in the Program's order, then one
 * uniform struct `u` — so a kernel author writes only the body.
 *
 * In the body these names are in scope: `gid`, `lid`, `wid`, `nwg` (vec3u: global, local and
 * workgroup ids, number of workgroups), `lindex` (u32, local invocation index), `u` (uniforms) and
 * every binding by name.
 */

export type ScalarType = 'f32' | 'i32' | 'u32' | 'f16';

export interface ProgramBinding {
  name: string;
  type: ScalarType;
  /** 'read' for inputs, 'read_write' for outputs. */
  access: 'read' | 'read_write';
}

export interface ProgramUniform {
  name: string;
  type: 'f32' | 'i32' | 'u32';
}

export interface Program {
  /** Kernel name; labels its shader module and pipeline. */
  name: string;
  /** Everything that changes the WGSL (name + variant choices). Pipelines are cached by it. */
  key: string;
  bindings: ProgramBinding[];
  uniforms: ProgramUniform[];
  workgroupSize: readonly [number, number, number];
  /** WGSL extensions the kernel needs (`f16`, `subgroups`, …), besides `f16` for f16 bindings. */
  enables?: string[];
  /** Global diagnostic directives, e.g. `off, subgroup_matrix_uniformity`. */
  diagnostics?: string[];
  /** Extra entry-point parameters (builtins), e.g. `@builtin(subgroup_id) sid: u32`. */
  entryParams?: string[];
  /** Module-scope WGSL: workgroup arrays, constants, helper functions. */
  prelude?: string;
  /** The entry point's body. */
  body: string;
}

/** Generates the complete WGSL module for a program. */
export function makeShader(p: Program): string {
  const lines: string[] = [];
  const enables = new Set(p.enables ?? []);
  if (p.bindings.some((b) => b.type === 'f16')) enables.add('f16');
  for (const e of enables) lines.push(`enable ${e};`);
  for (const d of p.diagnostics ?? []) lines.push(`diagnostic(${d});`);
  p.bindings.forEach((b, i) => {
    lines.push(`@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`);
  });
  if (p.uniforms.length > 0) {
    lines.push(`struct Uniforms {\n${p.uniforms.map((u) => `  ${u.name}: ${u.type},`).join('\n')}\n};`);
    lines.push(`@group(0) @binding(${p.bindings.length}) var<uniform> u: Uniforms;`);
  }
  if (p.prelude) lines.push(p.prelude.trim());
  const [x, y, z] = p.workgroupSize;
  lines.push(
    `@compute @workgroup_size(${x}, ${y}, ${z})`,
    'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,',
    '        @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,',
    `        @builtin(local_invocation_index) lindex: u32${(p.entryParams ?? []).map((e) => `, ${e}`).join('')}) {`,
    p.body.replace(/^\n+|\s+$/g, ''),
    '}',
  );
  return lines.join('\n') + '\n';
}

/** Packs uniform values (in the Program's order) into the bytes of its uniform struct. */
export function packUniforms(p: Program, values: readonly number[], into: DataView, offset: number): void {
  if (values.length !== p.uniforms.length) {
    throw new Error(`${p.name}: expected ${p.uniforms.length} uniforms, got ${values.length}`);
  }
  p.uniforms.forEach((u, i) => {
    const v = values[i]!;
    const at = offset + 4 * i;
    if (u.type === 'f32') into.setFloat32(at, v, true);
    else if (u.type === 'i32') into.setInt32(at, v, true);
    else into.setUint32(at, v >>> 0, true);
  });
}

/** Bytes of a program's uniform struct (scalars only; WGSL rounds uniform structs up to 16). */
export function uniformBytes(p: Program): number {
  return Math.ceil((4 * p.uniforms.length) / 16) * 16;
}

/** Whether FLOCK_WEBGPU_PRINT_WGSL asks for the generated WGSL of every new pipeline on stderr. */
export function printWgslRequested(): boolean {
  const v = process.env['FLOCK_WEBGPU_PRINT_WGSL'];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
