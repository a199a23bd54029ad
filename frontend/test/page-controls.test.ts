// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { PlaybackControls } from "../src/controls";
import { TimingSamples } from "../src/debug-hook";

function controls(initialSpeed: number) {
  const el = {
    play: document.createElement("button"),
    speed: document.createElement("select"),
    seekInput: document.createElement("input"),
    seekButton: document.createElement("button"),
    contrast: document.createElement("input"),
    cutoff: document.createElement("input"),
    help: document.createElement("span"),
  };
  const speeds: number[] = [];
  const c = new PlaybackControls(
    el,
    { togglePause: () => undefined, setSpeed: (s) => speeds.push(s), seek: () => undefined, setColour: () => undefined, notice: () => undefined },
    initialSpeed,
  );
  return { c, el, speeds };
}

describe("speed select", () => {
  it("shows a URL speed that is not a step as its own option, in order", () => {
    const { el } = controls(20);
    expect(el.speed.value).toBe("20");
    expect([...el.speed.options].map((o) => o.textContent)).toEqual(["0.25x", "0.5x", "1x", "2x", "4x", "8x", "16x", "20x", "32x"]);
  });

  it("selects an existing step without adding one, and adds a faster-than-listed speed at the end", () => {
    const { c, el } = controls(2);
    expect(el.speed.value).toBe("2");
    expect(el.speed.options.length).toBe(8);
    c.showSpeed(50);
    expect(el.speed.value).toBe("50");
    expect(el.speed.options[el.speed.options.length - 1].textContent).toBe("50x");
    c.showSpeed(50);
    expect(el.speed.options.length).toBe(9);
  });
});

describe("TimingSamples", () => {
  it("keeps the newest capacity samples, oldest first, and counts all", () => {
    const t = new TimingSamples(3);
    expect(t.recent()).toEqual([]);
    for (const v of [1, 2, 3, 4, 5]) t.add(v);
    expect(t.count).toBe(5);
    expect(t.recent()).toEqual([3, 4, 5]);
  });
});
