import { describe, expect, it } from "vitest";
import {
  bandWeight,
  bandXRange,
  computeBands,
  horizonConfidence,
  MAX_OFFSET_ROWS,
  splitPlot,
  trailValueAt,
} from "../src/band-geometry";
import { cellRgb, DepthScale, depthIntensity, shapeIntensity } from "../src/colour-scale";
import { computeEdgeMetrics, edgeState } from "../src/edge-metrics";

describe("colour scale", () => {
  it("decays the running max per bin and keeps new peaks", () => {
    const s = new DepthScale(0.5);
    expect(s.observe(100)).toBe(100);
    expect(s.observe(10)).toBe(50);
    expect(s.observe(60)).toBe(60);
    expect(s.observe(0)).toBe(30);
  });
  it("log-scales depth against the running max", () => {
    expect(depthIntensity(Math.E - 1, Math.E ** 2 - 1)).toBeCloseTo(0.5, 15);
    expect(depthIntensity(500, 100)).toBe(1);
    expect(depthIntensity(5, 0)).toBe(0);
    expect(depthIntensity(-3, 10)).toBe(0);
  });
  it("applies the cut-off and contrast", () => {
    expect(shapeIntensity(0.05, { contrast: 1, cutoff: 0.05 })).toBe(0);
    expect(shapeIntensity(0.625, { contrast: 1, cutoff: 0.25 })).toBe(0.5);
    expect(shapeIntensity(0.25, { contrast: 2, cutoff: 0 })).toBe(0.5);
  });
  it("maps state and score to exact colours", () => {
    const lin = { contrast: 1, cutoff: 0 };
    // full pressure: background -> PRESSURE_RGB
    expect(cellRgb(1, 1, 1, lin)).toEqual([40, 200, 255]);
    // vacuum, score 0, intensity 1: mix 0.35 -> 8 + 247*0.35, 10 + 80*0.35, 16 + 24*0.35
    expect(cellRgb(-1, 0, 1, lin)).toEqual([Math.round(8 + 247 * 0.35), 38, Math.round(16 + 24 * 0.35)]);
    // neutral half intensity: mix 0.25 -> 8 + 132*.25 = 41, 10 + 130*.25 = 42.5 -> 43, 16 + 134*.25 = 49.5 -> 50
    expect(cellRgb(0, 0.9, 0.5, lin)).toEqual([41, 43, 50]);
    expect(cellRgb(1, 1, 0, lin)).toEqual([8, 10, 16]);
    expect(cellRgb(1, Number.NaN, 1, lin)).toEqual(cellRgb(1, 0, 1, lin));
  });
});

describe("band geometry", () => {
  it("skews above spot when bullish, below when bearish, fading with horizon", () => {
    const bull = computeBands(0.5, 1, [100, 200, 300, 400]);
    expect(bull.map((b) => b.centreOffsetRows)).toEqual([1, 2, 3, 4].map((i) => 0.5 * MAX_OFFSET_ROWS * (i / 4)));
    expect(bull.map((b) => b.confidence)).toEqual([1, 0.75, 0.5, 0.25]);
    expect(bull.map((b) => b.brightness)).toEqual([0.5, 0.375, 0.25, 0.125]);
    const bear = computeBands(-3, 2 / 3, [100, 200]);
    expect(bear[1].centreOffsetRows).toBe(-MAX_OFFSET_ROWS);
    expect(bear[0].brightness).toBe(2 / 3);
    expect(computeBands(Number.NaN, 1, [100])[0].brightness).toBe(0);
  });
  it("uses a Gaussian of sigma 2.5 rows", () => {
    expect(bandWeight(0)).toBe(1);
    expect(bandWeight(2.5)).toBe(Math.exp(-0.5));
    expect(bandWeight(-5)).toBe(Math.exp(-2));
  });
  it("reserves the right 15% for bands, split evenly", () => {
    expect(splitPlot(1000)).toEqual({ historyWidth: 850, zoneWidth: 150 });
    expect(bandXRange(1, 4, 850, 150)).toEqual([887.5, 925]);
    expect(horizonConfidence(3, 4)).toBe(0.25);
  });
  it("aligns trails with fractional-bin interpolation", () => {
    const hist = [10, 20, 40];
    const at = (c: number) => hist[c];
    expect(trailValueAt(at, 2, 1)).toBe(20);
    expect(trailValueAt(at, 2, 0.25)).toBe(35);
    expect(trailValueAt(at, 2, 1.5)).toBe(15);
    expect(trailValueAt(at, 0, 1)).toBeUndefined();
    expect(trailValueAt(at, 2.5, 0.5)).toBe(40);
  });
});

describe("edge metrics", () => {
  const k = [-2, -1, 0, 1, 2];
  it("computes edges, conviction, tilt and marker", () => {
    const m = computeEdgeMetrics({
      k,
      pressure_variant: [4, 4, 100, 1, 1],
      vacuum_variant: [0.5, 0.5, 100, 3, 3],
      rest_depth: [30, 10, 0, 5, 5],
    });
    expect([m.pAbove, m.vAbove, m.pBelow, m.vBelow]).toEqual([2, 6, 8, 1]);
    expect(m.bullEdge).toBe(14);
    expect(m.bearEdge).toBe(3);
    expect(m.netEdge).toBe(11);
    expect(m.conviction).toBe(11 / 17);
    expect(m.depthTilt).toBe(30 / 50);
    expect(m.state).toBe("UP BIAS");
    expect(m.longGuidance).toBe("HOLD");
    expect(m.shortGuidance).toBe("EXIT");
    expect(m.flags).toEqual(["RESISTANCE THINNING", "UP ADVANTAGE"]);
    expect(m.marker).toBe(Math.tanh(11 / 200) * 0.5 + 0.5);
  });
  it("distinguishes bias, lean and chop", () => {
    // net 6 but not aligned (V_above <= P_above) -> lean
    expect(edgeState(6, 5, 5, 6, 0)).toBe("UP LEAN");
    expect(edgeState(-6, 5, 1, 1, 2)).toBe("DOWN BIAS");
    expect(edgeState(-3, 0, 0, 0, 0)).toBe("DOWN LEAN");
    expect(edgeState(2, 0, 0, 0, 0)).toBe("CHOP");
  });
  it("flags failing support", () => {
    const m = computeEdgeMetrics({ k: [-1, 1], pressure_variant: [2, 0], vacuum_variant: [3, 0], rest_depth: [0, 0] });
    expect(m.flags).toEqual(["SUPPORT FAILING", "BALANCED"]);
    expect(m.state).toBe("CHOP");
    expect(m.longGuidance).toBe("TIGHTEN");
    expect(m.depthTilt).toBe(0);
  });
});
