/** Page entry point for vacuum-pressure.html. */
import "./style.css";
import { VacuumPressureApp } from "./app";

const app = new VacuumPressureApp(document, window);
app.start();
window.addEventListener("pagehide", () => app.dispose());
