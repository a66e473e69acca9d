/**
 * Fused optimiser updates: one dispatch per parameter instead of one per elementwise op.
 *
 * `adamProgram` does what `adam.step` in src/optim/functional.ts does for one parameter with ops
 * (about 13 dispatches, and as many scalar uploads), in the same order of float32 operations:
 *   (weight decay)  g = g + p * wd                       or  p = p - (p * lr) * wd  (decoupled)
 *   m' = m * b1 + g * (1 - b1)
 *   v' = v * b2 + (g * g) * (1 - b2)
 *   (amsgrad)       vmax' = max(vmax, v')  (NaN propagates), used below instead of v'
 *   torch: p' = p - (m' / (sqrt(v') / sqrt(bc2) + eps)) * (lr / bc1)
 *   tf:    p' = p - (m' / (sqrt(v') + eps)) * (lr sqrt(bc2) / bc1)
 * Every constant is a float32 uniform rounded from the same float64 value the op path uploads.
 *
 * Bindings: uniforms, inputs p, g, m, v (, vmax), outputs p', m', v' (, vmax'). vec4 loads and
 * stores when the element count is a multiple of 4.
 */

import type { AdamKernelParams } from '../../tensor/backend.js';
import { checkIndexable, launch1d, main1d, UniformStruct, workgroupSize } from './common.js';
import { mathLib } from './math.js';
import type { Program, ProgramContext } from './program.js';

/** Storage buffers the fused Adam program binds (inputs + outputs). */
export const adamBindings = (amsgrad: boolean): { inputs: number; outputs: number } =>
  amsgrad ? { inputs: 5, outputs: 4 } : { inputs: 4, outputs: 3 };

export function adamProgram(ctx: ProgramContext, n: number, h: AdamKernelParams): Program {
  checkIndexable('adam', n);
  const v4 = n % 4 === 0 && n >= 4;
  const threads = v4 ? n / 4 : n;
  const T = v4 ? 'vec4<f32>' : 'f32';
  const wd = h.weightDecay === 0 ? 'none' : h.decoupled ? 'decoupled' : 'l2';
  const wg = workgroupSize(ctx);
  const u = new UniformStruct()
    .u32('n', threads)
    .f32('b1', h.beta1)
    .f32('omb1', 1 - h.beta1)
    .f32('b2', h.beta2)
    .f32('omb2', 1 - h.beta2)
    .f32('eps', h.eps)
    .f32('sqrt_bc2', Math.sqrt(h.bc2))
    .f32('step', h.epsMode === 'torch' ? h.lr / h.bc1 : (h.lr * Math.sqrt(h.bc2)) / h.bc1)
    .f32('lr', h.lr)
    .f32('wd', h.weightDecay);
  const names = h.amsgrad ? ['p', 'g', 'm', 'v', 'vmax'] : ['p', 'g', 'm', 'v'];
  const outs = h.amsgrad ? ['p_out', 'm_out', 'v_out', 'vmax_out'] : ['p_out', 'm_out', 'v_out'];
  let decl = `${u.struct()}@group(0) @binding(0) var<uniform> u : U;\n`;
  names.forEach((name, i) => {
    decl += `@group(0) @binding(${i + 1}) var<storage, read> ${name}_in : array<${T}>;\n`;
  });
  outs.forEach((name, i) => {
    decl += `@group(0) @binding(${names.length + 1 + i}) var<storage, read_write> ${name} : array<${T}>;\n`;
  });
  let lib = '';
  if (h.amsgrad) {
    lib = `${mathLib(['consts'])}
fn f_max(a : f32, b : f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}
`;
    if (v4) {
      lib +=
        'fn vmax4(a : vec4<f32>, b : vec4<f32>) -> vec4<f32> {\n' +
        '  return vec4<f32>(f_max(a.x, b.x), f_max(a.y, b.y), f_max(a.z, b.z), f_max(a.w, b.w));\n}\n';
    }
  }
  let body = '  if (gid >= u.n) { return; }\n';
  body += `  var p = p_in[gid];\n  var g = g_in[gid];\n`;
  if (wd === 'l2') body += '  g = g + p * u.wd;\n';
  if (wd === 'decoupled') body += '  p = p - (p * u.lr) * u.wd;\n';
  body += '  let m = m_in[gid] * u.b1 + g * u.omb1;\n';
  body += '  let v = v_in[gid] * u.b2 + (g * g) * u.omb2;\n';
  let vv = 'v';
  if (h.amsgrad) {
    body += `  let vm = ${v4 ? 'vmax4' : 'f_max'}(vmax_in[gid], v);\n  vmax_out[gid] = vm;\n`;
    vv = 'vm';
  }
  const denom = h.epsMode === 'torch' ? `sqrt(${vv}) / u.sqrt_bc2 + u.eps` : `sqrt(${vv}) + u.eps`;
  body += `  let ratio = m / (${denom});\n`;
  body += '  p_out[gid] = p - ratio * u.step;\n  m_out[gid] = m;\n  v_out[gid] = v;\n';
  return {
    key: `adam|${v4 ? 'v4' : 's'}|wd:${wd}|ams${h.amsgrad ? 1 : 0}|${h.epsMode}|wg${wg}`,
    wgsl: `${decl}${lib}\n${main1d(wg)}${body}}\n`,
    workgroups: threads === 0 ? [0, 1, 1] : launch1d(ctx, threads, wg),
    uniforms: u.bytes(),
  };
}
