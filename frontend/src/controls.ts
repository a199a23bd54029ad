/** Playback and display controls (buttons, inputs, keyboard) bound to intent callbacks. */
import type { ColourSettings } from "./colour-scale";
import { keyAction, nextSpeed, SPEED_STEPS } from "./keyboard";
import { normaliseEtTime } from "./stream-params";

export interface ControlIntents {
  togglePause(): void;
  setSpeed(speed: number): void;
  seek(timeEt: string): void;
  setColour(settings: ColourSettings): void;
  notice(text: string): void;
}

export interface ControlElements {
  readonly play: HTMLButtonElement;
  readonly speed: HTMLSelectElement;
  readonly seekInput: HTMLInputElement;
  readonly seekButton: HTMLButtonElement;
  readonly contrast: HTMLInputElement;
  readonly cutoff: HTMLInputElement;
  readonly help: HTMLElement;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

export class PlaybackControls {
  private readonly abort = new AbortController();
  private speed = 1;

  constructor(
    private readonly el: ControlElements,
    private readonly intents: ControlIntents,
    initialSpeed: number,
  ) {
    this.speed = initialSpeed;
    const doc = el.play.ownerDocument;
    el.speed.replaceChildren(
      ...SPEED_STEPS.map((s) => {
        const o = doc.createElement("option");
        o.value = String(s);
        o.textContent = `${String(s)}x`;
        return o;
      }),
    );
    this.showSpeed(initialSpeed);
    const signal = this.abort.signal;
    el.play.addEventListener("click", () => intents.togglePause(), { signal });
    el.speed.addEventListener("change", () => this.requestSpeed(Number(el.speed.value)), { signal });
    el.seekButton.addEventListener("click", () => this.submitSeek(), { signal });
    el.seekInput.addEventListener(
      "keydown",
      (ev) => {
        if (ev.key === "Enter") this.submitSeek();
        if (ev.key === "Escape") el.seekInput.blur();
      },
      { signal },
    );
    el.contrast.addEventListener("input", () => intents.setColour(this.colourSettings()), { signal });
    el.cutoff.addEventListener("input", () => intents.setColour(this.colourSettings()), { signal });
    doc.addEventListener("keydown", (ev) => this.onKey(ev), { signal });
  }

  colourSettings(): ColourSettings {
    return { contrast: Number(this.el.contrast.value), cutoff: Number(this.el.cutoff.value) };
  }

  showPaused(paused: boolean): void {
    this.el.play.textContent = paused ? "▶ Play" : "❚❚ Pause";
  }

  /** Shows `speed` as selected, adding it as an option when it is not one of the steps (e.g. ?speed=20). */
  showSpeed(speed: number): void {
    this.speed = speed;
    const value = String(speed);
    const options = [...this.el.speed.options];
    if (!options.some((o) => o.value === value)) {
      const o = this.el.speed.ownerDocument.createElement("option");
      o.value = value;
      o.textContent = `${value}x`;
      const after = options.find((x) => Number(x.value) > speed);
      this.el.speed.insertBefore(o, after ?? null);
    }
    this.el.speed.value = value;
  }

  dispose(): void {
    this.abort.abort();
  }

  private requestSpeed(speed: number): void {
    if (!(speed > 0)) return;
    this.intents.setSpeed(speed);
  }

  private submitSeek(): void {
    const t = normaliseEtTime(this.el.seekInput.value);
    if (t === null) {
      this.intents.notice(`"${this.el.seekInput.value}" is not an ET time; use HH:MM or HH:MM:SS`);
      return;
    }
    this.intents.seek(t);
    this.el.seekInput.blur();
  }

  private onKey(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement | null;
    if (target !== null && (target.tagName === "INPUT" || target.tagName === "SELECT")) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const action = keyAction(ev.key);
    if (action === null) return;
    ev.preventDefault();
    switch (action.kind) {
      case "toggle_pause":
        this.intents.togglePause();
        break;
      case "speed":
        this.requestSpeed(nextSpeed(this.speed, action.direction));
        break;
      case "focus_seek":
        this.el.seekInput.focus();
        break;
      case "cutoff":
        this.el.cutoff.value = String(clamp(Number(this.el.cutoff.value) + action.delta, 0, 0.9));
        this.intents.setColour(this.colourSettings());
        break;
      case "contrast":
        this.el.contrast.value = String(clamp(Number(this.el.contrast.value) * action.factor, 0.25, 4));
        this.intents.setColour(this.colourSettings());
        break;
      case "toggle_help":
        this.el.help.hidden = !this.el.help.hidden;
        break;
    }
  }
}
