import type { Kernel } from '../../backend/backend.js';
import type { Conv2dParams } from '../../tensor/primitives.js';
import { type Arr, alloc } from './util.js';

interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  cg: number;
  og: number;
}

function geometry(xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], p: Conv2dParams): Geometry {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [o, cg, kh, kw] = wShape as [number, number, number, number];
  return { n, c, h, w, o, kh, kw, oh: yShape[2]!, ow: yShape[3]!, cg, og: o / p.groups };
}

/**
 * Visits every (output pixel, filter tap) pair that touches a valid input pixel, calling
 * f(xIndex, wIndex, yIndex). The three conv primitives are the same loop with different updates.
 */
function forEachTap(g: Geometry, p: Conv2dParams, f: (xi: number, wi: number, yi: number) => void): void {
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  for (let b = 0; b < g.n; b++) {
    for (let oc = 0; oc < g.o; oc++) {
      const grp = Math.floor(oc / g.og);
      for (let ci = 0; ci < g.cg; ci++) {
        const c = grp * g.cg + ci;
        const xBase = (b * g.c + c) * g.h * g.w;
        const wBase = (oc * g.cg + ci) * g.kh * g.kw;
        const yBase = (b * g.o + oc) * g.oh * g.ow;
        for (let i = 0; i < g.kh; i++) {
          for (let j = 0; j < g.kw; j++) {
            const wi = wBase + i * g.kw + j;
            for (let y = 0; y < g.oh; y++) {
              const ih = y * sh - ph + i * dh;
              if (ih < 0 || ih >= g.h) continue;
              for (let x = 0; x < g.ow; x++) {
                const iw = x * sw - pw + j * dw;
                if (iw < 0 || iw >= g.w) continue;
                f(xBase + ih * g.w + iw, wi, yBase + y * g.ow + x);
              }
            }
          }
        }
      }
    }
  }
}

export const conv2d: Kernel<'conv2d'> = (inputs, p, out) => {
  const [x, w] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const xd = x.data as Arr;
  const wd = w.data as Arr;
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  forEachTap(geometry(x.shape, w.shape, out.shape, p), p, (xi, wi, yi) => {
    acc[yi]! += xd[xi]! * wd[wi]!;
  });
  const y = alloc(out.dtype, out.shape);
  y.set(acc);
  return y;
};

export const conv2dBackwardInput: Kernel<'conv2dBackwardInput'> = (inputs, p, out) => {
  const [dy, w] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const dyd = dy.data as Arr;
  const wd = w.data as Arr;
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  forEachTap(geometry(p.inputShape, w.shape, dy.shape, p), p, (xi, wi, yi) => {
    acc[xi]! += dyd[yi]! * wd[wi]!;
  });
  const dx = alloc(out.dtype, out.shape);
  dx.set(acc);
  return dx;
};

export const conv2dBackwardFilter: Kernel<'conv2dBackwardFilter'> = (inputs, p, out) => {
  const [x, dy] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const xd = x.data as Arr;
  const dyd = dy.data as Arr;
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  forEachTap(geometry(x.shape, p.filterShape, dy.shape, p), p, (xi, wi, yi) => {
    acc[wi]! += xd[xi]! * dyd[yi]!;
  });
  const dw = alloc(out.dtype, out.shape);
  dw.set(acc);
  return dw;
};
