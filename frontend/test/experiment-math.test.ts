import { describe, expect, it } from "vitest";
import {
  Ema,
  msToBins,
  olsSlope,
  robustZ,
  RollingOlsSlope,
  RollingRobustZ,
  RollingWindow,
  sideBandMean,
} from "../src/experiment-math";

describe("msToBins", () => {
  it("rounds up and applies the minimum", () => {
    expect(msToBins(20000, 100, 1)).toBe(200);
    expect(msToBins(1000, 300, 2)).toBe(4);
    expect(msToBins(2500, 300, 2)).toBe(9);
    expect(msToBins(500, 300, 1)).toBe(2);
    expect(msToBins(500, 1000, 1)).toBe(1);
    expect(msToBins(100, 1000, 2)).toBe(2);
  });
  it("rejects a non-positive cell width", () => {
    expect(() => msToBins(100, 0, 1)).toThrow(/cell_width_ms must be > 0, got 0/);
  });
});

describe("olsSlope", () => {
  it("is exact for lines and hand-computed data", () => {
    expect(olsSlope([1, 3, 5, 7])).toBe(2);
    expect(olsSlope([5, 5, 5])).toBe(0);
    // x = 0,1,2; y = 1,2,4: xbar 1, ybar 7/3, sxy = (-1)(-4/3) + (1)(5/3) = 3, sxx = 2
    expect(olsSlope([1, 2, 4])).toBe(1.5);
    expect(olsSlope([42])).toBe(0);
    expect(olsSlope([])).toBe(0);
  });
  it("rolls over the last window values", () => {
    const s = new RollingOlsSlope(3);
    expect(s.push(10)).toBe(0);
    expect(s.push(12)).toBe(2);
    expect(s.push(14)).toBe(2);
    expect(s.push(0)).toBe(-6); // window 12,14,0: sxy = -10/3 - 26/3 = -12, sxx = 2
  });
});

describe("robustZ", () => {
  it("matches a hand-computed value", () => {
    // med 3, |x-3| = 2,1,0,1,7 -> MAD 1, scale 1.4826, z = (10-3)/1.4826
    expect(robustZ([1, 2, 3, 4, 10])).toBe(7 / 1.4826);
  });
  it("uses the mean of the middle pair for even windows", () => {
    // sorted 1,2,3,6: med 2.5; devs 1.5,0.5,0.5,3.5 -> sorted .5,.5,1.5,3.5 -> MAD 1
    expect(robustZ([1, 2, 3, 6])).toBe(3.5 / 1.4826);
  });
  it("is 0 when the MAD is 0", () => {
    expect(robustZ([2, 2, 2, 5])).toBe(0);
  });
  it("waits for min periods and drops old values", () => {
    const z = new RollingRobustZ(3, 3);
    expect(z.push(1)).toBe(0);
    expect(z.push(2)).toBe(0);
    expect(z.push(4)).toBe(2 / 1.4826); // med 2, MAD 1
    expect(z.push(100)).toBe(96 / (1.4826 * 2)); // window 2,4,100: med 4, devs 2,0,96 -> MAD 2
  });
});

describe("RollingWindow and Ema", () => {
  it("keeps the newest values in order", () => {
    const w = new RollingWindow(3);
    [1, 2, 3, 4, 5].forEach((x) => w.push(x));
    expect(Array.from(w.toArray())).toEqual([3, 4, 5]);
    expect(w.at(0)).toBe(3);
    expect(() => new RollingWindow(0)).toThrow(/integer >= 1, got 0/);
  });
  it("seeds the EMA with the first value", () => {
    const e = new Ema(0.1);
    expect(e.update(10)).toBe(10);
    expect(e.update(0)).toBe(9);
    expect(e.update(19)).toBe(0.1 * 19 + 0.9 * 9);
  });
});

describe("sideBandMean", () => {
  it("averages only the rows of one side within the |k| band", () => {
    const k = [-3, -2, -1, 0, 1, 2, 3];
    const v = [30, 20, 10, 99, 1, 2, 3];
    expect(sideBandMean(k, v, -1, 1, 2)).toBe(15);
    expect(sideBandMean(k, v, 1, 2, 3)).toBe(2.5);
    expect(sideBandMean(k, v, 1, 4, 11)).toBe(0);
  });
});
