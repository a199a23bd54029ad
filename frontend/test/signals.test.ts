import { describe, expect, it } from "vitest";
import { adsAsymmetry, adsBandWeights, AdsSignal } from "../src/experiment-ads";
import { blendComposite, ExperimentEngine } from "../src/experiment-engine";
import { PfpSignal } from "../src/experiment-pfp";
import { svacRaw, SvacSignal } from "../src/experiment-svac";

function grid(k: number[], fill: Partial<Record<"v_add" | "v_pull" | "v_fill" | "vacuum_variant", number[]>>) {
  const zeros = k.map(() => 0);
  return {
    k,
    v_add: fill.v_add ?? zeros,
    v_pull: fill.v_pull ?? zeros,
    v_fill: fill.v_fill ?? zeros,
    vacuum_variant: fill.vacuum_variant ?? zeros,
  };
}

describe("ADS", () => {
  it("weights bands by 1/sqrt(width)", () => {
    const raw = [1 / Math.sqrt(3), 1 / Math.sqrt(8), 1 / Math.sqrt(12)];
    const total = raw[0] + raw[1] + raw[2];
    expect(adsBandWeights()).toEqual(raw.map((w) => w / total));
  });
  it("measures bid-add minus ask-add plus ask-pull minus bid-pull", () => {
    const k = [-2, -1, 0, 1, 2];
    const w = [1, 0, 0];
    // inner band only: bid add mean 3, ask add mean 1, ask pull mean 2, bid pull mean 0.5
    const g = grid(k, { v_add: [2, 4, 9, 1, 1], v_pull: [1, 0, 9, 2, 2] });
    expect(adsAsymmetry(g, w)).toBe(3 - 1 + 2 - 0.5);
  });
  it("is 0 and cold until 20 s of bins, then warm", () => {
    const ads = new AdsSignal(1000); // 20 bins of warmup
    const k = [-1, 0, 1];
    for (let t = 0; t < 19; t++) {
      const out = ads.update(grid(k, { v_add: [t * t, 0, 0] }));
      expect(out.warm).toBe(false);
      expect(out.value).toBe(0);
    }
    const out = ads.update(grid(k, { v_add: [400, 0, 0] }));
    expect(out.warm).toBe(true);
    // slope windows 1 s, 2.5 s, 5 s -> 2, 3, 5 bins of a quadratic: not all equal -> nonzero z
    expect(out.value).not.toBe(0);
    expect(Math.abs(out.value)).toBeLessThanOrEqual(1);
  });
});

describe("PFP", () => {
  it("is cold until the lag exists, then uses the lagged outer mean", () => {
    const pfp = new PfpSignal(250); // lag = ceil(500/250) = 2 bins
    const k = [-6, -1, 1, 6];
    // bid add inner = 1, bid outer = 2, 4, 8 over the bins; ask side all zero
    const frames = [2, 4, 8].map((o) => grid(k, { v_add: [o, 1, 0, 0] }));
    expect(pfp.update(frames[0]).warm).toBe(false);
    expect(pfp.update(frames[1]).value).toBe(0);
    const out = pfp.update(frames[2]);
    expect(out.warm).toBe(true);
    // lead_bid_add = (1*2) / (1*8 + 1e-12); other leads 0
    expect(out.leads[0]).toBe(2 / (8 + 1e-12));
    expect(out.value).toBe(0.6 * (2 / (8 + 1e-12)));
  });
  it("adds v_fill to the add channel", () => {
    const pfp = new PfpSignal(500); // lag 1
    const k = [-6, -1];
    pfp.update(grid(k, { v_add: [1, 1], v_fill: [1, 0] }));
    const out = pfp.update(grid(k, { v_add: [3, 1], v_fill: [1, 0] }));
    expect(out.leads[0]).toBe((1 * 2) / (1 * 4 + 1e-12));
  });
});

describe("SVac", () => {
  it("weights vacuum by 1/|k|, above minus below", () => {
    const g = grid([-2, -1, 0, 1, 2], { vacuum_variant: [4, 1, 50, 3, 2] });
    expect(svacRaw(g)).toBe(3 + 1 - (1 + 2));
  });
  it("normalises by an EMA of |raw| seeded by the first value, warm at once", () => {
    const s = new SvacSignal();
    const k = [-1, 1];
    const a = s.update(grid(k, { vacuum_variant: [0, 2] }));
    expect(a).toEqual({ value: 1, warm: true, raw: 2 });
    const b = s.update(grid(k, { vacuum_variant: [4, 0] }));
    expect(b.value).toBe(-4 / (0.05 * 4 + 0.95 * 2));
    const zero = new SvacSignal().update(grid(k, {}));
    expect(zero.value).toBe(0);
  });
});

describe("composite", () => {
  it("renormalises weights over warm signals", () => {
    expect(
      blendComposite([
        { value: 1, warm: false, weight: 0.4 },
        { value: 0.5, warm: true, weight: 0.3 },
        { value: -1, warm: true, weight: 0.3 },
      ]),
    ).toEqual({ composite: (0.3 * 0.5 - 0.3) / 0.6, warmupFraction: 2 / 3 });
    expect(blendComposite([{ value: 1, warm: false, weight: 1 }])).toEqual({
      composite: 0,
      warmupFraction: 0,
    });
  });
  it("starts with SVac alone and resets cleanly", () => {
    const e = new ExperimentEngine(100);
    const g = grid([-1, 1], { vacuum_variant: [0, 3] });
    const first = e.update(g);
    expect(first.composite).toBe(1);
    expect(first.warmupFraction).toBe(1 / 3);
    e.update(g);
    e.reset();
    expect(e.update(g).composite).toBe(1);
  });
});
