/** Right panel: edge metrics, state, guidance, risk flags and the experiment signals. */
import type { EdgeMetrics } from "./edge-metrics";
import type { CompositeOutput } from "./experiment-engine";

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–");

export interface PanelView {
  readonly metrics: EdgeMetrics;
  readonly signals: CompositeOutput;
}

export class SignalPanel {
  private readonly fields = new Map<string, HTMLElement>();
  private readonly marker: HTMLElement;
  private readonly flags: HTMLElement;
  private readonly state: HTMLElement;
  private view: PanelView | null = null;
  private dirty = false;

  constructor(private readonly root: HTMLElement) {
    const doc = root.ownerDocument;
    root.replaceChildren();
    const section = (title: string) => {
      const s = doc.createElement("section");
      const h = doc.createElement("h3");
      h.textContent = title;
      s.append(h);
      root.append(s);
      return s;
    };
    const row = (parent: HTMLElement, key: string, label: string) => {
      const r = doc.createElement("div");
      r.className = "panel-row";
      const l = doc.createElement("span");
      l.textContent = label;
      const v = doc.createElement("span");
      v.className = "panel-value";
      v.dataset.field = key;
      v.textContent = "–";
      r.append(l, v);
      parent.append(r);
      this.fields.set(key, v);
    };
    const st = section("State");
    this.state = doc.createElement("div");
    this.state.className = "edge-state";
    this.state.textContent = "WAITING";
    st.append(this.state);
    const bar = doc.createElement("div");
    bar.className = "marker-bar";
    this.marker = doc.createElement("div");
    this.marker.className = "marker";
    bar.append(this.marker);
    st.append(bar);
    row(st, "long", "Long");
    row(st, "short", "Short");
    this.flags = doc.createElement("div");
    this.flags.className = "flags";
    st.append(this.flags);
    const edge = section("Edge");
    row(edge, "bull", "Bull edge (P↓ + V↑)");
    row(edge, "bear", "Bear edge (P↑ + V↓)");
    row(edge, "net", "Net edge");
    row(edge, "conviction", "Conviction");
    row(edge, "tilt", "Depth tilt");
    const sig = section("Signals");
    row(sig, "ads", "ADS");
    row(sig, "pfp", "PFP");
    row(sig, "svac", "SVac");
    row(sig, "composite", "Composite");
    row(sig, "warmup", "Warmup");
  }

  /** Stores the latest values; render() paints them on the next animation frame. */
  update(view: PanelView): void {
    this.view = view;
    this.dirty = true;
  }

  clear(): void {
    this.view = null;
    this.state.textContent = "WAITING";
    for (const f of this.fields.values()) f.textContent = "–";
    this.flags.replaceChildren();
    this.dirty = false;
  }

  render(): void {
    if (!this.dirty || this.view === null) return;
    this.dirty = false;
    const { metrics: m, signals: s } = this.view;
    const set = (k: string, v: string) => {
      const el = this.fields.get(k);
      if (el !== undefined) el.textContent = v;
    };
    this.state.textContent = m.state;
    this.state.dataset.state = m.state.replace(" ", "_");
    this.marker.style.left = `${(m.marker * 100).toFixed(1)}%`;
    set("long", m.longGuidance);
    set("short", m.shortGuidance);
    set("bull", fmt(m.bullEdge));
    set("bear", fmt(m.bearEdge));
    set("net", fmt(m.netEdge));
    set("conviction", fmt(m.conviction, 3));
    set("tilt", fmt(m.depthTilt, 3));
    const warmTag = (warm: boolean) => (warm ? "" : " (warming)");
    set("ads", fmt(s.ads.value, 3) + warmTag(s.ads.warm));
    set("pfp", fmt(s.pfp.value, 3) + warmTag(s.pfp.warm));
    set("svac", fmt(s.svac.value, 3));
    set("composite", fmt(s.composite, 3));
    set("warmup", `${(s.warmupFraction * 100).toFixed(0)}%`);
    const doc = this.root.ownerDocument;
    this.flags.replaceChildren(
      ...m.flags.map((f) => {
        const el = doc.createElement("span");
        el.className = "flag";
        el.textContent = f;
        return el;
      }),
    );
  }
}
