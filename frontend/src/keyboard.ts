/** Keyboard shortcuts and speed steps (pure mapping; the controls bind them to the page). */

export type KeyAction =
  | { readonly kind: "toggle_pause" }
  | { readonly kind: "speed"; readonly direction: 1 | -1 }
  | { readonly kind: "focus_seek" }
  | { readonly kind: "cutoff"; readonly delta: number }
  | { readonly kind: "contrast"; readonly factor: number }
  | { readonly kind: "toggle_help" };

export const SPEED_STEPS: readonly number[] = [0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** Shortcut list shown in the help line. */
export const SHORTCUT_HELP =
  "space pause/resume · +/- speed · g jump to ET time · [ ] cut-off · , . contrast · ? help";

export function keyAction(key: string): KeyAction | null {
  switch (key) {
    case " ":
    case "Spacebar":
      return { kind: "toggle_pause" };
    case "+":
    case "=":
      return { kind: "speed", direction: 1 };
    case "-":
    case "_":
      return { kind: "speed", direction: -1 };
    case "g":
    case "G":
      return { kind: "focus_seek" };
    case "[":
      return { kind: "cutoff", delta: -0.05 };
    case "]":
      return { kind: "cutoff", delta: 0.05 };
    case ",":
      return { kind: "contrast", factor: 1 / 1.25 };
    case ".":
      return { kind: "contrast", factor: 1.25 };
    case "?":
      return { kind: "toggle_help" };
    default:
      return null;
  }
}

/** The next speed step above (+1) or below (-1) `current`, clamped to the list. */
export function nextSpeed(current: number, direction: 1 | -1): number {
  if (direction > 0) return SPEED_STEPS.find((s) => s > current) ?? SPEED_STEPS[SPEED_STEPS.length - 1];
  for (let i = SPEED_STEPS.length - 1; i >= 0; i--) if (SPEED_STEPS[i] < current) return SPEED_STEPS[i];
  return SPEED_STEPS[0];
}
