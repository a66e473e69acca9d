import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  DCGANGenerator,
  decodeSafetensors,
  dispose,
  encodeSafetensors,
  Generator,
  Linear,
  loadCheckpoint,
  loadCheckpointBytes,
  mlp,
  type ParamTree,
  RMSprop,
  readSafetensors,
  type Sequential,
  saveCheckpoint,
  type Tensor,
  TesseraError,
  tidy,
  valueAndGrad,
  writeSafetensors,
} from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const enc = new TextEncoder();

/** Assembles a safetensors file by hand: u64 LE header length, header, data. */
function handFile(header: string, data: number[]): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  const n = h.length;
  for (let i = 0; i < 8; i++) out[i] = Math.floor(n / 256 ** i) % 256;
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors format', () => {
  it('reads a file assembled byte by byte (as PyTorch writes it)', () => {
    const header = JSON.stringify({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I64', shape: [1, 1], data_offsets: [8, 16] },
      c: { dtype: 'BOOL', shape: [2], data_offsets: [16, 18] },
      d: { dtype: 'F16', shape: [2], data_offsets: [18, 22] },
      e: { dtype: 'BF16', shape: [1], data_offsets: [22, 24] },
      f: { dtype: 'F64', shape: [], data_offsets: [24, 32] },
      g: { dtype: 'I32', shape: [1], data_offsets: [32, 36] },
    });
    const data = [
      // a: 1.5 (0x3fc00000), -2 (0xc0000000), little-endian
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
      // b: int64 7
      0x07, 0, 0, 0, 0, 0, 0, 0,
      // c: true, false
      1, 0,
      // d: half 1.0 (0x3c00), -2.5 (0xc100)
      0x00, 0x3c, 0x00, 0xc1,
      // e: bfloat16 3.0 (0x4040)
      0x40, 0x40,
      // f: float64 0.5 (0x3fe0000000000000)
      0, 0, 0, 0, 0, 0, 0xe0, 0x3f,
      // g: int32 -2 (0xfffffffe)
      0xfe, 0xff, 0xff, 0xff,
    ];
    const { tensors, metadata } = decodeSafetensors(handFile(header, data));
    expect(metadata).toEqual({ format: 'pt' });
    const get = (k: string) => {
      const t = tensors.get(k)!;
      return [t.dtype, t.shape, Array.from(t.data)];
    };
    expect(get('a')).toEqual(['float32', [2], [1.5, -2]]);
    expect(get('b')).toEqual(['int32', [1, 1], [7]]);
    expect(get('c')).toEqual(['bool', [2], [1, 0]]);
    expect(get('d')).toEqual(['float32', [2], [1, -2.5]]);
    expect(get('e')).toEqual(['float32', [1], [3]]);
    expect(get('f')).toEqual(['float64', [], [0.5]]);
    expect(get('g')).toEqual(['int32', [1], [-2]]);
  });

  it('rejects malformed files with a clear message', () => {
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/shorter than the 8-byte header length/);
    expect(() =>
      decodeSafetensors(handFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Array(8).fill(0))),
    ).toThrow(/'a': data_offsets \[0, 8\] do not hold 3 F32 values \(12 bytes\)/);
    expect(() =>
      decodeSafetensors(handFile('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0))),
    ).toThrow(/unsupported dtype C64/);
    expect(() => decodeSafetensors(handFile('not json', []))).toThrow(/not valid UTF-8 JSON/);
  });

  it('writes the documented layout: u64 header length, JSON header padded to 8 bytes, raw data', () => {
    const bytes = encodeSafetensors(
      [
        ['w', { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
        ['n', { dtype: 'int32', shape: [], data: new Int32Array([-5]) }],
        ['m', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
        ['d', { dtype: 'float64', shape: [1], data: new Float64Array([0.1]) }],
      ],
      { step: '3' },
    );
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const n = Number(dv.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ step: '3' });
    expect(header.w).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header.n).toEqual({ dtype: 'I32', shape: [], data_offsets: [16, 20] });
    expect(header.m).toEqual({ dtype: 'BOOL', shape: [3], data_offsets: [20, 23] });
    expect(header.d).toEqual({ dtype: 'F64', shape: [1], data_offsets: [23, 31] });
    expect(bytes.length).toBe(8 + n + 31);
    const base = 8 + n;
    expect(dv.getFloat32(base + 12, true)).toBe(4);
    expect(dv.getInt32(base + 16, true)).toBe(-5);
    expect(Array.from(bytes.subarray(base + 20, base + 23))).toEqual([1, 0, 1]);
    expect(dv.getFloat64(base + 23, true)).toBe(0.1);
  });

  it('writes files atomically and reads them back', async () => {
    const path = join(dir, 'plain.safetensors');
    await writeSafetensors(path, [['x', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]);
    await writeSafetensors(path, [['y', { dtype: 'float64', shape: [1], data: new Float64Array([3]) }]], { a: 'b' });
    const back = await readSafetensors(path);
    expect([...back.tensors.keys()]).toEqual(['y']);
    expect(back.metadata).toEqual({ a: 'b' });
    // No temporary files are left behind.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await expect(writeSafetensors(join(dir, 'missing-dir', 'x.safetensors'), [])).rejects.toThrow();
  });
});

// ------------------------------------------------------------------ resume

interface Run {
  net: Sequential;
  opt: Adam;
  data: Generator;
  drop: Generator;
}

function makeRun(seed: number): Run {
  const drop = new Generator(seed + 1);
  const net = mlp([3, 16, 16, 1], {
    activation: 'tanh',
    batchNorm: true,
    dropout: 0.2,
    dropoutRng: drop,
    rng: new Generator(seed),
  });
  return {
    net,
    opt: new Adam(net, { lr: 1e-2, betas: [0.5, 0.999], weightDecay: 1e-3 }),
    data: new Generator(seed + 2),
    drop,
  };
}

function train(r: Run, steps: number): void {
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      const x = r.data.normal([16, 3]);
      const y = x.sin().sum(1, { keepdims: true });
      const [, g] = valueAndGrad((p: ParamTree) => r.net.call(p, x).sub(y).square().mean())(r.net.parameters());
      r.opt.step(g);
    });
  }
}

function bytesOf(r: Run): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const add = (k: string, t: Tensor) => {
    const d = t.dataSync();
    out.set(k, new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice());
  };
  for (const [k, t] of r.net.stateDict()) add(k, t);
  const st = r.opt.getState();
  for (const [slot, tree] of Object.entries(st.slots)) {
    for (const [k] of r.net.namedParameters()) add(`${slot}/${k}`, leafAt(tree, k));
  }
  return out;
}

function leafAt(tree: ParamTree, path: string): Tensor {
  let cur: ParamTree | Tensor = tree;
  for (const part of path.split('.')) cur = (cur as ParamTree)[part]!;
  return cur as Tensor;
}

function dropAll(r: Run): void {
  r.opt.dispose();
  r.net.dispose();
}

describe('checkpoints', () => {
  it('a run resumed from a checkpoint continues bit for bit as if never stopped', async () => {
    const a = makeRun(100);
    train(a, 20);

    const b = makeRun(100);
    train(b, 10);
    const path = join(dir, 'resume.safetensors');
    await saveCheckpoint(path, {
      modules: b.net,
      optimizers: { opt: b.opt },
      rngs: { data: b.data, dropout: b.drop },
      metadata: { epoch: '10' },
    });
    dropAll(b);

    // Fresh objects built from other seeds: everything must come from the file.
    const c = makeRun(999);
    const { metadata } = await loadCheckpoint(path, {
      modules: c.net,
      optimizers: { opt: c.opt },
      rngs: { data: c.data, dropout: c.drop },
    });
    expect(metadata).toEqual({ epoch: '10' });
    expect(c.opt.stepCount).toBe(10);
    train(c, 10);

    const ba = bytesOf(a);
    const bc = bytesOf(c);
    expect([...bc.keys()]).toEqual([...ba.keys()]);
    expect(ba.size).toBeGreaterThan(10);
    for (const [k, v] of ba) expect(Buffer.from(bc.get(k)!).equals(Buffer.from(v)), k).toBe(true);
    expect(a.drop.getState()).toEqual(c.drop.getState());
    expect(a.data.getState()).toEqual(c.data.getState());

    // Control: without the load the runs differ.
    const d = makeRun(999);
    train(d, 10);
    expect(Buffer.from(bytesOf(d).get('0.weight')!).equals(Buffer.from(ba.get('0.weight')!))).toBe(false);
    for (const r of [a, c, d]) dropAll(r);
  });

  it('stores state-dict names so the file is a PyTorch state dict', async () => {
    const G = new DCGANGenerator({ imageSize: 32, nz: 4, ngf: 2, nc: 1, rng: new Generator(0) });
    const path = join(dir, 'g.safetensors');
    await saveCheckpoint(path, { modules: G });
    const { tensors } = await readSafetensors(path);
    expect([...tensors.keys()].slice(0, 7)).toEqual([
      'main.0.weight',
      'main.1.weight',
      'main.1.bias',
      'main.1.running_mean',
      'main.1.running_var',
      'main.1.num_batches_tracked',
      'main.3.weight',
    ]);
    expect(tensors.get('main.1.running_var')!.dtype).toBe('float32');
    expect(tensors.get('main.1.num_batches_tracked')!.dtype).toBe('int32');
    expect(Array.from(tensors.get('main.0.weight')!.data)).toEqual(
      Array.from(G.getParameter('main.0.weight').dataSync()),
    );
    G.dispose();
  });

  it('lists every missing and mis-shaped tensor and changes nothing', async () => {
    const small = mlp([2, 4, 1], { rng: new Generator(0) });
    const path = join(dir, 'small.safetensors');
    await saveCheckpoint(path, { modules: small, optimizers: { o: new RMSprop(small, { momentum: 0.9 }) } });
    const big = mlp([2, 5, 1], { rng: new Generator(1) });
    const before = Array.from(big.getParameter('2.bias').dataSync());
    const err = await loadCheckpoint(path, { modules: big }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/'0\.weight' has shape \[4,2\], expected \[5,2\]/);
    expect(msg).toMatch(/'0\.bias' has shape \[4\], expected \[5\]/);
    expect(msg).toMatch(/'2\.weight' has shape \[1,4\], expected \[1,5\]/);
    expect(msg).toMatch(/unexpected 'optimizer\/o\/squareAvg\/0\.weight'/);
    expect(msg).toMatch(/unexpected 'optimizer\/o\/momentumBuffer\/2\.bias'/);
    expect(Array.from(big.getParameter('2.bias').dataSync())).toEqual(before);

    // A file with only some tensors: every missing one is named, optimiser state and generator too.
    const partial = join(dir, 'partial.safetensors');
    await writeSafetensors(partial, [['0.bias', { dtype: 'float32', shape: [4], data: new Float32Array(4) }]]);
    const opt = new Adam(small);
    const err2 = await loadCheckpoint(partial, {
      modules: small,
      optimizers: { adam: opt },
      rngs: { g: new Generator(0) },
    }).catch((e: unknown) => e);
    const m2 = (err2 as Error).message;
    for (const k of ['0.weight', '2.weight', '2.bias', 'optimizer/adam/m/0.weight', 'optimizer/adam/v/2.bias']) {
      expect(m2).toContain(`missing '${k}'`);
    }
    expect(m2).toContain("missing metadata 'optimizer/adam/step'");
    expect(m2).toContain("missing metadata 'generator/g'");
    expect(m2).not.toContain("missing '0.bias'");

    // Non-strict: loads what is there, ignores the rest.
    loadCheckpointBytes(readFileSync(partial), { modules: small }, { strict: false });
    expect(Array.from(small.getParameter('0.bias').dataSync())).toEqual([0, 0, 0, 0]);
    dispose([small, big].flatMap((m) => m.namedParameters().map(([, t]) => t)));
    opt.dispose();
  });

  it('saves named modules, converts float dtypes on load, and rejects reserved metadata keys', async () => {
    const a = new Linear(2, 2, { dtype: 'float64', rng: new Generator(3) });
    const b = new Linear(2, 1, { rng: new Generator(4) });
    const path = join(dir, 'two.safetensors');
    await saveCheckpoint(path, { modules: { enc: a, head: b } });
    const { tensors } = await readSafetensors(path);
    expect([...tensors.keys()]).toEqual(['enc.weight', 'enc.bias', 'head.weight', 'head.bias']);
    expect(tensors.get('enc.weight')!.dtype).toBe('float64');
    const a32 = new Linear(2, 2, { rng: new Generator(9) });
    const b2 = new Linear(2, 1, { rng: new Generator(9) });
    await loadCheckpoint(path, { modules: { enc: a32, head: b2 } });
    expect(a32.weight.dtype).toBe('float32');
    expect(Array.from(a32.weight.dataSync())).toEqual(Array.from(Float32Array.from(a.weight.dataSync())));
    expect(Array.from(b2.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    await expect(saveCheckpoint(path, { modules: a, metadata: { 'generator/x': '1' } })).rejects.toThrow(
      /metadata key 'generator\/x' is reserved/,
    );
    // A corrupt generator state is reported.
    const bytes = encodeSafetensors([], { 'generator/g': '{"key":[1],"draws":0}' });
    writeFileSync(join(dir, 'gen.safetensors'), bytes);
    await expect(loadCheckpoint(join(dir, 'gen.safetensors'), { rngs: { g: new Generator(0) } })).rejects.toThrow(
      /metadata 'generator\/g' is not a generator state/,
    );
    for (const m of [a, b, a32, b2]) m.dispose();
  });
});
